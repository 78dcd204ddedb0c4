package turbo

import (
	"errors"
	"image"
	"testing"

	"github.com/groundbeam/groundbeam/model/imageproc"
)

// FuzzDecodeScaled feeds arbitrary bytes to the decoder: it must not crash,
// and must either fail with one of its sentinel errors or return an image of
// the size its scale rule gives.
func FuzzDecodeScaled(f *testing.F) {
	f.Add(encode(f, photoLike(40, 30, 1), 80), 10)
	f.Add(encode(f, grayImage(33, 17), 50), 4)
	f.Add(photoJPEG(f, 64, 48)[:300], 0)
	for _, name := range []string{"cmyk.jpg", "ycck.jpg"} {
		if b, err := readFile("testdata/" + name); err == nil {
			f.Add(b, 12)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, minShort int) {
		img, fw, fh, err := DecodeScaled(data, minShort, 1<<20)
		if err != nil {
			if !errors.Is(err, ErrNotJPEG) && !errors.Is(err, imageproc.ErrFormat) && !errors.Is(err, imageproc.ErrTooLarge) {
				t.Fatalf("error wraps no sentinel: %v", err)
			}
			return
		}
		d := scaleDenom(fw, fh, minShort)
		if want := image.Rect(0, 0, scaled(fw, d), scaled(fh, d)); img.Rect != want {
			t.Fatalf("rect %v for %dx%d minShort %d, want %v", img.Rect, fw, fh, minShort, want)
		}
	})
}
