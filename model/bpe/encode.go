package bpe

// Encode tokenizes text and returns its ids wrapped in the start (49406) and
// end (49407) tokens, without padding or truncation. The literal texts
// "<|startoftext|>" and "<|endoftext|>" (in any case) encode to those
// special ids, as in CLIP. Encode is safe for concurrent use.
func (t *Tokenizer) Encode(text string) []int64 {
	text = clean(text)
	ids := make([]int64, 1, len(text)/3+2)
	ids[0] = t.sot
	for start, end := nextPretoken(text, 0); start >= 0; start, end = nextPretoken(text, end) {
		ids = t.appendToken(ids, text[start:end])
	}
	return append(ids, t.eot)
}

// appendToken appends the ids of one pre-token.
func (t *Tokenizer) appendToken(dst []int64, token string) []int64 {
	switch token {
	case startToken:
		return append(dst, t.sot)
	case endToken:
		return append(dst, t.eot)
	}
	if ids, ok := t.cache.get(token); ok {
		return append(dst, ids...)
	}
	n := len(dst)
	dst = t.bpe(dst, token)
	if len(token) <= maxCachedLen {
		t.cache.add(token, append([]int64(nil), dst[n:]...))
	}
	return dst
}

// EncodePadded is CLIP's tokenize(text, context_length, truncate=True): the
// ids of Encode padded with zeros to contextLength. A longer encoding is cut
// to contextLength ids whose last one is replaced by the end token, and
// truncated is true. A contextLength below 1 yields no ids and truncated
// true.
func (t *Tokenizer) EncodePadded(text string, contextLength int) (ids []int64, truncated bool) {
	if contextLength < 1 {
		return []int64{}, true
	}
	enc := t.Encode(text)
	ids = make([]int64, contextLength)
	if len(enc) > contextLength {
		copy(ids, enc[:contextLength])
		ids[contextLength-1] = t.eot
		return ids, true
	}
	copy(ids, enc)
	return ids, false
}
