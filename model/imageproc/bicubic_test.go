package imageproc

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"
)

func photo(w, h int, seed uint64) *image.RGBA {
	r := rand.New(rand.NewPCG(seed, 1))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			i := img.PixOffset(x, y)
			img.Pix[i] = uint8((x*255/w + r.IntN(20)) % 256)
			img.Pix[i+1] = uint8((y*255/h + r.IntN(20)) % 256)
			img.Pix[i+2] = uint8(((x+y)*128/(w+h) + r.IntN(40)) % 256)
			img.Pix[i+3] = 255
		}
	}
	return img
}

// TestResizeNorm compares the direct bicubic path with x/image/draw's
// Catmull-Rom resize followed by Fill, on crops that shrink, grow and keep
// their size.
func TestResizeNorm(t *testing.T) {
	src := photo(640, 480, 1)
	tests := []struct {
		name string
		rect image.Rectangle
		norm Norm
	}{
		{"shrink", image.Rect(10, 20, 610, 460), clipNorm},
		{"grow", image.Rect(300, 200, 360, 250), clipNorm},
		{"same size", image.Rect(100, 100, 324, 324), clipNorm},
		{"thin", image.Rect(0, 0, 3, 400), clipNorm},
		{"one pixel", image.Rect(5, 5, 6, 6), clipNorm},
		{"bgr 0-255", image.Rect(50, 60, 250, 200), glipNorm},
	}
	const size = 224
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := make([]float32, 3*size*size)
			tt.norm.ResizeNorm(got, src, tt.rect, size)
			want := make([]float32, 3*size*size)
			tt.norm.Fill(want, size, size, Resize(src.SubImage(tt.rect), size, size, true))
			var sum, worst float64
			for i := range got {
				d := math.Abs(float64(got[i] - want[i]))
				sum += d
				worst = max(worst, d)
			}
			// in 0–255 levels: normalised differences times std·255/scale
			mean := sum / float64(len(got)) * float64(tt.norm.Std[0]) * 255 / float64(max(tt.norm.Scale, 1))
			t.Logf("mean abs diff %.3f levels, worst %.3f (normalised)", mean, worst)
			if mean > 1.5 {
				t.Errorf("mean abs diff %.3f levels from x/image/draw Catmull-Rom, want ≤ 1.5", mean)
			}
		})
	}
}

// BenchmarkCropResize compares one 224×224 CLIP crop through
// x/image/draw's Catmull-Rom + Fill with the direct bicubic path.
func BenchmarkCropResize(b *testing.B) {
	src := photo(800, 600, 2)
	rect := image.Rect(100, 80, 420, 380)
	n := Norm{Scale: 1, Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.25, 0.25, 0.25}}
	dst := make([]float32, 3*224*224)
	b.Run("xdraw", func(b *testing.B) {
		for b.Loop() {
			n.Fill(dst, 224, 224, Resize(src.SubImage(rect), 224, 224, true))
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "crops/s")
	})
	b.Run("direct", func(b *testing.B) {
		for b.Loop() {
			n.ResizeNorm(dst, src, rect, 224)
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "crops/s")
	})
}
