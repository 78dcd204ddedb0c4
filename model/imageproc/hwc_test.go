package imageproc

import (
	"image"
	"math"
	"testing"
)

var (
	glipNorm = Norm{BGR: true, Scale: 255, Mean: [3]float32{103.53, 116.28, 123.675}, Std: [3]float32{57.375, 57.12, 58.395}}
	clipNorm = Norm{Scale: 1, Mean: [3]float32{0.48145466, 0.4578275, 0.40821073}, Std: [3]float32{0.26862954, 0.26130258, 0.27577711}}
)

// normHWC normalises an HWC uint8 tensor as a uint8_nhwc graph does, into
// CHW floats.
func normHWC(n Norm, hwc []uint8, w, h int) []float32 {
	mul, add := n.coeffs()
	out := make([]float32, 3*w*h)
	for i := range w * h {
		for c := range 3 {
			out[c*w*h+i] = float32(hwc[3*i+c])*mul[c] + add[c]
		}
	}
	return out
}

func TestMeanPixel(t *testing.T) {
	tests := []struct {
		name string
		n    Norm
		want [3]uint8
	}{
		{"glip bgr 0-255", glipNorm, [3]uint8{104, 116, 124}},
		{"clip rgb 0-1", clipNorm, [3]uint8{123, 117, 104}},
		{"scale 0 means 0-255", Norm{Mean: [3]float32{0.4, 254.6, 300}}, [3]uint8{0, 255, 255}},
		{"negative mean", Norm{Scale: 1, Mean: [3]float32{-1, 0.5, 1}}, [3]uint8{0, 128, 255}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.n.MeanPixel(); got != tt.want {
				t.Errorf("MeanPixel() = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestFillHWC: normalised as the graph does, FillHWC's tensor equals
// Fill's over the image and is within MeanPixel's rounding of Fill's zero
// padding elsewhere.
func TestFillHWC(t *testing.T) {
	img := photo(45, 31, 3)
	tests := []struct {
		name        string
		n           Norm
		stride, row int
	}{
		{"rgb padded", clipNorm, 64, 40},
		{"bgr padded", glipNorm, 64, 40},
		{"bgr exact size", glipNorm, 45, 31},
		{"right pad only", clipNorm, 50, 31},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hwc := make([]uint8, 3*tt.stride*tt.row)
			for i := range hwc {
				hwc[i] = 7 // FillHWC must write every byte
			}
			tt.n.FillHWC(hwc, tt.stride, tt.row, img)
			got := normHWC(tt.n, hwc, tt.stride, tt.row)
			want := make([]float32, len(got))
			tt.n.Fill(want, tt.stride, tt.row, img)
			mul, _ := tt.n.coeffs()
			plane := tt.stride * tt.row
			for i, v := range got {
				c, x, y := i/plane, i%tt.stride, i%plane/tt.stride
				inside := x < 45 && y < 31
				if inside && v != want[i] {
					t.Fatalf("plane %d (%d,%d): %v, Fill gives %v", c, x, y, v, want[i])
				}
				if !inside && math.Abs(float64(v)) > 0.5*float64(mul[c])+1e-6 {
					t.Fatalf("padding at plane %d (%d,%d) normalises to %v, want about 0", c, x, y, v)
				}
			}
		})
	}
}

// TestResizeHWC: the uint8 crop is ResizeNorm's, rounded: within half a
// level of it everywhere, in the tensor's channel order.
func TestResizeHWC(t *testing.T) {
	src := photo(640, 480, 1)
	tests := []struct {
		name string
		rect image.Rectangle
		n    Norm
	}{
		{"shrink", image.Rect(10, 20, 610, 460), clipNorm},
		{"grow", image.Rect(300, 200, 360, 250), clipNorm},
		{"same size", image.Rect(100, 100, 324, 324), clipNorm},
		{"one pixel", image.Rect(5, 5, 6, 6), clipNorm},
		{"bgr 0-255", image.Rect(50, 60, 250, 200), glipNorm},
		{"partly outside", image.Rect(600, 440, 700, 520), glipNorm},
	}
	const size = 224
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hwc := make([]uint8, 3*size*size)
			tt.n.ResizeHWC(hwc, src, tt.rect, size)
			got := normHWC(tt.n, hwc, size, size)
			want := make([]float32, 3*size*size)
			tt.n.ResizeNorm(want, src, tt.rect, size)
			mul, _ := tt.n.coeffs()
			worst := 0.0
			for i := range got {
				levels := math.Abs(float64(got[i]-want[i])) / float64(mul[i/(size*size)])
				worst = max(worst, levels)
			}
			if worst > 0.5+1e-3 {
				t.Errorf("%.4f levels from ResizeNorm, want ≤ 0.5", worst)
			}
		})
	}
	// An empty crop leaves dst alone, as ResizeNorm does.
	hwc := []uint8{9, 9, 9}
	clipNorm.ResizeHWC(hwc, src, image.Rect(700, 0, 710, 10), 1)
	if hwc[0] != 9 || hwc[1] != 9 || hwc[2] != 9 {
		t.Errorf("empty crop wrote %v", hwc)
	}
}
