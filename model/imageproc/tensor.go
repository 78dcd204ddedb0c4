package imageproc

import (
	"image"
	"math"

	xdraw "golang.org/x/image/draw"
)

// Norm is how pixels become tensor values: (p·k − mean) / std per channel,
// where k = Scale/255, in RGB or BGR order.
type Norm struct {
	BGR   bool
	Scale float32
	Mean  [3]float32
	Std   [3]float32
}

// coeffs returns, per tensor plane c, the factor and offset that turn a
// 0–255 pixel into (p·Scale/255 − Mean[c]) / Std[c]. Plane c holds source
// channel c (RGB) or 2−c (BGR); Mean and Std are given in the tensor's
// channel order.
func (n Norm) coeffs() (mul, add [3]float32) {
	k := n.Scale / 255
	if k == 0 {
		k = 1
	}
	for c := range 3 {
		std := n.Std[c]
		if std == 0 {
			std = 1
		}
		mul[c], add[c] = k/std, -n.Mean[c]/std
	}
	return mul, add
}

// Resize scales src to w×h. Bicubic (Catmull-Rom) when bicubic, else
// bilinear.
func Resize(src image.Image, w, h int, bicubic bool) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	var k xdraw.Interpolator = xdraw.BiLinear
	if bicubic {
		k = xdraw.CatmullRom
	}
	k.Scale(dst, dst.Rect, src, src.Bounds(), xdraw.Src, nil)
	return dst
}

// Fill writes img as a CHW tensor into dst, which holds 3 planes of
// stride×rows floats; img is placed at the top-left and the rest is left as
// it was (zero padding when dst is fresh).
func (n Norm) Fill(dst []float32, stride, rows int, img *image.RGBA) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	mul, add := n.coeffs()
	plane := stride * rows
	for y := range h {
		row := img.Pix[y*img.Stride : y*img.Stride+4*w]
		for c := range 3 {
			src := c
			if n.BGR {
				src = 2 - c
			}
			out := dst[c*plane+y*stride : c*plane+y*stride+w]
			m, a := mul[c], add[c]
			for x := range w {
				out[x] = float32(row[4*x+src])*m + a
			}
		}
	}
}

// ShortestEdge returns the size an image of w×h takes when its shorter
// side is scaled to shortest, unless that would make the longer side
// exceed maxSize (0: no cap), in which case the longer side is maxSize.
// Sizes are rounded to the nearest pixel and at least 1.
func ShortestEdge(w, h, shortest, maxSize int) (nw, nh int) {
	short, long := float64(min(w, h)), float64(max(w, h))
	scale := float64(shortest) / short
	if maxSize > 0 && long*scale > float64(maxSize) {
		scale = float64(maxSize) / long
	}
	nw = max(1, int(math.Round(float64(w)*scale)))
	nh = max(1, int(math.Round(float64(h)*scale)))
	return nw, nh
}

// RoundUp rounds n up to a multiple of m (m ≤ 1 leaves n as it is).
func RoundUp(n, m int) int {
	if m <= 1 {
		return n
	}
	return (n + m - 1) / m * m
}
