package imageproc

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// FuzzDecode feeds arbitrary bytes and pixel limits to Decode. It must not
// panic; it fails only with ErrFormat or ErrTooLarge; a header that claims
// more pixels than the limit is refused with ErrTooLarge; and a decoded
// image never has more pixels than the limit (so nothing larger was
// allocated for it). The committed corpus in testdata/fuzz/FuzzDecode
// (plain JPEG, EXIF-rotated JPEG, 16-bit and huge-header PNGs, animated GIF
// and WebP, CMYK JPEG) runs as plain tests; GROUNDBEAM_WRITE_SEEDS=1
// rewrites it.
func FuzzDecode(f *testing.F) {
	for _, s := range decodeSeeds(f) {
		f.Add(s.data, s.max)
	}
	f.Fuzz(func(t *testing.T, data []byte, limit uint16) {
		maxPixels := int(limit) + 1 // ≤ 64 Ki pixels: the fuzzer never allocates much
		img, err := Decode(data, maxPixels)
		cfg, _, cfgErr := image.DecodeConfig(bytes.NewReader(data))
		claimsTooMuch := cfgErr == nil && cfg.Width > 0 && cfg.Height > 0 && int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels)
		if err != nil {
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("error wraps neither ErrFormat nor ErrTooLarge: %v", err)
			}
			if claimsTooMuch && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("%dx%d header over %d pixels refused without ErrTooLarge: %v", cfg.Width, cfg.Height, maxPixels, err)
			}
			return
		}
		if claimsTooMuch {
			t.Fatalf("%dx%d header over %d pixels decoded", cfg.Width, cfg.Height, maxPixels)
		}
		b := img.Rect
		if b.Min != (image.Point{}) || b.Dx() <= 0 || b.Dy() <= 0 || b.Dx()*b.Dy() > maxPixels {
			t.Fatalf("decoded %v with a %d-pixel limit", b, maxPixels)
		}
		if cfgErr == nil && b.Dx()*b.Dy() != cfg.Width*cfg.Height {
			t.Fatalf("decoded %v, header says %dx%d", b, cfg.Width, cfg.Height)
		}
		if len(img.Pix) != 4*b.Dx()*b.Dy() {
			t.Fatalf("%d bytes of pixels for %v", len(img.Pix), b)
		}
	})
}

type decodeSeed struct {
	name string
	data []byte
	max  uint16
}

func decodeSeeds(t testing.TB) []decodeSeed {
	src := quadrants(24, 16)
	var jpg, g16, agif bytes.Buffer
	if err := jpeg.Encode(&jpg, src, &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	gray := image.NewGray16(image.Rect(0, 0, 5, 3))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i * 31)
	}
	png.Encode(&g16, gray)
	fr := func(i uint8) *image.Paletted {
		p := image.NewPaletted(image.Rect(0, 0, 6, 4), palette.WebSafe)
		for k := range p.Pix {
			p.Pix[k] = i
		}
		return p
	}
	gif.EncodeAll(&agif, &gif.GIF{Image: []*image.Paletted{fr(3), fr(90)}, Delay: []int{5, 5}})
	lossless := readTestdata(t, "testdata/gopher-doc.1bpp.lossless.webp")
	nc, nw, nh := webpChunks(t, lossless)
	return []decodeSeed{
		{"jpeg", jpg.Bytes(), 1000},
		{"jpeg-exif-orientation-6", withSegment(jpg.Bytes(), exifAPP1(6, true)), 1000},
		{"png-gray16", g16.Bytes(), 100},
		{"png-claims-30000x30000", pngClaiming(30000, 30000), 65535},
		{"gif-animated", agif.Bytes(), 100},
		{"webp-animated", animatedWebPFile(nw+2, nh+2, anmf{2, 2, nw, nh, nc}), 65535},
		{"webp-lossless", lossless, 65535},
		{"jpeg-cmyk", readTestdata(t, "turbo/testdata/cmyk.jpg"), 65535},
		{"garbage", []byte("GIF89a\x01\x00\x01\x00"), 10},
	}
}

// TestWriteDecodeSeeds rewrites the committed seed corpus when
// GROUNDBEAM_WRITE_SEEDS=1.
func TestWriteDecodeSeeds(t *testing.T) {
	if os.Getenv("GROUNDBEAM_WRITE_SEEDS") != "1" {
		t.Skip("set GROUNDBEAM_WRITE_SEEDS=1 to rewrite testdata/fuzz/FuzzDecode")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, s := range decodeSeeds(t) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\nuint16(%d)\n", strconv.Quote(string(s.data)), s.max)
		if err := os.WriteFile(filepath.Join(dir, s.name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
