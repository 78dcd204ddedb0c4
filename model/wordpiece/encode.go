package wordpiece

// Encoding is the result of encoding one text.
type Encoding struct {
	// IDs are the token ids, starting with [CLS] and ending with [SEP].
	IDs []int64
	// Offsets holds, for each id, the span [start, end) of the token in the
	// original text, counted in code points (runes; each invalid UTF-8 byte
	// counts as one). Special tokens added by Encode have [0, 0].
	Offsets [][2]int
	// Truncated reports that tokens were dropped to respect MaxTokens.
	Truncated bool
}

// Encode tokenizes text into [CLS] word-pieces... [SEP]. It never fails:
// unknown words become [UNK] and invalid UTF-8 bytes are dropped like
// U+FFFD. When MaxTokens is set and the text needs more tokens, the
// word-pieces are cut so that the encoding has exactly MaxTokens ids and
// Truncated is set. Encode is safe for concurrent use.
func (t *Tokenizer) Encode(text string) Encoding {
	limit := -1 // word-pieces allowed between [CLS] and [SEP]
	if t.maxTokens > 0 {
		limit = t.maxTokens - 2
	}
	size := len(text)/3 + 2 // a guess; most words are one piece
	if t.maxTokens > 0 {
		size = min(size, t.maxTokens)
	}
	enc := Encoding{
		IDs:     make([]int64, 1, size),
		Offsets: make([][2]int, 1, size),
	}
	enc.IDs[0] = t.cls
	add := func(id int64, start, end int) bool {
		if limit >= 0 && len(enc.IDs)-1 >= limit {
			enc.Truncated = true
			return false
		}
		enc.IDs = append(enc.IDs, id)
		enc.Offsets = append(enc.Offsets, [2]int{start, end})
		return true
	}
	s := t.scratch.Get().(*scratch)
	defer t.putScratch(s)
	t.splitWords(text, s, func(w word) bool {
		if w.special {
			return add(w.id, w.start, w.end)
		}
		last := len(w.runes) - 1
		if len(w.runes) > maxInputCharsPerWord {
			return add(t.unk, w.orig[0], w.orig[last]+1)
		}
		parts, ok := t.wordPieces(s, w.runes)
		if !ok {
			return add(t.unk, w.orig[0], w.orig[last]+1)
		}
		for _, p := range parts {
			if !add(p.id, w.orig[p.start], w.orig[p.end-1]+1) {
				return false
			}
		}
		return true
	})
	enc.IDs = append(enc.IDs, t.sep)
	enc.Offsets = append(enc.Offsets, [2]int{0, 0})
	return enc
}

// maxPooledRunes bounds the buffers kept for reuse, so that one huge input
// does not pin its memory.
const maxPooledRunes = 1 << 16

func (t *Tokenizer) putScratch(s *scratch) {
	if cap(s.runes) <= maxPooledRunes && cap(s.wb) <= 4*maxPooledRunes {
		t.scratch.Put(s)
	}
}
