package glip

// PositiveMap maps each phrase's character span to the indices of the
// tokens that cover it, using the tokenizer's code-point offsets (special
// tokens have [0,0]). Like GLIP, when no token starts exactly at the
// phrase's start it tries start+1 and start+2, and when none ends at its
// end, end−1 and end−2 (GLIP's end−2/end−3 on its inclusive ends). Phrases
// whose span still fails, or that fall past a truncated prompt, get no
// tokens; skipped counts them.
func PositiveMap(phrases []Phrase, offsets [][2]int) (tokens [][]int, skipped int) {
	tokens = make([][]int, len(phrases))
	for i, p := range phrases {
		first, last := -1, -1
		for _, s := range []int{p.Start, p.Start + 1, p.Start + 2} {
			if first = tokenStarting(offsets, s); first >= 0 {
				break
			}
		}
		for _, e := range []int{p.End, p.End - 1, p.End - 2} {
			if last = tokenEnding(offsets, e); last >= 0 {
				break
			}
		}
		if first < 0 || last < 0 || last < first {
			skipped++
			continue
		}
		for t := first; t <= last; t++ {
			tokens[i] = append(tokens[i], t)
		}
	}
	return tokens, skipped
}

func tokenStarting(offsets [][2]int, s int) int {
	for i, o := range offsets {
		if o[1] > o[0] && o[0] == s {
			return i
		}
	}
	return -1
}

func tokenEnding(offsets [][2]int, e int) int {
	for i, o := range offsets {
		if o[1] > o[0] && o[1] == e {
			return i
		}
	}
	return -1
}
