//go:build !cgo || noturbojpeg

package turbo

import (
	"bytes"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"

	"github.com/groundbeam/groundbeam/model/imageproc"
)

// Available reports whether this build decodes with libjpeg-turbo (false in
// the pure-Go fallback, built without cgo or with -tags noturbojpeg).
func Available() bool { return false }

// decodeScaled decodes with image/jpeg and, where libjpeg-turbo would scale
// in the DCT domain, averages d×d blocks (what DCT scaling approximates) to
// the same ⌈w/d⌉×⌈h/d⌉ size.
func decodeScaled(data []byte, minShort, maxPixels int) (*image.RGBA, int, int, error) {
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%w: JPEG header: %v", imageproc.ErrFormat, err)
	}
	w, h := cfg.Width, cfg.Height
	if err := checkHeader(w, h, maxPixels); err != nil {
		return nil, 0, 0, err
	}
	m, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%w: JPEG: %v", imageproc.ErrFormat, err)
	}
	b := m.Bounds()
	full := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(full, full.Rect, m, b.Min, draw.Src)
	return boxDown(full, scaleDenom(w, h, minShort)), w, h, nil
}

// boxDown shrinks src by the integer factor d, each output pixel the rounded
// mean of its d×d block (clipped at the right and bottom edges).
func boxDown(src *image.RGBA, d int) *image.RGBA {
	if d <= 1 {
		return src
	}
	w, h := src.Rect.Dx(), src.Rect.Dy()
	dw, dh := scaled(w, d), scaled(h, d)
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	acc := make([]uint32, 4*dw)
	for y := range dh {
		clear(acc)
		y0, y1 := y*d, min((y+1)*d, h)
		for sy := y0; sy < y1; sy++ {
			row := src.Pix[sy*src.Stride : sy*src.Stride+4*w]
			for i, v := range row {
				acc[(i>>2)/d*4+i&3] += uint32(v)
			}
		}
		out := dst.Pix[y*dst.Stride : y*dst.Stride+4*dw]
		for x := range dw {
			n := uint32((min((x+1)*d, w) - x*d) * (y1 - y0))
			for c := range 4 {
				out[4*x+c] = uint8((acc[4*x+c] + n/2) / n)
			}
		}
	}
	return dst
}
