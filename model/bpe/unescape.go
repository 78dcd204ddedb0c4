package bpe

import (
	"html"
	"strings"
	"unicode/utf8"
)

// cp1252 maps the numeric character references &#128; to &#159; to the
// Windows-1252 characters browsers (and Python's html.unescape) substitute.
var cp1252 = [32]rune{
	'\u20ac', '\u0081', '\u201a', '\u0192', '\u201e', '\u2026', '\u2020', '\u2021',
	'\u02c6', '\u2030', '\u0160', '\u2039', '\u0152', '\u008d', '\u017d', '\u008f',
	'\u0090', '\u2018', '\u2019', '\u201c', '\u201d', '\u2022', '\u2013', '\u2014',
	'\u02dc', '\u2122', '\u0161', '\u203a', '\u0153', '\u009d', '\u017e', '\u0178',
}

// maxEntityNameLen is the longest name Python's html.unescape considers
// after "&" (its pattern is [^\t\n\f <&#;]{1,32};?).
const maxEntityNameLen = 32

// unescapeHTML replaces character references in s exactly like Python's
// html.unescape.
func unescapeHTML(s string) string {
	i := strings.IndexByte(s, '&')
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i >= 0 {
		b.WriteString(s[:i])
		s = s[i:]
		n := charRef(&b, s)
		if n == 0 {
			b.WriteByte('&')
			n = 1
		}
		s = s[n:]
		i = strings.IndexByte(s, '&')
	}
	b.WriteString(s)
	return b.String()
}

// charRef decodes the character reference at the start of s (which begins
// with '&'), writes its replacement to b and returns the number of bytes it
// used, or 0 if s does not start with a reference.
func charRef(b *strings.Builder, s string) int {
	if len(s) > 1 && s[1] == '#' {
		return numericRef(b, s)
	}
	// Named reference: up to 32 characters other than \t \n \f space < & # ;
	// followed by an optional ';'.
	end, count := 1, 0
	for end < len(s) && count < maxEntityNameLen {
		r, size := utf8.DecodeRuneInString(s[end:])
		if strings.ContainsRune("\t\n\f <&#;", r) {
			break
		}
		end += size
		count++
	}
	if count == 0 {
		return 0
	}
	if end < len(s) && s[end] == ';' {
		end++
	}
	// The reference holds no '&', so the standard library resolves exactly
	// this one reference: the full name, else its longest prefix naming an
	// entity that may omit the ';', else nothing (both follow the HTML5
	// entity table and rules). Go's table lacks the two entities whose
	// expansion is longer than their name.
	switch ref := s[:end]; ref {
	case "&nLt;":
		b.WriteString("\u226a\u20d2")
	case "&nGt;":
		b.WriteString("\u226b\u20d2")
	default:
		b.WriteString(html.UnescapeString(ref))
	}
	return end
}

// numericRef handles &#123; and &#x7B; (the ';' is optional).
func numericRef(b *strings.Builder, s string) int {
	i, base := 2, 10
	if i < len(s) && (s[i] == 'x' || s[i] == 'X') {
		i, base = 3, 16
	}
	start := i
	num := 0
	for ; i < len(s); i++ {
		d := digitValue(s[i], base)
		if d < 0 {
			break
		}
		if num <= utf8.MaxRune {
			num = num*base + d // saturates just above MaxRune
		}
	}
	if i == start {
		return 0
	}
	if i < len(s) && s[i] == ';' {
		i++
	}
	b.WriteString(numericReplacement(num))
	return i
}

// numericReplacement applies html.unescape's rules for a code point number.
func numericReplacement(num int) string {
	switch {
	case num == 0:
		return "\ufffd"
	case num == '\r':
		return "\r"
	case num >= 0x80 && num <= 0x9f:
		return string(cp1252[num-0x80])
	case (num >= 0xd800 && num <= 0xdfff) || num > utf8.MaxRune:
		return "\ufffd"
	case invalidCodePoint(num):
		return ""
	}
	return string(rune(num))
}

// invalidCodePoint reports the code points html.unescape drops.
func invalidCodePoint(n int) bool {
	return (n >= 0x1 && n <= 0x8) || n == 0xb || (n >= 0xe && n <= 0x1f) ||
		(n >= 0x7f && n <= 0x9f) || (n >= 0xfdd0 && n <= 0xfdef) ||
		n&0xfffe == 0xfffe
}

func digitValue(c byte, base int) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case base == 16 && c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	case base == 16 && c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}
