package imageproc

import (
	"image"
	"math"
)

// cubic is the bicubic (Catmull-Rom, a = −0.5) kernel PIL and torchvision
// use for BICUBIC resizing.
func cubic(x float64) float64 {
	const a = -0.5
	x = math.Abs(x)
	switch {
	case x < 1:
		return ((a+2)*x-(a+3))*x*x + 1
	case x < 2:
		return (((x-5)*x+8)*x - 4) * a
	}
	return 0
}

// taps holds, for each output pixel along one axis, the first source pixel
// and the normalised weights of the source pixels it mixes. Weights are
// stored n to an output; cnt[o] of them are used (the rest are zero), and
// start[o]+cnt[o] never passes the source's end.
type taps struct {
	start []int
	cnt   []int
	n     int
	w     []float32 // len(start)*n
}

// bicubicTaps computes PIL-style antialiased bicubic weights mapping in
// source pixels onto out: the kernel is stretched by the scale factor when
// shrinking, and weights are normalised to sum to 1. Zero weights at either
// end are trimmed.
func bicubicTaps(in, out int) taps {
	scale := float64(in) / float64(out)
	support := 2.0
	filterScale := math.Max(scale, 1)
	support *= filterScale
	n := int(math.Ceil(support))*2 + 1
	t := taps{start: make([]int, out), cnt: make([]int, out), n: n, w: make([]float32, out*n)}
	ws := make([]float64, n)
	for o := range out {
		center := (float64(o) + 0.5) * scale
		lo := max(int(center-support+0.5), 0)
		hi := min(int(center+support+0.5), in)
		var sum float64
		clear(ws)
		for i := lo; i < hi && i-lo < n; i++ {
			w := cubic((float64(i) - center + 0.5) / filterScale)
			ws[i-lo] = w
			sum += w
		}
		first, last := 0, min(hi-lo, n)
		for first < last && ws[first] == 0 {
			first++
		}
		for last > first && ws[last-1] == 0 {
			last--
		}
		t.start[o], t.cnt[o] = lo+first, last-first
		for k := first; k < last; k++ {
			if sum != 0 {
				t.w[o*n+k-first] = float32(ws[k] / sum)
			}
		}
	}
	return t
}

// ResizeNorm resizes the rect part of src to size×size with antialiased
// bicubic interpolation (as PIL's BICUBIC, which CLIP's preprocessing
// uses) and writes it normalised as a CHW tensor into dst (3·size·size
// floats). It works straight from the RGBA bytes, with no intermediate
// image.
func (n Norm) ResizeNorm(dst []float32, src *image.RGBA, rect image.Rectangle, size int) {
	r, ok := newBicubic(src, rect, size)
	if !ok {
		return
	}
	// Vertical pass, row by row, then clamp to 0–255 (PIL clamps too) and
	// normalise into the planes.
	mul, add := n.coeffs()
	src0, src1, src2 := 0, 1, 2
	if n.BGR {
		src0, src2 = 2, 0
	}
	plane := size * size
	acc := make([]float32, r.stride)
	for o := range size {
		r.row(acc, o)
		d0 := dst[o*size : (o+1)*size]
		d1 := dst[plane+o*size : plane+(o+1)*size]
		d2 := dst[2*plane+o*size : 2*plane+(o+1)*size]
		for x := range size {
			px := acc[x*3 : x*3+3]
			d0[x] = min(max(px[src0], 0), 255)*mul[0] + add[0]
			d1[x] = min(max(px[src1], 0), 255)*mul[1] + add[1]
			d2[x] = min(max(px[src2], 0), 255)*mul[2] + add[2]
		}
	}
}

// bicubic is a crop resized horizontally, ready for the vertical pass
// that ResizeNorm and ResizeHWC share.
type bicubic struct {
	mid    []float32 // the source rows some output row reads, each resized to size columns, RGB, 0–255
	ty     taps
	row0   int // the first source row of mid, relative to the crop
	stride int // 3·size
}

// newBicubic runs the horizontal pass of the antialiased bicubic resize of
// the rect part of src to size×size, only over the source rows some output
// row reads. ok is false when rect holds no pixel of src.
func newBicubic(src *image.RGBA, rect image.Rectangle, size int) (r bicubic, ok bool) {
	rect = rect.Intersect(src.Rect)
	sw, sh := rect.Dx(), rect.Dy()
	if sw <= 0 || sh <= 0 {
		return r, false
	}
	tx, ty := bicubicTaps(sw, size), bicubicTaps(sh, size)
	row0, row1 := sh, 0
	for o, s := range ty.start {
		row0, row1 = min(row0, s), max(row1, s+ty.cnt[o])
	}
	rows := max(row1-row0, 0)
	stride := size * 3
	mid := make([]float32, rows*stride)
	rowf := make([]float32, sw*3) // one source row as floats, converted once
	for y := range rows {
		off := (rect.Min.Y+row0+y-src.Rect.Min.Y)*src.Stride + (rect.Min.X-src.Rect.Min.X)*4
		row := src.Pix[off : off+sw*4]
		for x := range sw {
			q, f := row[x*4:x*4+3], rowf[x*3:x*3+3]
			f[0], f[1], f[2] = float32(q[0]), float32(q[1]), float32(q[2])
		}
		out := mid[y*stride : (y+1)*stride]
		for o := range size {
			s, c := tx.start[o], tx.cnt[o]
			w := tx.w[o*tx.n : o*tx.n+c]
			p := rowf[s*3 : (s+c)*3]
			var r, g, b float32
			for k, wk := range w {
				q := p[k*3 : k*3+3]
				r += wk * q[0]
				g += wk * q[1]
				b += wk * q[2]
			}
			out[o*3], out[o*3+1], out[o*3+2] = r, g, b
		}
	}
	return bicubic{mid: mid, ty: ty, row0: row0, stride: stride}, true
}

// row writes output row o, RGB interleaved, 0–255 but not yet clamped,
// into acc (stride floats), reading contiguous rows of mid.
func (r *bicubic) row(acc []float32, o int) {
	clear(acc)
	ty := r.ty
	s, c := ty.start[o]-r.row0, ty.cnt[o]
	for k, wk := range ty.w[o*ty.n : o*ty.n+c] {
		m := r.mid[(s+k)*r.stride : (s+k+1)*r.stride]
		m = m[:len(acc)]
		for j, v := range m {
			acc[j] += wk * v
		}
	}
}
