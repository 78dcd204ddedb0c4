package wordpiece

import "unicode"

// isWhitespace reports whether r separates words: space, tab, newline,
// carriage return, any Zs character, and the line and paragraph separators.
func isWhitespace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\u2028', '\u2029':
		return true
	}
	return r > unicode.MaxASCII && unicode.Is(unicode.Zs, r)
}

// isControl reports whether r is dropped while cleaning text: any character
// of general category C* (Cc, Cf, Co, Cs or unassigned) except tab, newline
// and carriage return, which count as whitespace.
func isControl(r rune) bool {
	switch r {
	case '\t', '\n', '\r':
		return false
	}
	if r < 0x20 || r == 0x7f {
		return true
	}
	if r < 0x80 {
		return false
	}
	if unicode.In(r, unicode.Cc, unicode.Cf, unicode.Co, unicode.Cs) {
		return true
	}
	return !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z)
}

// isPunctuation applies BERT's rule: ASCII 33–47, 58–64, 91–96 and 123–126,
// plus any character of Unicode category P*.
func isPunctuation(r rune) bool {
	if (r >= 33 && r <= 47) || (r >= 58 && r <= 64) || (r >= 91 && r <= 96) || (r >= 123 && r <= 126) {
		return true
	}
	return r > unicode.MaxASCII && unicode.In(r, unicode.P)
}

// isCJK reports whether r lies in one of the CJK Unified Ideograph blocks that
// BERT surrounds with spaces (the same ranges as BERT's _is_chinese_char).
func isCJK(r rune) bool {
	return (r >= 0x4E00 && r <= 0x9FFF) ||
		(r >= 0x3400 && r <= 0x4DBF) ||
		(r >= 0x20000 && r <= 0x2A6DF) ||
		(r >= 0x2A700 && r <= 0x2B73F) ||
		(r >= 0x2B740 && r <= 0x2B81F) ||
		(r >= 0x2B820 && r <= 0x2CEAF) ||
		(r >= 0xF900 && r <= 0xFAFF) ||
		(r >= 0x2F800 && r <= 0x2FA1F)
}
