package glip

// PositiveMap maps each phrase's character span to the indices of the
// tokens it covers, as GLIP's create_positive_map does, from the
// tokenizer's code-point offsets (offsets[i] = [start, end) of token i;
// special tokens have [0, 0] and cover nothing).
//
// GLIP works on inclusive character positions through Hugging Face's
// char_to_token(c), the token whose span contains character c. For a
// phrase [Start, End) (End exclusive):
//
//	first token = char_to_token(Start), else (Start+1), else (Start+2)
//	last token  = char_to_token(End-1), else (End-2), else (End-3)
//
// GLIP's "end−2, end−3" fallbacks are, on an exclusive end, the tokens
// containing characters End−2 and End−3. The phrase covers every token
// from first to last inclusive. A phrase whose first or last token cannot
// be found, or whose last token comes before its first, covers nothing
// (GLIP's row of the positive map stays empty and the phrase never scores);
// skipped counts those. A phrase past a truncated prompt's end fails so.
func PositiveMap(phrases []Phrase, offsets [][2]int) (tokens [][]int, skipped int) {
	tokens = make([][]int, len(phrases))
	for i, p := range phrases {
		first := charToToken(offsets, p.Start, p.Start+1, p.Start+2)
		last := charToToken(offsets, p.End-1, p.End-2, p.End-3)
		if first < 0 || last < 0 || last < first {
			skipped++
			continue
		}
		toks := make([]int, 0, last-first+1)
		for t := first; t <= last; t++ {
			toks = append(toks, t)
		}
		tokens[i] = toks
	}
	return tokens, skipped
}

// charToToken returns the first token containing the first character of
// chars that some token contains, or -1.
func charToToken(offsets [][2]int, chars ...int) int {
	for _, c := range chars {
		if c < 0 {
			continue
		}
		for i, o := range offsets {
			if o[0] <= c && c < o[1] {
				return i
			}
		}
	}
	return -1
}
