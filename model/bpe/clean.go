package bpe

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// isPySpace reports whether Python's str.isspace is true for r: the set
// that str.strip removes.
func isPySpace(r rune) bool {
	switch r {
	case 0x1c, 0x1d, 0x1e, 0x1f:
		return true
	}
	return isWhiteSpace(r)
}

// isWhiteSpace reports Unicode's White_Space property, the set that \s
// matches in Python's regex module, which CLIP uses.
func isWhiteSpace(r rune) bool {
	switch r {
	case '\t', '\n', '\v', '\f', '\r', ' ', 0x85, 0xa0, 0x1680, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000:
		return true
	}
	return r >= 0x2000 && r <= 0x200a
}

// clean applies CLIP's basic_clean (ftfy left out), whitespace_clean and
// lower-casing. Invalid UTF-8 bytes become U+FFFD first.
func clean(text string) string {
	if !utf8.ValidString(text) {
		text = validUTF8(text)
	}
	text = unescapeHTML(unescapeHTML(text))
	return pyLower(collapseSpace(strings.TrimFunc(text, isPySpace)))
}

// validUTF8 replaces every invalid byte of s with U+FFFD.
func validUTF8(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for _, r := range s {
		b.WriteRune(r)
	}
	return b.String()
}

// collapseSpace replaces each run of White_Space characters with one space,
// like regex.sub(r'\s+', ' ', text) in CLIP's whitespace_clean. Its final
// strip() changes nothing once s has been stripped.
func collapseSpace(s string) string {
	if !needsCollapse(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			i++
			if isWhiteSpace(rune(c)) {
				if !space {
					b.WriteByte(' ')
				}
				space = true
				continue
			}
			space = false
			b.WriteByte(c)
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if isWhiteSpace(r) {
			if !space {
				b.WriteByte(' ')
			}
			space = true
		} else {
			space = false
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// needsCollapse reports whether s has whitespace other than single spaces.
func needsCollapse(s string) bool {
	prevSpace := false
	for _, r := range s {
		if r == ' ' {
			if prevSpace {
				return true
			}
			prevSpace = true
			continue
		}
		if isWhiteSpace(r) {
			return true
		}
		prevSpace = false
	}
	return false
}

// pyLower lower-cases s like Python's str.lower: full lower-case mappings
// (U+0130 becomes "i̇") and the Final_Sigma rule for U+03A3.
func pyLower(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return strings.ToLower(s)
	}
	var b strings.Builder
	b.Grow(len(s) + 4)
	for i, r := range s {
		switch r {
		case 'İ':
			b.WriteString("i\u0307")
		case 'Σ':
			if finalSigma(s[:i], s[i+len("Σ"):]) {
				b.WriteRune('ς')
			} else {
				b.WriteRune('σ')
			}
		default:
			if r < utf8.RuneSelf {
				if 'A' <= r && r <= 'Z' {
					r += 'a' - 'A'
				}
				b.WriteByte(byte(r))
			} else {
				b.WriteRune(unicode.ToLower(r))
			}
		}
	}
	return b.String()
}

// finalSigma reports whether a capital sigma between before and after ends a
// word: preceded by a cased letter and not followed by one, skipping
// case-ignorable characters on both sides (Unicode's Final_Sigma context).
func finalSigma(before, after string) bool {
	for {
		r, size := utf8.DecodeLastRuneInString(before)
		if size == 0 {
			return false
		}
		before = before[:len(before)-size]
		if !caseIgnorable(r) {
			if !cased(r) {
				return false
			}
			break
		}
	}
	for _, r := range after {
		if !caseIgnorable(r) {
			return !cased(r)
		}
	}
	return true
}

// cased reports Unicode's Cased property: Lowercase, Uppercase or Lt.
func cased(r rune) bool {
	return unicode.IsLower(r) || unicode.IsUpper(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

// caseIgnorable reports Unicode's Case_Ignorable property: categories Mn, Me,
// Cf, Lm and Sk, plus the Word_Break classes MidLetter, MidNumLet and
// Single_Quote.
func caseIgnorable(r rune) bool {
	switch r {
	case '\'', '.', ':', 0xb7, 0x387, 0x55f, 0x5f4, 0x2018, 0x2019, 0x2024,
		0x2027, 0xfe13, 0xfe52, 0xfe55, 0xff07, 0xff0e, 0xff1a:
		return true
	}
	return unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk)
}
