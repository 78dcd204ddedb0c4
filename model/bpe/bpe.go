package bpe

// symbol is one node of the doubly linked list of symbols of a word.
type symbol struct {
	id         int32 // vocabulary id; -1 once merged into its left neighbour
	prev, next int32 // neighbour positions, -1 at the ends
}

// candidate is a mergeable pair of adjacent symbols, found at pos (the left
// symbol's position in the original word).
type candidate struct {
	rank        int32
	pos         int32
	left, right int32 // the ids the pair had when it was queued
	id          int32 // id of the merged symbol
}

// less orders candidates by rank, then left to right.
func (c candidate) less(d candidate) bool {
	return c.rank < d.rank || (c.rank == d.rank && c.pos < d.pos)
}

// bpe merges the bytes of one pre-token and appends the resulting ids to dst.
//
// It reproduces CLIP's loop exactly: each round takes the lowest-ranked pair
// present and merges all of its occurrences left to right before looking at
// pairs again. A priority queue keeps this O(n log n) for long words.
func (t *Tokenizer) bpe(dst []int64, token string) []int64 {
	n := len(token)
	if n == 0 {
		return dst
	}
	syms := make([]symbol, n)
	for i := range n {
		syms[i] = symbol{id: t.byteID[token[i]], prev: int32(i - 1), next: int32(i + 1)}
	}
	syms[n-1].id = t.byteEndID[token[n-1]]
	syms[n-1].next = -1

	var q queue
	push := func(pos int32) {
		if pos < 0 {
			return
		}
		next := syms[pos].next
		if next < 0 {
			return
		}
		left, right := syms[pos].id, syms[next].id
		if m, ok := t.merges[pair{left, right}]; ok {
			q.push(candidate{rank: m.rank, pos: pos, left: left, right: right, id: m.id})
		}
	}
	valid := func(c candidate) bool {
		s := syms[c.pos]
		return s.id == c.left && s.next >= 0 && syms[s.next].id == c.right
	}
	for i := range n - 1 {
		push(int32(i))
	}
	var round []candidate
	for len(q) > 0 {
		if !valid(q[0]) {
			q.pop()
			continue
		}
		// Collect every queued occurrence of the lowest-ranked pair first,
		// so that pairs created in this round wait for the next one.
		rank := q[0].rank
		round = round[:0]
		for len(q) > 0 && q[0].rank == rank {
			round = append(round, q.pop())
		}
		for _, c := range round {
			if !valid(c) {
				continue
			}
			right := syms[c.pos].next
			after := syms[right].next
			syms[c.pos].id, syms[c.pos].next = c.id, after
			if after >= 0 {
				syms[after].prev = c.pos
			}
			syms[right].id = -1
			push(syms[c.pos].prev)
			push(c.pos)
		}
	}
	for i := int32(0); i >= 0; i = syms[i].next {
		dst = append(dst, int64(syms[i].id))
	}
	return dst
}

// queue is a binary min-heap of candidates.
type queue []candidate

func (q *queue) push(c candidate) {
	*q = append(*q, c)
	h := *q
	for i := len(h) - 1; i > 0; {
		p := (i - 1) / 2
		if !h[i].less(h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
}

func (q *queue) pop() candidate {
	h := *q
	top := h[0]
	last := len(h) - 1
	h[0] = h[last]
	h = h[:last]
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && h[l].less(h[m]) {
			m = l
		}
		if r < len(h) && h[r].less(h[m]) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	*q = h
	return top
}
