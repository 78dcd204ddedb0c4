package wordpiece

import "unicode/utf8"

// piece is one WordPiece token of a word: its id and its span [start, end)
// in the word's normalised runes.
type piece struct {
	id         int64
	start, end int
}

// wordPieces splits word greedily into the longest vocabulary entries, the
// first one bare and the rest with the "##" prefix. It reports false when
// some position has no match, in which case the whole word is [UNK]. The
// result aliases s.parts.
func (t *Tokenizer) wordPieces(s *scratch, word []rune) ([]piece, bool) {
	s.wb, s.bs = s.wb[:0], s.bs[:0]
	for _, r := range word {
		s.bs = append(s.bs, len(s.wb))
		s.wb = utf8.AppendRune(s.wb, r)
	}
	s.bs = append(s.bs, len(s.wb))
	s.parts = s.parts[:0]
	n := len(word)
	for start := 0; start < n; {
		prefix := 0
		if start > 0 {
			prefix = len("##")
		}
		matched := false
		for end := n; end > start; end-- {
			if prefix+s.bs[end]-s.bs[start] > t.maxKeyLen {
				continue
			}
			s.key = s.key[:0]
			if prefix > 0 {
				s.key = append(s.key, "##"...)
			}
			s.key = append(s.key, s.wb[s.bs[start]:s.bs[end]]...)
			if id, ok := t.vocab[string(s.key)]; ok {
				s.parts = append(s.parts, piece{id: id, start: start, end: end})
				start, matched = end, true
				break
			}
		}
		if !matched {
			return nil, false
		}
	}
	return s.parts, true
}
