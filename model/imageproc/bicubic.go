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
// and the normalised weights of the source pixels it mixes.
type taps struct {
	start []int
	n     int
	w     []float32 // len(start)*n
}

// bicubicTaps computes PIL-style antialiased bicubic weights mapping in
// source pixels onto out: the kernel is stretched by the scale factor when
// shrinking, and weights are normalised to sum to 1.
func bicubicTaps(in, out int) taps {
	scale := float64(in) / float64(out)
	support := 2.0
	filterScale := math.Max(scale, 1)
	support *= filterScale
	n := int(math.Ceil(support))*2 + 1
	t := taps{start: make([]int, out), n: n, w: make([]float32, out*n)}
	for o := range out {
		center := (float64(o) + 0.5) * scale
		lo := max(int(center-support+0.5), 0)
		hi := min(int(center+support+0.5), in)
		var sum float64
		ws := make([]float64, n)
		for i := lo; i < hi && i-lo < n; i++ {
			w := cubic((float64(i) - center + 0.5) / filterScale)
			ws[i-lo] = w
			sum += w
		}
		t.start[o] = lo
		for k := range n {
			if sum != 0 {
				t.w[o*n+k] = float32(ws[k] / sum)
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
	rect = rect.Intersect(src.Rect)
	sw, sh := rect.Dx(), rect.Dy()
	if sw <= 0 || sh <= 0 {
		return
	}
	tx, ty := bicubicTaps(sw, size), bicubicTaps(sh, size)
	// Horizontal pass: every source row of the crop → size columns, 3
	// channels, still in 0–255.
	mid := make([]float32, sh*size*3)
	for y := range sh {
		row := src.Pix[(rect.Min.Y+y-src.Rect.Min.Y)*src.Stride+(rect.Min.X-src.Rect.Min.X)*4:]
		out := mid[y*size*3 : (y+1)*size*3]
		for o := range size {
			s := tx.start[o]
			w := tx.w[o*tx.n : (o+1)*tx.n]
			var r, g, b float32
			for k, wk := range w {
				if wk == 0 || s+k >= sw {
					continue
				}
				p := row[(s+k)*4:]
				r += wk * float32(p[0])
				g += wk * float32(p[1])
				b += wk * float32(p[2])
			}
			out[o*3], out[o*3+1], out[o*3+2] = r, g, b
		}
	}
	// Vertical pass, then clamp to 0–255 (PIL clamps too) and normalise.
	mul, add := n.coeffs()
	plane := size * size
	for o := range size {
		s := ty.start[o]
		w := ty.w[o*ty.n : (o+1)*ty.n]
		for x := range size {
			var v [3]float32
			for kk, wk := range w {
				if wk == 0 || s+kk >= sh {
					continue
				}
				m := mid[((s+kk)*size+x)*3:]
				v[0] += wk * m[0]
				v[1] += wk * m[1]
				v[2] += wk * m[2]
			}
			for c := range 3 {
				src := c
				if n.BGR {
					src = 2 - c
				}
				px := min(max(v[src], 0), 255)
				dst[c*plane+o*size+x] = px*mul[c] + add[c]
			}
		}
	}
}
