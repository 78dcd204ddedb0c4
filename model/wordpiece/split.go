package wordpiece

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// word is one unit produced by the basic tokenizer.
type word struct {
	runes   []rune // normalised code points of an ordinary word
	orig    []int  // for each rune, the index of the original code point it came from
	special bool   // a special token matched verbatim; id, start and end are set
	id      int64
	start   int // original code point span of a special token
	end     int
}

// scratch holds per-call buffers so that Encode allocates little and shares
// nothing between goroutines.
type scratch struct {
	runes []rune
	orig  []int
	enc   [utf8.UTFMax]byte
	nfd   []byte
	norm  []rune // normalised code points of one input rune
	wb    []byte // UTF-8 bytes of the current word
	bs    []int  // byte offset of each rune of the current word, plus the end
	key   []byte // lookup key ("##" + substring)
	parts []piece
}

// splitWords runs BERT's basic tokenizer over text and calls fn for every
// word, punctuation character, CJK ideograph and verbatim special token, in
// order. fn returns false to stop early. The slices passed to fn are only
// valid during the call.
func (t *Tokenizer) splitWords(text string, s *scratch, fn func(w word) bool) {
	s.runes, s.orig = s.runes[:0], s.orig[:0]
	flush := func() bool {
		if len(s.runes) == 0 {
			return true
		}
		ok := fn(word{runes: s.runes, orig: s.orig})
		s.runes, s.orig = s.runes[:0], s.orig[:0]
		return ok
	}
	idx := 0 // code point index of r in text
	for i := 0; i < len(text); idx++ {
		r, size := utf8.DecodeRuneInString(text[i:])
		if r == '[' {
			if sp, ok := t.matchSpecial(text[i:]); ok {
				if !flush() || !fn(word{special: true, id: sp.id, start: idx, end: idx + len(sp.text)}) {
					return
				}
				i += len(sp.text)
				idx += len(sp.text) - 1
				continue
			}
		}
		i += size
		if r == 0 || r == utf8.RuneError || isControl(r) {
			continue
		}
		if isWhitespace(r) {
			if !flush() {
				return
			}
			continue
		}
		cjk := isCJK(r)
		if cjk && !flush() {
			return
		}
		for _, n := range t.normalize(s, r) {
			if isPunctuation(n) {
				if !flush() {
					return
				}
				s.push(n, idx)
				if !flush() {
					return
				}
				continue
			}
			s.push(n, idx)
		}
		if cjk && !flush() {
			return
		}
	}
	flush()
}

// push appends a normalised rune and its original index to the current word.
// Past maxInputCharsPerWord+1 runes only the last index is updated: the word
// is [UNK] anyway, and a huge word must not take memory in proportion.
func (s *scratch) push(r rune, idx int) {
	if len(s.runes) > maxInputCharsPerWord {
		s.orig[len(s.orig)-1] = idx
		return
	}
	s.runes, s.orig = append(s.runes, r), append(s.orig, idx)
}

// matchSpecial reports whether s starts with one of the special tokens.
func (t *Tokenizer) matchSpecial(s string) (special, bool) {
	for _, sp := range t.specials {
		if strings.HasPrefix(s, sp.text) {
			return sp, true
		}
	}
	return special{}, false
}

// normalize returns the normalised code points for r: r itself, or when
// lower-casing, the NFD decomposition of r without non-spacing marks (Mn),
// lower-cased. The result aliases s.norm.
func (t *Tokenizer) normalize(s *scratch, r rune) []rune {
	s.norm = s.norm[:0]
	switch {
	case !t.lowercase:
		s.norm = append(s.norm, r)
	case r < utf8.RuneSelf:
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		}
		s.norm = append(s.norm, r)
	default:
		n := utf8.EncodeRune(s.enc[:], r)
		s.nfd = norm.NFD.Append(s.nfd[:0], s.enc[:n]...)
		for i := 0; i < len(s.nfd); {
			d, size := utf8.DecodeRune(s.nfd[i:])
			i += size
			if !unicode.Is(unicode.Mn, d) {
				s.norm = append(s.norm, unicode.ToLower(d))
			}
		}
	}
	return s.norm
}
