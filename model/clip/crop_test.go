package clip

import (
	"image"
	"math"
	"testing"
)

func TestCropRect(t *testing.T) {
	tests := []struct {
		name  string
		box   [4]float32
		scale float64
		w, h  int
		want  image.Rectangle
	}{
		{"scale 1 is the box", [4]float32{10, 20, 30, 60}, 1, 100, 100, image.Rect(10, 20, 30, 60)},
		{"1.5x about the centre", [4]float32{40, 40, 60, 80}, 1.5, 200, 200, image.Rect(35, 30, 65, 90)},
		{"fractional box rounds outwards", [4]float32{10.4, 20.6, 30.2, 40.5}, 1, 100, 100, image.Rect(10, 20, 31, 41)},
		{"1.5x clipped at left and top", [4]float32{0, 0, 20, 40}, 1.5, 100, 100, image.Rect(0, 0, 25, 50)},
		{"1.5x clipped at right and bottom", [4]float32{80, 60, 100, 100}, 1.5, 100, 100, image.Rect(75, 50, 100, 100)},
		{"whole image at 1.5x is the image", [4]float32{0, 0, 640, 480}, 1.5, 640, 480, image.Rect(0, 0, 640, 480)},
		{"tiny box", [4]float32{50.2, 50.3, 50.4, 50.5}, 1.5, 100, 100, image.Rect(50, 50, 51, 51)},
		{"zero-size box", [4]float32{7, 9, 7, 9}, 1, 100, 100, image.Rect(7, 9, 8, 10)},
		{"inverted box", [4]float32{30, 30, 10, 10}, 1.5, 100, 100, image.Rect(20, 20, 21, 21)},
		{"zero-size box on the far border", [4]float32{100, 100, 100, 100}, 1.5, 100, 100, image.Rect(99, 99, 100, 100)},
		{"box left of the image", [4]float32{-50, 10, -20, 20}, 1, 100, 100, image.Rect(0, 10, 1, 20)},
		{"box below the image", [4]float32{10, 150, 20, 170}, 1.5, 100, 100, image.Rect(7, 99, 23, 100)},
		{"NaN box", [4]float32{float32(math.NaN()), 0, 10, 10}, 1, 100, 100, image.Rect(0, 0, 10, 10)},
		{"1x1 image", [4]float32{-5, -5, 5, 5}, 1.5, 1, 1, image.Rect(0, 0, 1, 1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := CropRect(tc.box, tc.scale, tc.w, tc.h)
			if got != tc.want {
				t.Errorf("CropRect(%v, %v, %d, %d) = %v, want %v", tc.box, tc.scale, tc.w, tc.h, got, tc.want)
			}
			if got.Dx() < 1 || got.Dy() < 1 || !got.In(image.Rect(0, 0, tc.w, tc.h)) {
				t.Errorf("%v is not a non-empty rectangle inside %dx%d", got, tc.w, tc.h)
			}
		})
	}
}

func TestCropBox(t *testing.T) {
	tests := []struct {
		name  string
		box   [4]float32
		scale float64
		w, h  int
		want  [4]float32
	}{
		{"scale 1 is the box", [4]float32{10.5, 20.25, 30, 60}, 1, 100, 100, [4]float32{10.5, 20.25, 30, 60}},
		{"1.5x about the centre", [4]float32{40, 40, 60, 80}, 1.5, 200, 200, [4]float32{35, 30, 65, 90}},
		{"1.5x keeps fractions", [4]float32{10.5, 10, 12.5, 14}, 1.5, 100, 100, [4]float32{10, 9, 13, 15}},
		{"1.5x clipped at left and top", [4]float32{0, 0, 20, 40}, 1.5, 100, 100, [4]float32{0, 0, 25, 50}},
		{"1.5x clipped at right and bottom", [4]float32{80, 60, 100, 100}, 1.5, 100, 100, [4]float32{75, 50, 100, 100}},
		{"tiny box becomes its pixel", [4]float32{50.2, 50.3, 50.4, 50.5}, 1.5, 100, 100, [4]float32{50, 50, 51, 51}},
		{"thin box widened in one direction", [4]float32{20, 30.2, 40, 30.6}, 1, 100, 100, [4]float32{20, 30, 40, 31}},
		{"zero-size box becomes its pixel", [4]float32{7, 9, 7, 9}, 1, 100, 100, [4]float32{7, 9, 8, 10}},
		{"zero-size box on the corner", [4]float32{0, 100, 0, 100}, 1.5, 100, 100, [4]float32{0, 99, 1, 100}},
		{"inverted box", [4]float32{30, 30, 10, 10}, 1.5, 100, 100, [4]float32{20, 20, 21, 21}},
		{"box outside the image", [4]float32{-50, 150, -20, 170}, 1, 100, 100, [4]float32{0, 99, 1, 100}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := CropBox(tc.box, tc.scale, tc.w, tc.h)
			for i := range got {
				if math.Abs(float64(got[i]-tc.want[i])) > 1e-4 {
					t.Fatalf("CropBox(%v, %v, %d, %d) = %v, want %v", tc.box, tc.scale, tc.w, tc.h, got, tc.want)
				}
			}
			if got[2]-got[0] < 1-1e-4 || got[3]-got[1] < 1-1e-4 || got[0] < 0 || got[1] < 0 ||
				got[2] > float32(tc.w) || got[3] > float32(tc.h) {
				t.Errorf("%v is not at least 1x1 inside %dx%d", got, tc.w, tc.h)
			}
			// The rounded crop always contains the float one.
			r := CropRect(tc.box, tc.scale, tc.w, tc.h)
			if float32(r.Min.X) > got[0] || float32(r.Min.Y) > got[1] || float32(r.Max.X) < got[2] || float32(r.Max.Y) < got[3] {
				t.Errorf("CropRect %v does not contain CropBox %v", r, got)
			}
		})
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		name string
		in   []float32
		want []float32
	}{
		{"3-4-5", []float32{3, 4}, []float32{0.6, 0.8}},
		{"negative", []float32{0, -2, 0}, []float32{0, -1, 0}},
		{"zero stays zero", []float32{0, 0}, []float32{0, 0}},
		{"empty", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := append([]float32(nil), tc.in...)
			Normalize(v)
			for i := range v {
				if math.Abs(float64(v[i]-tc.want[i])) > 1e-7 {
					t.Fatalf("Normalize(%v) = %v, want %v", tc.in, v, tc.want)
				}
			}
		})
	}
}

func TestRegionSize(t *testing.T) {
	tests := []struct {
		name         string
		w, h, max    int
		wantW, wantH int
	}{
		{"small image kept", 640, 480, 1333, 640, 480},
		{"exactly the limit kept", 1333, 800, 1333, 1333, 800},
		{"landscape downscaled", 4000, 3000, 1333, 1333, 1000},
		{"portrait downscaled", 1000, 2666, 1333, 500, 1333},
		{"thin strip keeps a pixel", 10000, 2, 1000, 1000, 1},
		{"negative never resizes", 4000, 3000, -1, 4000, 3000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, h := regionSize(tc.w, tc.h, tc.max)
			if w != tc.wantW || h != tc.wantH {
				t.Errorf("regionSize(%d, %d, %d) = %dx%d, want %dx%d", tc.w, tc.h, tc.max, w, h, tc.wantW, tc.wantH)
			}
		})
	}
}
