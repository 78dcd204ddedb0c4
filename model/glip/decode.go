package glip

import (
	"math"
	"slices"
	"strings"
)

// Geometry relates the model's input to the original image.
type Geometry struct {
	// OrigW and OrigH are the decoded image's size.
	OrigW, OrigH int
	// ResizedW and ResizedH are its size after resizing, before padding
	// (padding is at the bottom and right, so it moves no pixel).
	ResizedW, ResizedH int
}

// BoxFormat says how the model gives boxes.
type BoxFormat int

// Box formats.
const (
	// CXCYWHNorm is centre and size as fractions of the resized image
	// before padding (DETR, Grounding DINO).
	CXCYWHNorm BoxFormat = iota
	// XYXYPixels is corners in pixels of the resized image (GLIP).
	XYXYPixels
)

// Output is one image's raw outputs for one prompt.
type Output struct {
	// Boxes are [Queries×4] in Format.
	Boxes []float32
	// Logits are [Queries×Tokens] token logits (probabilities when
	// Sigmoid is false). Tokens may exceed the prompt's length (batch
	// padding); positions past it are ignored.
	Logits []float32
	// Centerness is [Queries] or nil. GLIP's score is then
	// sqrt(cls × sigmoid(centerness)).
	Centerness []float32
	// Queries and Tokens are Q and T.
	Queries, Tokens int
	// Sigmoid says the logits and centerness are raw (sigmoid still to
	// apply).
	Sigmoid bool
	// Format is how Boxes are given.
	Format BoxFormat
	// Levels, when set, are the number of queries of each FPN level, in
	// order (they sum to Queries); GLIP applies PreTopN per level. Nil
	// treats all queries as one level.
	Levels []int
}

// Text is a tokenized prompt, what scoring needs of it.
type Text struct {
	// Prompt is the prompt tokenized.
	Prompt Prompt
	// PhraseTokens are the token indices of each phrase ([PositiveMap]).
	PhraseTokens [][]int
	// Offsets are each token's code-point span in Prompt.Text, [0, 0] for
	// special tokens; len(Offsets) is the prompt's token count.
	Offsets [][2]int
	// Pieces are the tokens' vocabulary entries ("##" marks a
	// continuation). Only ScoreTokens mode in caption mode uses them, to
	// decode the phrase text; without them it takes the prompt text the
	// tokens span.
	Pieces []string
}

// Detection is one kept box.
type Detection struct {
	// Box is x1, y1, x2, y2 in original-image pixels, clipped to it.
	Box [4]float32
	// Score is in [0, 1].
	Score float32
	// Prompt indexes the prompts merged by [Merge] (vocabulary mode has
	// several); 0 for a single prompt.
	Prompt int
	// Query is the model query the box came from.
	Query int
	// Phrase indexes the prompt's phrases; -1 when the box is grounded to
	// tokens rather than a phrase (ScoreTokens mode on a caption).
	Phrase int
	// LabelID is the phrase's LabelID: the vocabulary index in vocabulary
	// mode, -1 on a caption.
	LabelID int32
	// Text is what the box is grounded to: the phrase's text, or in
	// ScoreTokens mode on a caption the decoded tokens (periods removed).
	Text string
	// Start and End are Text's span in the prompt text, in code points,
	// [Start, End).
	Start, End int
}

// Candidates are one prompt's scored boxes before NMS, as [Score] makes
// them for [Merge].
type Candidates struct {
	list []cand
}

// Len is the number of candidates.
func (c Candidates) Len() int { return len(c.list) }

type cand struct {
	det   Detection // Box in resized-image pixels until Merge maps it
	rank  float32   // what pre-top-N sorts by: cls × centerness
	class classKey  // what NMS groups by
}

type classKey struct {
	label          int32
	prompt, phrase int
	text           string
}

// Decode post-processes one image's outputs for one prompt: [Score], then
// [Merge].
func Decode(out Output, text Text, g Geometry, p Params) []Detection {
	return Merge(g, p, len(text.Prompt.Phrases), Score(out, text, g, p))
}

// Score turns one prompt's outputs into candidates.
//
// In ScorePhrases mode (GLIP's ATSSPostProcessor), each (query, phrase)
// pair scores cls = the mean (or max) of sigmoid(logit) over the phrase's
// tokens; pairs with cls > PreThreshold are candidates; the PreTopN with
// the best cls × sigmoid(centerness) are kept, scored
// sqrt(cls × sigmoid(centerness)) (cls without centerness). A phrase with
// no tokens never scores.
//
// In ScoreTokens mode (Grounding DINO's predict), a query is kept when its
// highest token probability over the whole prompt is > BoxThreshold, and
// scored that probability; its tokens with probability > TextThreshold
// (never the first token, nor positions from 255 on, as in
// get_phrases_from_posmap) make its phrase. On a vocabulary prompt the box
// takes the name holding the most probable of those tokens; on a caption
// its text is those tokens decoded ([DecodePieces], special tokens left
// out), periods removed and spaces trimmed, and its span runs from the
// first to the last of them that is not a period. A query left with no
// name, or with empty text, is dropped (Grounding DINO would keep it with
// an empty or "[SEP]" phrase).
//
// Boxes are then taken to resized-image pixels; with LegacyPixels they are
// clipped to [0, W−1] × [0, H−1] and those with x2 − x1 + 1 < 0 or
// y2 − y1 + 1 < 0 removed, as maskrcnn-benchmark does.
func Score(out Output, text Text, g Geometry, p Params) Candidates {
	n := len(text.Offsets)
	if n == 0 || n > out.Tokens {
		n = out.Tokens
	}
	if out.Queries <= 0 || n <= 0 || len(out.Logits) < out.Queries*out.Tokens || len(out.Boxes) < out.Queries*4 {
		return Candidates{}
	}
	var list []cand
	if p.tokenMode() {
		list = preTopN(scoreTokens(out, text, n, p), out, p.PreTopN)
	} else {
		list = scorePhrases(out, text, n, p) // pre-top-N done
	}
	kept := list[:0]
	for _, c := range list {
		b := toPixels(out.Boxes[c.det.Query*4:c.det.Query*4+4], out.Format, g)
		if p.LegacyPixels {
			w, h := float32(g.ResizedW-1), float32(g.ResizedH-1)
			b = [4]float32{clamp32(b[0], w), clamp32(b[1], h), clamp32(b[2], w), clamp32(b[3], h)}
			if !(b[2]-b[0]+1 >= 0 && b[3]-b[1]+1 >= 0) {
				continue
			}
		}
		c.det.Box = b
		kept = append(kept, c)
	}
	return Candidates{list: kept}
}

func clamp32(v, hi float32) float32 {
	if v < 0 {
		v = 0
	}
	if v > hi {
		v = hi
	}
	return v
}

// prob turns a model value into a probability.
func prob(v float32, raw bool) float64 {
	if raw {
		return 1 / (1 + math.Exp(-float64(v)))
	}
	return float64(v)
}

// bound is the model value at which prob passes thr: a value below it
// gives a probability of at most thr (a cheap test before the sigmoid).
func bound(thr float32, raw bool) float64 {
	if !raw {
		return float64(thr)
	}
	switch {
	case thr <= 0:
		return math.Inf(-1)
	case thr >= 1:
		return math.Inf(1)
	}
	t := float64(thr)
	return math.Log(t/(1-t)) - 1e-9
}

func scorePhrases(out Output, text Text, n int, p Params) []cand {
	mean := p.Aggregate != AggregateMax
	lo := bound(p.PreThreshold, out.Sigmoid)
	// The phrases that can score (tokens all in range), and the tokens of
	// any of them for a cheap per-query pre-test.
	phrases := text.PhraseTokens[:min(len(text.PhraseTokens), len(text.Prompt.Phrases))]
	valid := make([][]int, len(phrases))
	var union []int
	seen := make([]bool, n)
	for ph, toks := range phrases {
		if len(toks) == 0 || !inRange(toks, n) {
			continue
		}
		valid[ph] = toks
		for _, t := range toks {
			if !seen[t] {
				seen[t] = true
				union = append(union, t)
			}
		}
	}
	if len(union) == 0 {
		return nil
	}
	type light struct {
		q, ph     int32
		cls, rank float32
	}
	// lo32 is lo as a float32 comparison: v >= lo32 iff float64(v) >= lo.
	lo32 := float32(lo)
	if float64(lo32) < lo {
		lo32 = math.Nextafter32(lo32, float32(math.Inf(1)))
	}
	// tokPhrases[t] are the phrases holding token t.
	tokPhrases := make([][]int32, n)
	for ph, toks := range valid {
		for _, t := range toks {
			tokPhrases[t] = append(tokPhrases[t], int32(ph))
		}
	}
	probs := make([]float64, n)
	stamp := make([]int32, n)           // probs[t] is valid for query stamp[t]-1
	marked := make([]int32, len(valid)) // phrase ph is marked for query marked[ph]-1
	var hot []int32
	var lights []light
	for q := range out.Queries {
		row := out.Logits[q*out.Tokens : q*out.Tokens+n]
		// Only a phrase with a token at or over the bound can pass the
		// threshold: its mean is at most its max.
		hot = hot[:0]
		for t, v := range row {
			if v >= lo32 {
				for _, ph := range tokPhrases[t] {
					if marked[ph] != int32(q+1) {
						marked[ph] = int32(q + 1)
						hot = append(hot, ph)
					}
				}
			}
		}
		if len(hot) == 0 {
			continue
		}
		var ctr float64 = 1
		if out.Centerness != nil {
			ctr = prob(out.Centerness[q], out.Sigmoid)
		}
		for _, ph := range hot {
			toks := valid[ph]
			var s float64
			if mean {
				for _, t := range toks {
					if stamp[t] != int32(q+1) {
						probs[t], stamp[t] = prob(row[t], out.Sigmoid), int32(q+1)
					}
					s += probs[t]
				}
				s /= float64(len(toks))
			} else {
				maxV := row[toks[0]]
				for _, t := range toks[1:] {
					maxV = max(maxV, row[t])
				}
				s = prob(maxV, out.Sigmoid)
			}
			cls := float32(s)
			if !(cls > p.PreThreshold) {
				continue
			}
			rank := cls
			if out.Centerness != nil {
				rank = float32(float64(cls) * ctr)
			}
			lights = append(lights, light{q: int32(q), ph: ph, cls: cls, rank: rank})
		}
	}
	// Pre-NMS top-N (per level), best cls × centerness first.
	slices.SortFunc(lights, func(a, b light) int {
		switch {
		case a.rank > b.rank:
			return -1
		case a.rank < b.rank:
			return 1
		case a.q != b.q:
			return int(a.q - b.q)
		}
		return int(a.ph - b.ph)
	})
	if p.PreTopN > 0 && len(lights) > p.PreTopN {
		count := make([]int, len(out.Levels)+1)
		kept := lights[:0]
		for _, l := range lights {
			lv := level(out.Levels, int(l.q))
			if count[lv] < p.PreTopN {
				count[lv]++
				kept = append(kept, l)
			}
		}
		lights = kept
	}
	list := make([]cand, 0, len(lights))
	for _, l := range lights {
		score := l.cls
		if out.Centerness != nil {
			score = float32(math.Sqrt(float64(l.rank)))
		}
		ph := text.Prompt.Phrases[l.ph]
		d := Detection{Score: score, Query: int(l.q), Phrase: int(l.ph), LabelID: ph.LabelID, Text: ph.Text, Start: ph.Start, End: ph.End}
		key := classKey{label: -1, prompt: 0, phrase: int(l.ph)}
		if ph.LabelID >= 0 {
			key = classKey{label: ph.LabelID, prompt: -1, phrase: -1}
		}
		list = append(list, cand{det: d, rank: l.rank, class: key})
	}
	return list
}

// level is the FPN level of query q (0 without levels).
func level(levels []int, q int) int {
	for l, k := range levels {
		if q < k {
			return l
		}
		q -= k
	}
	return len(levels)
}

func inRange(toks []int, n int) bool {
	for _, t := range toks {
		if t < 0 || t >= n {
			return false
		}
	}
	return true
}

// dinoRightIdx is get_phrases_from_posmap's right_idx: positions from it
// on never join a phrase.
const dinoRightIdx = 255

func scoreTokens(out Output, text Text, n int, p Params) []cand {
	vocab := len(text.Prompt.Phrases) > 0 && text.Prompt.Phrases[0].LabelID >= 0
	// tokenPhrase[t] is the first phrase holding token t, or -1.
	tokenPhrase := make([]int, n)
	for i := range tokenPhrase {
		tokenPhrase[i] = -1
	}
	for ph, toks := range text.PhraseTokens[:min(len(text.PhraseTokens), len(text.Prompt.Phrases))] {
		for _, t := range toks {
			if t >= 0 && t < n && tokenPhrase[t] < 0 {
				tokenPhrase[t] = ph
			}
		}
	}
	runes := []rune(text.Prompt.Text)
	var list []cand
	var sel []int
	var pieces []string
	for q := range out.Queries {
		row := out.Logits[q*out.Tokens : q*out.Tokens+n]
		maxV := row[0]
		for _, v := range row[1:] {
			maxV = max(maxV, v)
		}
		score := float32(prob(maxV, out.Sigmoid))
		if !(score > p.BoxThreshold) {
			continue
		}
		sel = sel[:0]
		for t := 1; t < min(n, dinoRightIdx); t++ {
			if float32(prob(row[t], out.Sigmoid)) > p.TextThreshold {
				sel = append(sel, t)
			}
		}
		best := -1 // the selected token of a phrase with the highest value
		for _, t := range sel {
			if tokenPhrase[t] >= 0 && (best < 0 || row[t] > row[best]) {
				best = t
			}
		}
		d := Detection{Score: score, Query: q, Phrase: -1, LabelID: -1}
		if best >= 0 {
			d.Phrase = tokenPhrase[best]
		}
		var key classKey
		if vocab {
			if best < 0 {
				continue
			}
			ph := text.Prompt.Phrases[d.Phrase]
			d.LabelID, d.Text, d.Start, d.End = ph.LabelID, ph.Text, ph.Start, ph.End
			key = classKey{label: ph.LabelID, prompt: -1, phrase: -1}
		} else {
			pieces = pieces[:0]
			start, end := -1, -1
			for _, t := range sel {
				if t >= len(text.Offsets) {
					continue
				}
				o := text.Offsets[t]
				if o[1] <= o[0] {
					continue // a special token
				}
				piece := ""
				if t < len(text.Pieces) {
					piece = text.Pieces[t]
					pieces = append(pieces, piece)
				}
				if piece == "." || (text.Pieces == nil && o[1]-o[0] == 1 && o[0] < len(runes) && runes[o[0]] == '.') {
					continue
				}
				if start < 0 {
					start = o[0]
				}
				end = o[1]
			}
			if start < 0 {
				continue
			}
			if text.Pieces != nil {
				d.Text = strings.TrimSpace(strings.ReplaceAll(DecodePieces(pieces), ".", ""))
			} else if end <= len(runes) {
				d.Text = strings.TrimSpace(strings.ReplaceAll(string(runes[start:end]), ".", ""))
			}
			if d.Text == "" {
				continue
			}
			d.Start, d.End = start, end
			key = classKey{label: -1, prompt: -1, phrase: -1, text: d.Text}
		}
		list = append(list, cand{det: d, rank: score, class: key})
	}
	return list
}

// preTopN keeps the topN best-ranked candidates (per level when the
// output gives levels), best first; ties go to the lower query, then the
// lower phrase.
func preTopN(list []cand, out Output, topN int) []cand {
	sortCands(list, func(c cand) float32 { return c.rank })
	if topN <= 0 || len(list) <= topN {
		return list
	}
	count := make([]int, len(out.Levels)+1)
	kept := list[:0]
	for _, c := range list {
		l := level(out.Levels, c.det.Query)
		if count[l] < topN {
			count[l]++
			kept = append(kept, c)
		}
	}
	return kept
}

// sortCands sorts best first by key, ties by prompt, query and phrase
// (which tell any two candidates apart).
func sortCands(list []cand, key func(cand) float32) {
	slices.SortFunc(list, func(a, b cand) int {
		ka, kb := key(a), key(b)
		switch {
		case ka > kb:
			return -1
		case ka < kb:
			return 1
		case a.det.Prompt != b.det.Prompt:
			return a.det.Prompt - b.det.Prompt
		case a.det.Query != b.det.Query:
			return a.det.Query - b.det.Query
		}
		return a.det.Phrase - b.det.Phrase
	})
}

// toPixels converts a model box to xyxy pixels of the resized image.
func toPixels(b []float32, format BoxFormat, g Geometry) [4]float32 {
	if format == XYXYPixels {
		return [4]float32{b[0], b[1], b[2], b[3]}
	}
	rw, rh := float64(g.ResizedW), float64(g.ResizedH)
	cx, cy, w, h := float64(b[0]), float64(b[1]), float64(b[2]), float64(b[3])
	return [4]float32{float32((cx - w/2) * rw), float32((cy - h/2) * rh), float32((cx + w/2) * rw), float32((cy + h/2) * rh)}
}

// Merge finishes one image: it pools the candidates of its prompts (the
// prompts of a vocabulary, or the one prompt of a caption), runs
// class-wise NMS (a class is a vocabulary name, a caption phrase, or in
// ScoreTokens mode on a caption a phrase text), keeps the top
// p.TopKFor(names) boxes (with those tied with the last one, as GLIP's
// kthvalue cut does), maps boxes back to original-image pixels (undoing
// the resize: x × OrigW/ResizedW, y × OrigH/ResizedH), clips them to the
// image, and drops boxes not scoring above ScoreThreshold or left with no
// area. The result is sorted by score, best first.
func Merge(g Geometry, p Params, names int, prompts ...Candidates) []Detection {
	var all []cand
	for i, c := range prompts {
		for _, x := range c.list {
			x.det.Prompt = i
			if x.class.prompt >= 0 {
				x.class.prompt = i
			}
			all = append(all, x)
		}
	}
	sortCands(all, func(c cand) float32 { return c.det.Score })
	if p.NMSIoU > 0 {
		all = nms(all, p.NMSIoU, p.LegacyPixels)
	}
	if k := p.TopKFor(names); k > 0 && len(all) > k {
		kth := all[k-1].det.Score
		n := k
		for n < len(all) && all[n].det.Score >= kth {
			n++
		}
		all = all[:n]
	}
	sx, sy := scale(g.OrigW, g.ResizedW), scale(g.OrigH, g.ResizedH)
	ow, oh := float64(g.OrigW), float64(g.OrigH)
	out := make([]Detection, 0, len(all))
	for _, c := range all {
		d := c.det
		b := d.Box
		d.Box = [4]float32{
			float32(min(max(float64(b[0])*sx, 0), ow)), float32(min(max(float64(b[1])*sy, 0), oh)),
			float32(min(max(float64(b[2])*sx, 0), ow)), float32(min(max(float64(b[3])*sy, 0), oh)),
		}
		if !(d.Score > p.ScoreThreshold) || !(d.Box[2] > d.Box[0]) || !(d.Box[3] > d.Box[1]) {
			continue
		}
		out = append(out, d)
	}
	return out
}

func scale(orig, resized int) float64 {
	if resized <= 0 {
		return 1
	}
	return float64(orig) / float64(resized)
}

// nms is class-wise greedy NMS over candidates sorted best first.
func nms(list []cand, thr float32, legacy bool) []cand {
	byClass := map[classKey][]int{} // kept indices into out, per class
	out := list[:0:0]
	for _, c := range list {
		keep := true
		for _, k := range byClass[c.class] {
			if iou(out[k].det.Box, c.det.Box, legacy) > thr {
				keep = false
				break
			}
		}
		if keep {
			byClass[c.class] = append(byClass[c.class], len(out))
			out = append(out, c)
		}
	}
	return out
}

// NMS keeps, per class (the vocabulary name when LabelID >= 0, else the
// phrase of the prompt, else the text), the highest-scoring boxes that
// overlap no kept box of their class by an IoU above thr. dets must be
// sorted by score, best first; the result keeps that order. With legacy,
// widths and heights are x2 − x1 + 1 (maskrcnn-benchmark's NMS kernels).
func NMS(dets []Detection, thr float32, legacy bool) []Detection {
	list := make([]cand, len(dets))
	for i, d := range dets {
		key := classKey{label: d.LabelID, prompt: d.Prompt, phrase: d.Phrase}
		switch {
		case d.LabelID >= 0:
			key = classKey{label: d.LabelID, prompt: -1, phrase: -1}
		case d.Phrase < 0:
			key = classKey{label: -1, prompt: -1, phrase: -1, text: d.Text}
		}
		list[i] = cand{det: d, class: key}
	}
	list = nms(list, thr, legacy)
	out := make([]Detection, len(list))
	for i, c := range list {
		out[i] = c.det
	}
	return out
}

func iou(a, b [4]float32, legacy bool) float32 {
	if legacy {
		return IoUPlusOne(a, b)
	}
	return IoU(a, b)
}

// IoU is the intersection over union of two xyxy boxes.
func IoU(a, b [4]float32) float32 {
	iw := min(a[2], b[2]) - max(a[0], b[0])
	ih := min(a[3], b[3]) - max(a[1], b[1])
	if iw <= 0 || ih <= 0 {
		return 0
	}
	inter := iw * ih
	union := (a[2]-a[0])*(a[3]-a[1]) + (b[2]-b[0])*(b[3]-b[1]) - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}

// IoUPlusOne is maskrcnn-benchmark's IoU (its nms and ml_nms kernels),
// where a box of x1 = x2 is one pixel wide: widths are x2 − x1 + 1, in
// float32 as on the GPU.
func IoUPlusOne(a, b [4]float32) float32 {
	w := float32(max(min(a[2], b[2])-max(a[0], b[0])+1, 0))
	h := float32(max(min(a[3], b[3])-max(a[1], b[1])+1, 0))
	inter := float32(w * h)
	sa := float32(float32(a[2]-a[0]+1) * float32(a[3]-a[1]+1))
	sb := float32(float32(b[2]-b[0]+1) * float32(b[3]-b[1]+1))
	return inter / float32(sa+sb-inter)
}
