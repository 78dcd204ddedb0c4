package turbo

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"os"
	"sync"
	"testing"

	xdraw "golang.org/x/image/draw"

	"github.com/groundbeam/groundbeam/model/imageproc"
)

var readFile = os.ReadFile

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := readFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestDecodeMatchesImageJPEG compares full-size decodes with image/jpeg's:
// the IDCTs and chroma upsampling differ slightly, the images must not.
func TestDecodeMatchesImageJPEG(t *testing.T) {
	for _, tc := range []struct {
		name string
		data func(t *testing.T) []byte
	}{
		{"photo 640x480 q90", func(t *testing.T) []byte { return photoJPEG(t, 640, 480) }},
		{"photo odd 333x217 q75", func(t *testing.T) []byte { return encode(t, photoLike(333, 217, 1), 75) }},
		{"photo 17x9 q100", func(t *testing.T) []byte { return encode(t, photoLike(17, 9, 2), 100) }},
		{"1x1", func(t *testing.T) []byte { return encode(t, photoLike(1, 1, 3), 90) }},
		{"grayscale 160x120", func(t *testing.T) []byte { return encode(t, grayImage(160, 120), 90) }},
		{"Adobe CMYK", func(t *testing.T) []byte { return readFixture(t, "cmyk.jpg") }},
		{"Adobe YCCK", func(t *testing.T) []byte { return readFixture(t, "ycck.jpg") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.data(t)
			want := goDecode(t, data)
			got, fw, fh, err := DecodeScaled(data, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got.Rect.Min != (image.Point{}) {
				t.Errorf("origin %v, want (0,0)", got.Rect.Min)
			}
			if fw != want.Rect.Dx() || fh != want.Rect.Dy() {
				t.Errorf("full size %dx%d, want %v", fw, fh, want.Rect.Size())
			}
			mean, maxd := diff(t, got, want)
			t.Logf("mean abs diff %.3f, max %d", mean, maxd)
			if mean >= 2 {
				t.Errorf("mean abs diff %.3f ≥ 2 levels", mean)
			}
		})
	}
}

func TestGrayscaleIsGray(t *testing.T) {
	got, _, _, err := DecodeScaled(encode(t, grayImage(97, 65), 90), 17, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.Rect.Dx() != 25 || got.Rect.Dy() != 17 { // 1/4 of 97×65, rounded up
		t.Errorf("size %v, want 25x17", got.Rect.Size())
	}
	for i := 0; i < len(got.Pix); i += 4 {
		if p := got.Pix[i : i+4]; p[0] != p[1] || p[1] != p[2] || p[3] != 255 {
			t.Fatalf("pixel %d is %v, want gray and opaque", i/4, p)
		}
	}
}

func TestScaleDenom(t *testing.T) {
	for _, tc := range []struct {
		name           string
		w, h, minShort int
		want           int
	}{
		{"4000x3000 to 800", 4000, 3000, 800, 2},
		{"4000x3000 to 224", 4000, 3000, 224, 8},
		{"4000x3000 to 1500 exactly", 4000, 3000, 1500, 2},
		{"4000x3000 to 1501", 4000, 3000, 1501, 1},
		{"1920x1080 to 800", 1920, 1080, 800, 1},
		{"1920x1080 to 224", 1920, 1080, 224, 4},
		{"1280x960 to 224", 1280, 960, 224, 4},
		{"640x480 to 800: never upscale", 640, 480, 800, 1},
		{"portrait 3000x4000 to 800", 3000, 4000, 800, 2},
		{"rounding up counts: 1001 to 126", 1001, 1001, 126, 8},
		{"rounding up counts: 1001 to 127", 1001, 1001, 127, 4},
		{"minShort 0: full size", 4000, 3000, 0, 1},
		{"tiny 1x1", 1, 1, 1, 8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := scaleDenom(tc.w, tc.h, tc.minShort); got != tc.want {
				t.Errorf("scaleDenom(%d, %d, %d) = %d, want %d", tc.w, tc.h, tc.minShort, got, tc.want)
			}
		})
	}
}

// TestDecodeScaled checks sizes and content of DCT-scaled decodes against a
// box-filtered image/jpeg decode.
func TestDecodeScaled(t *testing.T) {
	for _, tc := range []struct {
		name         string
		w, h         int
		minShort     int
		wantW, wantH int
	}{
		{"1/2", 640, 480, 240, 320, 240},
		{"1/4", 640, 480, 100, 160, 120},
		{"1/8", 640, 480, 60, 80, 60},
		{"1/8 odd sizes round up", 333, 217, 20, 42, 28},
		{"just too small for 1/2", 640, 480, 241, 640, 480},
		{"target over size: full", 640, 480, 800, 640, 480},
		{"portrait 1/4", 480, 640, 120, 120, 160},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := photoJPEG(t, tc.w, tc.h)
			got, fw, fh, err := DecodeScaled(data, tc.minShort, 0)
			if err != nil {
				t.Fatal(err)
			}
			if fw != tc.w || fh != tc.h {
				t.Errorf("full size %dx%d, want %dx%d", fw, fh, tc.w, tc.h)
			}
			if got.Rect != image.Rect(0, 0, tc.wantW, tc.wantH) {
				t.Fatalf("rect %v, want %dx%d at origin", got.Rect, tc.wantW, tc.wantH)
			}
			want := boxMean(goDecode(t, data), scaled(tc.w, tc.wantW))
			mean, maxd := diff(t, got, want)
			t.Logf("vs box-filtered image/jpeg: mean abs diff %.3f, max %d", mean, maxd)
			if mean >= 3 {
				t.Errorf("mean abs diff %.3f ≥ 3 levels", mean)
			}
		})
	}
}

// TestDecode: the decoder both jobs crop from shrinks JPEGs as far as
// minShort allows and reports their full size; other formats, and JPEGs
// libjpeg-turbo rejects but image/jpeg reads, come out at full size; an
// oversized JPEG is refused without a second try.
func TestDecode(t *testing.T) {
	var pngBuf bytes.Buffer
	if err := png.Encode(&pngBuf, photoLike(300, 200, 1)); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name                 string
		data                 []byte
		minShort, maxPixels  int
		wantW, wantH, fw, fh int
		wantErr              error
	}{
		{name: "jpeg, halved", data: photoJPEG(t, 1100, 700), minShort: 256, wantW: 550, wantH: 350, fw: 1100, fh: 700},
		{name: "jpeg, full size", data: photoJPEG(t, 1100, 700), wantW: 1100, wantH: 700, fw: 1100, fh: 700},
		{name: "png, full size whatever minShort", data: pngBuf.Bytes(), minShort: 50, wantW: 300, wantH: 200, fw: 300, fh: 200},
		{name: "jpeg over the pixel limit", data: photoJPEG(t, 1100, 700), maxPixels: 1000, wantErr: imageproc.ErrTooLarge},
		{name: "not an image", data: []byte("no image"), wantErr: imageproc.ErrFormat},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, fw, fh, err := Decode(tc.data, tc.minShort, tc.maxPixels)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if img.Rect != image.Rect(0, 0, tc.wantW, tc.wantH) || fw != tc.fw || fh != tc.fh {
				t.Errorf("decoded %v, full %dx%d; want %dx%d, full %dx%d", img.Rect, fw, fh, tc.wantW, tc.wantH, tc.fw, tc.fh)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	photo := photoJPEG(t, 320, 240)
	var pngBuf, gifBuf bytes.Buffer
	if err := png.Encode(&pngBuf, photoLike(8, 8, 5)); err != nil {
		t.Fatal(err)
	}
	if err := gif.Encode(&gifBuf, photoLike(8, 8, 5), nil); err != nil {
		t.Fatal(err)
	}
	corrupt := bytes.Clone(photo)
	for i := len(corrupt) / 3; i < len(corrupt)/2; i += 7 {
		corrupt[i] = 0xFF // runs of 0xFF… in entropy data: bad codes, bogus markers
	}
	for _, tc := range []struct {
		name string
		data []byte
		want error // nil: any error or none, as long as nothing crashes
	}{
		{"empty", nil, ErrNotJPEG},
		{"text", []byte("hello, world"), ErrNotJPEG},
		{"PNG", pngBuf.Bytes(), ErrNotJPEG},
		{"GIF", gifBuf.Bytes(), ErrNotJPEG},
		{"SOI only", []byte{0xFF, 0xD8, 0xFF}, imageproc.ErrFormat},
		{"SOI then garbage", append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte{0x5A}, 64)...), imageproc.ErrFormat},
		{"truncated in header", photo[:120], imageproc.ErrFormat},
		{"truncated at 1/2", photo[:len(photo)/2], imageproc.ErrFormat},
		{"truncated before EOI", photo[:len(photo)-40], imageproc.ErrFormat},
		{"CMYK without Adobe marker", readFixture(t, "cmyk_noadobe.jpg"), imageproc.ErrFormat},
		{"corrupt entropy data", corrupt, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, minShort := range []int{0, 60} {
				img, _, _, err := DecodeScaled(tc.data, minShort, 0)
				t.Logf("minShort %d: %v", minShort, err)
				if tc.want == nil {
					if err == nil && img == nil {
						t.Error("nil image without error")
					}
					if err != nil && !errors.Is(err, imageproc.ErrFormat) {
						t.Errorf("error %v does not wrap ErrFormat", err)
					}
					continue
				}
				if !errors.Is(err, tc.want) {
					t.Errorf("error %v, want one wrapping %v", err, tc.want)
				}
				if img != nil {
					t.Error("image returned with error")
				}
			}
		})
	}
}

// setSOFSize rewrites the size in the first baseline SOF segment.
func setSOFSize(t *testing.T, data []byte, w, h int) []byte {
	t.Helper()
	data = bytes.Clone(data)
	i := bytes.Index(data, []byte{0xFF, 0xC0})
	if i < 0 {
		t.Fatal("no SOF0")
	}
	data[i+5], data[i+6] = byte(h>>8), byte(h)
	data[i+7], data[i+8] = byte(w>>8), byte(w)
	return data
}

func TestTooLarge(t *testing.T) {
	small := encode(t, photoLike(64, 48, 6), 90)
	for _, tc := range []struct {
		name      string
		data      []byte
		maxPixels int
		want      error
	}{
		{"header claims 60000x60000, default limit", setSOFSize(t, small, 60000, 60000), 0, imageproc.ErrTooLarge},
		{"header claims 65500x65500, huge limit refused by size", setSOFSize(t, small, 9000, 9000), 80_000_000, imageproc.ErrTooLarge},
		{"64x48 over a 3071-pixel limit", small, 64*48 - 1, imageproc.ErrTooLarge},
		{"64x48 at a 3072-pixel limit", small, 64 * 48, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			img, _, _, err := DecodeScaled(tc.data, 0, tc.maxPixels)
			if tc.want == nil {
				if err != nil || img == nil {
					t.Fatalf("got %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want one wrapping %v", err, tc.want)
			}
		})
	}
}

func TestConcurrent(t *testing.T) {
	inputs := [][]byte{
		photoJPEG(t, 640, 480),
		encode(t, photoLike(333, 217, 1), 75),
		encode(t, grayImage(160, 120), 90),
		readFixture(t, "ycck.jpg"),
		photoJPEG(t, 640, 480)[:5000], // truncated: an error every time
	}
	minShorts := []int{0, 100, 224}
	type result struct {
		pix []byte
		err string
	}
	run := func(data []byte, minShort int) result {
		img, _, _, err := DecodeScaled(data, minShort, 0)
		if err != nil {
			return result{err: err.Error()}
		}
		return result{pix: img.Pix}
	}
	want := map[[2]int]result{}
	for i, data := range inputs {
		for j, ms := range minShorts {
			want[[2]int{i, j}] = run(data, ms)
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for n := range 6 {
				i, j := (g+n)%len(inputs), (g*n)%len(minShorts)
				got := run(inputs[i], minShorts[j])
				w := want[[2]int{i, j}]
				if got.err != w.err || !bytes.Equal(got.pix, w.pix) {
					t.Errorf("goroutine %d: input %d minShort %d: result differs from sequential (err %q vs %q)", g, i, minShorts[j], got.err, w.err)
				}
			}
		})
	}
	wg.Wait()
}

func TestResizeMatchesXDrawBiLinear(t *testing.T) {
	src := photoLike(300, 200, 7)
	for _, tc := range []struct {
		name   string
		src    *image.RGBA
		dw, dh int
	}{
		{"identity", src, 300, 200},
		{"up 640x480 to 1067x800", photoLike(640, 480, 8), 1067, 800},
		{"up x2", src, 600, 400},
		{"down 2000x1500 to 1067x800", photoLike(2000, 1500, 9), 1067, 800},
		{"down x1/3", src, 100, 67},
		{"down 1.35x (3 taps)", photoLike(270, 200, 13), 200, 148},
		{"down 1.9x (4 taps)", photoLike(380, 285, 14), 200, 150},
		{"down uneven", src, 77, 151},
		{"to 1x1", src, 1, 1},
		{"from 1x1", photoLike(1, 1, 10), 5, 3},
		{"column to row", photoLike(1, 50, 11), 40, 1},
		{"sub-image source", src.SubImage(image.Rect(37, 21, 250, 190)).(*image.RGBA), 96, 80},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Resize(tc.src, tc.dw, tc.dh)
			want := image.NewRGBA(image.Rect(0, 0, tc.dw, tc.dh))
			xdraw.BiLinear.Scale(want, want.Rect, tc.src, tc.src.Rect, xdraw.Src, nil)
			mean, maxd := diff(t, got, want)
			t.Logf("mean abs diff %.4f, max %d", mean, maxd)
			if mean > 0.5 || maxd > 2 {
				t.Errorf("mean %.4f, max %d: want ≤ 0.5 and ≤ 2", mean, maxd)
			}
		})
	}
}

func TestResizeKeepsConstantAndAlpha(t *testing.T) {
	src := image.NewRGBA(image.Rect(0, 0, 37, 23))
	for i := range src.Pix {
		src.Pix[i] = []byte{255, 0, 77, 255}[i&3]
	}
	for _, s := range [][2]int{{100, 61}, {5, 3}, {37, 23}} {
		got := Resize(src, s[0], s[1])
		for i := 0; i < len(got.Pix); i += 4 {
			if c := got.RGBAAt(i/4%s[0], i/4/s[0]); c != (color.RGBA{255, 0, 77, 255}) {
				t.Fatalf("%v: pixel %d = %v", s, i/4, c)
			}
		}
	}
	if got := Resize(src, 0, 5); got.Rect.Dx() != 0 {
		t.Errorf("zero width gave %v", got.Rect)
	}
}
