package bpe

import (
	"unicode"
	"unicode/utf8"
)

// contractions are CLIP's contraction alternatives, in pattern order.
var contractions = [...]string{"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"}

// nextPretoken finds the next pre-token of s at or after byte i and returns
// its byte span, or -1, -1 when there is none. It is a hand-written
// equivalent of CLIP's pattern (leftmost-first, as a backtracking engine
// matches it):
//
//	<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
//
// compiled with IGNORECASE: the literal alternatives match case-insensitively
// (so 'ſ matches 's), \s is Python's regex-module whitespace, and U+0345,
// which no alternative matches under IGNORECASE in Python, is skipped.
func nextPretoken(s string, i int) (start, end int) {
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch r {
		case '<':
			if n := matchFold(s[i:], startToken); n > 0 {
				return i, i + n
			}
			if n := matchFold(s[i:], endToken); n > 0 {
				return i, i + n
			}
		case '\'':
			for _, c := range contractions {
				if n := matchFold(s[i:], c); n > 0 {
					return i, i + n
				}
			}
		}
		switch {
		case isLetter(r):
			return i, spanOf(s, i+size, isLetter)
		case isNumber(r):
			return i, i + size
		case isOther(r):
			return i, spanOf(s, i+size, isOther)
		}
		i += size
	}
	return -1, -1
}

// spanOf returns the end of the run of runes satisfying in that starts at i.
func spanOf(s string, i int, in func(rune) bool) int {
	for i < len(s) {
		r, size := utf8.DecodeRuneInString(s[i:])
		if !in(r) {
			break
		}
		i += size
	}
	return i
}

func isLetter(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z'
	}
	return unicode.IsLetter(r)
}

func isNumber(r rune) bool {
	if r < utf8.RuneSelf {
		return '0' <= r && r <= '9'
	}
	return unicode.IsNumber(r)
}

// isOther reports the runes of the last alternative, [^\s\p{L}\p{N}].
func isOther(r rune) bool {
	return !isWhiteSpace(r) && !isLetter(r) && !isNumber(r) && r != 0x345
}

// matchFold returns the length in bytes of the prefix of s that equals the
// ASCII literal lit under simple case folding, or 0 if there is none.
func matchFold(s, lit string) int {
	i := 0
	for j := 0; j < len(lit); j++ {
		if i >= len(s) {
			return 0
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if !foldEqual(r, rune(lit[j])) {
			return 0
		}
		i += size
	}
	return i
}

// foldEqual reports whether r is in the simple case-folding orbit of c.
func foldEqual(r, c rune) bool {
	if r == c {
		return true
	}
	for f := unicode.SimpleFold(c); f != c; f = unicode.SimpleFold(f) {
		if f == r {
			return true
		}
	}
	return false
}
