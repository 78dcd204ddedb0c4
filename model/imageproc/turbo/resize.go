package turbo

import (
	"image"
	"math"
)

// Fixed-point precision of the filter weights.
const (
	weightBits = 14
	weightOne  = 1 << weightBits
)

// Resize scales src to w×h with the tent (bilinear) filter, sampling as
// golang.org/x/image/draw's BiLinear does (pixel centres at +0.5, the kernel
// widened by the scale factor when shrinking, weights renormalized at the
// edges), so results agree with it to within a level or two. It works in
// fixed point on RGBA (premultiplied, as image.RGBA is) and is several times
// faster. A non-positive w or h, or an empty src, gives an empty or
// all-zero image.
func Resize(src *image.RGBA, w, h int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, max(w, 0), max(h, 0)))
	sw, sh := src.Rect.Dx(), src.Rect.Dy()
	if w <= 0 || h <= 0 || sw <= 0 || sh <= 0 {
		return dst
	}
	hz, vt := newTaps(w, sw), newTaps(h, sh)

	// Two channels travel in one uint64, one per 32-bit lane (R,G then B,A
	// of each pixel): no lane overflows, as weights sum to weightOne.
	//
	// Rows scaled horizontally (8.8 fixed point per lane) are kept in a ring
	// of vt.span rows: windows only move down, so a row is overwritten only
	// once no later window needs it.
	n := 2 * w // uint64s per row
	ring := vt.span
	rows := make([]uint64, ring*n)
	spread := make([]uint64, 2*sw)
	acc := make([]uint64, n)
	row := func(k int) []uint64 { return rows[(k%ring)*n : (k%ring+1)*n : (k%ring+1)*n] }
	next := 0 // first source row not yet scaled horizontally
	base := src.PixOffset(src.Rect.Min.X, src.Rect.Min.Y)
	for y := range h {
		first, ws := vt.first[y], vt.weights[y*vt.span:(y+1)*vt.span]
		for ; next < first+vt.span; next++ {
			o := base + next*src.Stride
			spreadRow(spread, src.Pix[o:o+4*sw])
			hz.apply(row(next), spread)
		}
		out := dst.Pix[y*dst.Stride : y*dst.Stride+4*w]
		switch len(ws) {
		case 1:
			storeRow1(out, row(first))
		case 2:
			storeRow2(out, row(first), row(first+1), uint64(ws[0]), uint64(ws[1]))
		default:
			for k, wt := range ws[:len(ws)-1] {
				r := row(first + k)
				r = r[:len(acc)]
				if k == 0 {
					for i, v := range r {
						acc[i] = v * uint64(wt)
					}
					continue
				}
				for i, v := range r {
					acc[i] += v * uint64(wt)
				}
			}
			storeRow2(out, acc, row(first+len(ws)-1), 1, uint64(ws[len(ws)-1]))
		}
	}
	return dst
}

// spreadRow unpacks RGBA bytes into lane pairs: R|G<<32, B|A<<32.
func spreadRow(dst []uint64, src []byte) {
	dst = dst[:len(src)/2]
	for i := range len(src) / 4 {
		s := src[4*i : 4*i+4 : 4*i+4]
		d := dst[2*i : 2*i+2 : 2*i+2]
		d[0] = uint64(s[0]) | uint64(s[1])<<32
		d[1] = uint64(s[2]) | uint64(s[3])<<32
	}
}

// Rounding for 8.22 fixed-point lanes, and their shift to bytes.
const (
	outRound = 1<<(weightBits+7) | 1<<(weightBits+7)<<32
	outShift = weightBits + 8
)

// storeRow1 stores a row of 8.8 lanes, rounded, as bytes.
func storeRow1(out []byte, r []uint64) {
	out = out[:2*len(r)]
	for i, v := range r {
		v = v<<weightBits + outRound
		out[2*i] = uint8(v >> outShift)
		out[2*i+1] = uint8(v >> (32 + outShift))
	}
}

// storeRow2 stores a·wa + b·wb, rounded from 8.22 lanes, as bytes.
func storeRow2(out []byte, a, b []uint64, wa, wb uint64) {
	b = b[:len(a)]
	out = out[:2*len(a)]
	for i, v := range a {
		v = v*wa + b[i]*wb + outRound
		out[2*i] = uint8(v >> outShift)
		out[2*i+1] = uint8(v >> (32 + outShift))
	}
}

// taps holds, for each output coordinate x, the first input coordinate and
// span fixed-point weights (summing to weightOne) of inputs first…first+span−1;
// every coordinate has the same span, padded with zero weights.
type taps struct {
	first   []int
	weights []uint32 // span per output coordinate
	span    int
}

// newTaps builds the tent filter taps from n inputs to dn outputs, with
// x/image/draw's Kernel conventions.
func newTaps(dn, n int) *taps {
	scale := float64(n) / float64(dn)
	half, argScale := 1.0, 1.0
	if scale > 1 {
		half, argScale = scale, 1/scale
	}
	firsts := make([]int, dn)
	runs := make([][]uint32, dn)
	span := 1
	var fw []float64
	for x := range dn {
		center := (float64(x)+0.5)*scale - 0.5
		lo := max(int(math.Floor(center-half)), 0)
		hi := min(int(math.Ceil(center+half)), n)
		// The tent is unimodal, so the inputs it reaches form one run.
		fw = fw[:0]
		first, total := -1, 0.0
		for c := lo; c < hi; c++ {
			d := math.Abs((center - float64(c)) * argScale)
			if d >= 1 {
				continue
			}
			if first < 0 {
				first = c
			}
			fw = append(fw, 1-d)
			total += 1 - d
		}
		if first < 0 { // no input in reach: cannot happen for n ≥ 1
			first, fw, total = min(max(int(math.Round(center)), 0), n-1), append(fw, 1), 1
		}
		// Round to fixed point, giving the rounding remainder to the
		// heaviest tap so the weights sum to exactly weightOne.
		run := make([]uint32, len(fw))
		sum, heaviest := 0, 0
		for i, f := range fw {
			q := int(math.Round(f / total * weightOne))
			if q > int(run[heaviest]) {
				heaviest = i
			}
			run[i] = uint32(q)
			sum += q
		}
		run[heaviest] = uint32(int(run[heaviest]) + weightOne - sum)
		firsts[x], runs[x] = first, run
		span = max(span, len(run))
	}
	// Pad every run to span taps, moving its start left where it would
	// run past the last input (span ≤ n, as every run lies within 0…n−1).
	t := &taps{first: firsts, weights: make([]uint32, dn*span), span: span}
	for x, run := range runs {
		f := min(firsts[x], n-span)
		copy(t.weights[x*span+firsts[x]-f:], run)
		t.first[x] = f // t.first is firsts: update after use
	}
	return t
}

// apply scales one spread row horizontally into dst, rounding lanes to 8.8
// fixed point.
func (t *taps) apply(dst, src []uint64) {
	const (
		sh    = weightBits - 8
		round = 1<<(sh-1) | 1<<(sh-1)<<32
		lanes = 0x0000ffff_0000ffff
	)
	dst = dst[:2*len(t.first)]
	switch t.span {
	case 2:
		for x, first := range t.first {
			w := t.weights[2*x : 2*x+2 : 2*x+2]
			p := src[2*first : 2*first+4 : 2*first+4]
			w0, w1 := uint64(w[0]), uint64(w[1])
			d := dst[2*x : 2*x+2 : 2*x+2]
			d[0] = (p[0]*w0 + p[2]*w1 + round) >> sh & lanes
			d[1] = (p[1]*w0 + p[3]*w1 + round) >> sh & lanes
		}
	case 3:
		for x, first := range t.first {
			w := t.weights[3*x : 3*x+3 : 3*x+3]
			p := src[2*first : 2*first+6 : 2*first+6]
			w0, w1, w2 := uint64(w[0]), uint64(w[1]), uint64(w[2])
			d := dst[2*x : 2*x+2 : 2*x+2]
			d[0] = (p[0]*w0 + p[2]*w1 + p[4]*w2 + round) >> sh & lanes
			d[1] = (p[1]*w0 + p[3]*w1 + p[5]*w2 + round) >> sh & lanes
		}
	case 4:
		for x, first := range t.first {
			w := t.weights[4*x : 4*x+4 : 4*x+4]
			p := src[2*first : 2*first+8 : 2*first+8]
			w0, w1, w2, w3 := uint64(w[0]), uint64(w[1]), uint64(w[2]), uint64(w[3])
			d := dst[2*x : 2*x+2 : 2*x+2]
			d[0] = (p[0]*w0 + p[2]*w1 + p[4]*w2 + p[6]*w3 + round) >> sh & lanes
			d[1] = (p[1]*w0 + p[3]*w1 + p[5]*w2 + p[7]*w3 + round) >> sh & lanes
		}
	default:
		s := t.span
		for x, first := range t.first {
			ws := t.weights[s*x : s*x+s]
			p := src[2*first : 2*first+2*s]
			var rg, ba uint64
			for k, wt := range ws {
				q := p[2*k : 2*k+2 : 2*k+2]
				rg += q[0] * uint64(wt)
				ba += q[1] * uint64(wt)
			}
			d := dst[2*x : 2*x+2 : 2*x+2]
			d[0] = (rg + round) >> sh & lanes
			d[1] = (ba + round) >> sh & lanes
		}
	}
}
