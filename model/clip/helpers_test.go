package clip

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/tiny"
)

// clipBundle writes the tiny bundles and returns the CLIP one, with ONNX
// Runtime initialised.
func clipBundle(tb testing.TB, opts *tiny.BundleOptions) *bundle.Bundle {
	tb.Helper()
	testenv.InitORT(tb)
	_, dir := testenv.Bundles(tb, opts)
	b, err := bundle.Load(dir, bundle.KindCLIP)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// testImage returns a deterministic w×h image with content at every
// scale: a gradient, coloured rectangles, rings and noise.
func testImage(seed uint64, w, h int) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 7))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	type rect struct {
		r image.Rectangle
		c color.RGBA
	}
	rects := make([]rect, 6)
	for i := range rects {
		x0, y0 := r.IntN(w), r.IntN(h)
		rects[i] = rect{image.Rect(x0, y0, x0+1+r.IntN(w/3+1), y0+1+r.IntN(h/3+1)),
			color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}}
	}
	cx, cy := float64(w)*r.Float64(), float64(h)*r.Float64()
	for y := range h {
		for x := range w {
			ring := 0.5 + 0.5*math.Sin(math.Hypot(float64(x)-cx, float64(y)-cy)/9)
			c := color.RGBA{uint8(255 * x / w), uint8(255 * ring), uint8(255 * y / h), 255}
			for _, q := range rects {
				if (image.Point{x, y}).In(q.r) {
					c = q.c
				}
			}
			n := func(v uint8) uint8 { return uint8(max(0, min(255, int(v)+r.IntN(31)-15))) }
			img.SetRGBA(x, y, color.RGBA{n(c.R), n(c.G), n(c.B), 255})
		}
	}
	return img
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func cosine(a, b []float32) float64 {
	var ab float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
	}
	return ab / (norm(a) * norm(b))
}

func maxAbsDiff(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}
