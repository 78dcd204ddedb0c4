package imageproc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"
	"testing"
)

func encode(t *testing.T, img image.Image, format string) []byte {
	t.Helper()
	var buf bytes.Buffer
	var err error
	if format == "png" {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90})
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pngClaiming is a tiny PNG whose header claims w×h pixels.
func pngClaiming(w, h uint32) []byte {
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 2 // 8-bit RGB
	binary.Write(&b, binary.BigEndian, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

func TestDecode(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	jpg := encode(t, img, "jpeg")
	tests := []struct {
		name   string
		data   []byte
		max    int
		w, h   int
		target error
	}{
		{name: "jpeg", data: jpg, w: 40, h: 30},
		{name: "png", data: encode(t, img, "png"), w: 40, h: 30},
		{name: "gray png", data: encode(t, image.NewGray(image.Rect(0, 0, 7, 5)), "png"), w: 7, h: 5},
		{name: "garbage", data: []byte("definitely not an image"), target: ErrFormat},
		{name: "empty", data: nil, target: ErrFormat},
		{name: "truncated jpeg", data: jpg[:len(jpg)/2], target: ErrFormat},
		{name: "header claims 30000x30000", data: pngClaiming(30000, 30000), target: ErrTooLarge},
		{name: "over a small limit", data: jpg, max: 1000, target: ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.data, tt.max)
			if tt.target != nil {
				if !errors.Is(err, tt.target) {
					t.Fatalf("error %v, want %v", err, tt.target)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Rect != image.Rect(0, 0, tt.w, tt.h) {
				t.Errorf("size %v, want %dx%d", got.Rect, tt.w, tt.h)
			}
		})
	}
}

func TestShortestEdge(t *testing.T) {
	tests := []struct {
		name                     string
		w, h, short, max, ww, wh int
	}{
		{"landscape", 640, 480, 800, 1333, 1067, 800},
		{"portrait", 480, 640, 800, 1333, 800, 1067},
		{"capped by the long side", 2000, 500, 800, 1333, 1333, 333},
		{"no cap", 2000, 500, 800, 0, 3200, 800},
		{"square", 100, 100, 224, 0, 224, 224},
		{"tiny", 1, 300, 800, 1333, 4, 1333},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w, h := ShortestEdge(tt.w, tt.h, tt.short, tt.max)
			if w != tt.ww || h != tt.wh {
				t.Errorf("got %dx%d, want %dx%d", w, h, tt.ww, tt.wh)
			}
		})
	}
}

func TestFill(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 2, 1))
	img.Set(0, 0, color.RGBA{R: 255, G: 128, B: 0, A: 255})
	img.Set(1, 0, color.RGBA{R: 10, G: 20, B: 30, A: 255})
	tests := []struct {
		name string
		norm Norm
		// want[c][x] for the 2×1 image placed in a 3×2 tensor
		want [3][2]float64
	}{
		{"rgb 0-255", Norm{Scale: 255, Mean: [3]float32{100, 100, 100}, Std: [3]float32{2, 4, 5}},
			[3][2]float64{{77.5, -45}, {7, -20}, {-20, -14}}},
		{"bgr 0-255 (GLIP)", Norm{BGR: true, Scale: 255, Mean: [3]float32{103.53, 116.28, 123.675}, Std: [3]float32{57.375, 57.12, 58.395}},
			[3][2]float64{{(0 - 103.53) / 57.375, (30 - 103.53) / 57.375}, {(128 - 116.28) / 57.12, (20 - 116.28) / 57.12}, {(255 - 123.675) / 58.395, (10 - 123.675) / 58.395}}},
		{"rgb 0-1 (CLIP)", Norm{Scale: 1, Mean: [3]float32{0.5, 0.5, 0.5}, Std: [3]float32{0.5, 0.25, 1}},
			[3][2]float64{{1, (10.0/255 - 0.5) / 0.5}, {(128.0/255 - 0.5) / 0.25, (20.0/255 - 0.5) / 0.25}, {-0.5, 30.0/255 - 0.5}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := make([]float32, 3*3*2)
			tt.norm.Fill(dst, 3, 2, img)
			for c := range 3 {
				for x := range 2 {
					if got := float64(dst[c*6+x]); math.Abs(got-tt.want[c][x]) > 1e-4 {
						t.Errorf("plane %d x %d: %g, want %g", c, x, got, tt.want[c][x])
					}
				}
				for _, i := range []int{c*6 + 2, c*6 + 3, c*6 + 4, c*6 + 5} {
					if dst[i] != 0 {
						t.Errorf("padding at %d is %g, want 0", i, dst[i])
					}
				}
			}
		})
	}
}
