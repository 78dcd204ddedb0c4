package imageproc

import "image"

// The uint8 writers below are the counterparts of Fill and ResizeNorm for
// graphs that take raw pixels ([B,H,W,3] uint8 in the tensor's channel
// order) and normalise them themselves with the same scale, mean and std.

// MeanPixel returns the mean colour as 0–255 levels in the tensor's
// channel order (Mean[c]·255/Scale), rounded and clamped: the pixel that a
// graph normalising with n turns into about 0. It is the uint8 tensors'
// padding, where a float tensor is padded with exact zeros; the
// difference, (MeanPixel − mean)/std, is at most 0.5/(255·std/Scale) per
// channel (under 0.009 with GLIP's std of about 57 levels).
func (n Norm) MeanPixel() [3]uint8 {
	scale := float64(n.Scale)
	if scale == 0 {
		scale = 255
	}
	var px [3]uint8
	for c := range 3 {
		px[c] = toLevel(float32(float64(n.Mean[c]) * 255 / scale))
	}
	return px
}

// toLevel rounds v to the nearest 0–255 level (halves up), clamping.
func toLevel(v float32) uint8 {
	return uint8(min(max(v, 0), 255) + 0.5)
}

// FillHWC writes img as an HWC uint8 tensor in the tensor's channel order
// into dst, which holds rows×stride pixels of 3 bytes: img at the
// top-left, every other pixel MeanPixel. It is Fill for a graph that
// normalises in itself; where Fill's padding on a fresh buffer is exactly
// 0, FillHWC's normalises to MeanPixel's rounding error.
func (n Norm) FillHWC(dst []uint8, stride, rows int, img *image.RGBA) {
	w, h := min(img.Rect.Dx(), stride), min(img.Rect.Dy(), rows)
	pad := n.MeanPixel()
	r, g, b := 0, 1, 2
	if n.BGR {
		r, b = 2, 0
	}
	for y := range rows {
		out := dst[y*stride*3 : (y+1)*stride*3]
		x0 := 0
		if y < h {
			row := img.Pix[y*img.Stride : y*img.Stride+4*w]
			for x := range w {
				p, o := row[4*x:4*x+3], out[3*x:3*x+3]
				o[0], o[1], o[2] = p[r], p[g], p[b]
			}
			x0 = w
		}
		for x := x0; x < stride; x++ {
			o := out[3*x : 3*x+3]
			o[0], o[1], o[2] = pad[0], pad[1], pad[2]
		}
	}
}

// ResizeHWC is ResizeNorm for a graph that normalises in itself: the same
// antialiased bicubic resize of the rect part of src to size×size, each
// value clamped to 0–255 and rounded to the nearest level (as PIL's
// BICUBIC gives 8-bit pixels), written as an HWC uint8 tensor in the
// tensor's channel order into dst (3·size·size bytes). PIL also rounds
// between its horizontal and vertical passes; this keeps the intermediate
// rows as floats, as ResizeNorm does, so it rounds once. The rounding puts
// it at most half a level from ResizeNorm's values.
func (n Norm) ResizeHWC(dst []uint8, src *image.RGBA, rect image.Rectangle, size int) {
	r, ok := newBicubic(src, rect, size)
	if !ok {
		return
	}
	c0, c1, c2 := 0, 1, 2
	if n.BGR {
		c0, c2 = 2, 0
	}
	acc := make([]float32, r.stride)
	for o := range size {
		r.row(acc, o)
		out := dst[o*r.stride : (o+1)*r.stride]
		for x := range size {
			px, d := acc[x*3:x*3+3], out[x*3:x*3+3]
			d[0], d[1], d[2] = toLevel(px[c0]), toLevel(px[c1]), toLevel(px[c2])
		}
	}
}
