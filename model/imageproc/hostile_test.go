package imageproc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/webp"
)

// quadrants is a w×h image whose quarters are red (top left), green (top
// right), blue (bottom left) and white (bottom right): colours a JPEG keeps
// recognisable.
func quadrants(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{255, 0, 0, 255}
			switch {
			case x >= w/2 && y < h/2:
				c = color.RGBA{0, 255, 0, 255}
			case x < w/2 && y >= h/2:
				c = color.RGBA{0, 0, 255, 255}
			case x >= w/2 && y >= h/2:
				c = color.RGBA{255, 255, 255, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// quadrantColours names the colours at the centres of img's quarters:
// top left, top right, bottom left, bottom right.
func quadrantColours(img *image.RGBA) string {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	name := func(x, y int) string {
		c := img.RGBAAt(x, y)
		hi := func(v uint8) bool { return v > 160 }
		switch {
		case hi(c.R) && hi(c.G) && hi(c.B):
			return "W"
		case hi(c.R) && !hi(c.G) && !hi(c.B):
			return "R"
		case !hi(c.R) && hi(c.G) && !hi(c.B):
			return "G"
		case !hi(c.R) && !hi(c.G) && hi(c.B):
			return "B"
		}
		return "?"
	}
	return name(w/4, h/4) + name(3*w/4, h/4) + "/" + name(w/4, 3*h/4) + name(3*w/4, 3*h/4)
}

// exifAPP1 is an APP1 segment holding a TIFF IFD0 with an ImageWidth
// entry, then Orientation o, in the given byte order.
func exifAPP1(o uint16, bigEndian bool) []byte {
	var bo binary.AppendByteOrder = binary.LittleEndian
	tiff := []byte("II*\x00")
	if bigEndian {
		bo, tiff = binary.BigEndian, []byte("MM\x00*")
	}
	tiff = bo.AppendUint32(tiff, 8)
	tiff = bo.AppendUint16(tiff, 2)
	for _, e := range [][2]uint16{{0x0100, 48}, {0x0112, o}} {
		tiff = bo.AppendUint16(tiff, e[0])
		tiff = bo.AppendUint16(tiff, 3) // SHORT
		tiff = bo.AppendUint32(tiff, 1)
		tiff = bo.AppendUint16(tiff, e[1])
		tiff = bo.AppendUint16(tiff, 0)
	}
	tiff = bo.AppendUint32(tiff, 0) // no next IFD
	seg := append([]byte("Exif\x00\x00"), tiff...)
	out := []byte{0xFF, 0xE1}
	out = binary.BigEndian.AppendUint16(out, uint16(len(seg)+2))
	return append(out, seg...)
}

// withSegment inserts a marker segment right after a JPEG's SOI.
func withSegment(jpg, seg []byte) []byte {
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// patchSOF rewrites a baseline JPEG's frame header: precision, height and
// width.
func patchSOF(t *testing.T, jpg []byte, precision byte, w, h uint16) []byte {
	t.Helper()
	out := append([]byte{}, jpg...)
	i := bytes.Index(out, []byte{0xFF, 0xC0})
	if i < 0 {
		t.Fatal("no SOF0 marker")
	}
	out[i+4] = precision
	binary.BigEndian.PutUint16(out[i+5:], h)
	binary.BigEndian.PutUint16(out[i+7:], w)
	return out
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// webpChunks returns a still WebP's chunks after "RIFF....WEBP", without
// its VP8X header, and its size.
func webpChunks(t testing.TB, file []byte) (chunks []byte, w, h int) {
	t.Helper()
	cfg, err := webp.DecodeConfig(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	b := file[12:]
	if string(b[:4]) == "VP8X" {
		b = b[18:]
	}
	return b, cfg.Width, cfg.Height
}

type anmf struct {
	x, y, w, h int
	chunks     []byte
}

// animatedWebPFile builds an animated WebP: VP8X (animation), ANIM, then
// one ANMF chunk per frame.
func animatedWebPFile(canvasW, canvasH int, frames ...anmf) []byte {
	chunk := func(cc string, p []byte) []byte {
		out := append([]byte(cc), binary.LittleEndian.AppendUint32(nil, uint32(len(p)))...)
		out = append(out, p...)
		if len(p)%2 == 1 {
			out = append(out, 0)
		}
		return out
	}
	u24 := func(b []byte, v int) []byte { return append(b, byte(v), byte(v>>8), byte(v>>16)) }
	vp8x := []byte{1<<1 | 1<<4, 0, 0, 0}
	vp8x = u24(u24(vp8x, canvasW-1), canvasH-1)
	body := []byte("WEBP")
	body = append(body, chunk("VP8X", vp8x)...)
	body = append(body, chunk("ANIM", []byte{0, 0, 0, 0, 0, 0})...)
	for _, f := range frames {
		p := u24(u24(u24(u24(u24(nil, f.x/2), f.y/2), f.w-1), f.h-1), 100)
		p = append(p, 0)
		body = append(body, chunk("ANMF", append(p, f.chunks...))...)
	}
	return append(append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(len(body)))...), body...)
}

// TestDecodeHostile decodes the images a web-scale corpus holds besides
// plain RGB JPEGs and PNGs: each is decoded upright or refused with a
// reason, and none that claims too many pixels is decoded.
func TestDecodeHostile(t *testing.T) {
	src := quadrants(48, 32)
	jpg := encode(t, src, "jpeg")
	var gray16, rgba64, paletted, gifAnim bytes.Buffer
	g16 := image.NewGray16(image.Rect(0, 0, 9, 7))
	for i := range g16.Pix {
		g16.Pix[i] = uint8(i * 37)
	}
	png.Encode(&gray16, g16)
	r64 := image.NewRGBA64(image.Rect(0, 0, 6, 5))
	for i := range r64.Pix {
		r64.Pix[i] = uint8(i*13 + 1)
	}
	png.Encode(&rgba64, r64)
	pal := image.NewPaletted(image.Rect(0, 0, 5, 4), palette.Plan9)
	png.Encode(&paletted, pal)
	var grayJPG bytes.Buffer
	jpeg.Encode(&grayJPG, image.NewGray(image.Rect(0, 0, 33, 17)), nil)
	// An animated GIF: a red first frame, then a blue one.
	frame := func(c color.Color) *image.Paletted {
		p := image.NewPaletted(image.Rect(0, 0, 20, 10), palette.Plan9)
		for i := range p.Pix {
			p.Pix[i] = uint8(p.Palette.Index(c))
		}
		return p
	}
	gif.EncodeAll(&gifAnim, &gif.GIF{Image: []*image.Paletted{frame(color.RGBA{255, 0, 0, 255}), frame(color.RGBA{0, 0, 255, 255})}, Delay: []int{10, 10}})
	hugeGIF := append([]byte{}, gifAnim.Bytes()...)
	binary.LittleEndian.PutUint16(hugeGIF[6:], 30000) // logical screen
	binary.LittleEndian.PutUint16(hugeGIF[8:], 30000)

	lossy := readTestdata(t, "testdata/blue-purple-pink.lossy.webp")
	lossless := readTestdata(t, "testdata/gopher-doc.1bpp.lossless.webp")
	alpha := readTestdata(t, "testdata/yellow_rose.lossy-with-alpha.webp")
	lc, lw, lh := webpChunks(t, lossy)
	nc, nw, nh := webpChunks(t, lossless)
	ac, aw, ah := webpChunks(t, alpha)
	// The first frame fills the canvas; a second, different one follows.
	animLossy := animatedWebPFile(lw, lh, anmf{0, 0, lw, lh, lc}, anmf{0, 0, nw, nh, nc})
	animAlpha := animatedWebPFile(aw, ah, anmf{0, 0, aw, ah, ac})
	animLossless := animatedWebPFile(nw+10, nh+4, anmf{10, 4, nw, nh, nc})
	// A 1×1 canvas whose first frame's bitstream is the full lossy image:
	// its header lies about the frame's size.
	animLying := animatedWebPFile(1, 1, anmf{0, 0, 1, 1, lc})
	animHuge := animatedWebPFile(16384, 16384, anmf{0, 0, lw, lh, lc})
	animOutside := animatedWebPFile(lw, lh, anmf{2, 2, lw, lh, lc})
	animNoFrame := animatedWebPFile(lw, lh)

	decodeStill := func(b []byte) *image.RGBA {
		img, err := webp.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		return ToRGBA(img)
	}
	sameAs := func(want *image.RGBA) func(*testing.T, *image.RGBA) {
		return func(t *testing.T, got *image.RGBA) {
			if got.Rect != want.Rect || !bytes.Equal(got.Pix, want.Pix) {
				t.Errorf("image %v differs from the expected %v", got.Rect, want.Rect)
			}
		}
	}

	tests := []struct {
		name   string
		data   []byte
		w, h   int
		check  func(*testing.T, *image.RGBA)
		target error
		reason string // substring of the error
	}{
		{name: "cmyk jpeg (adobe)", data: readTestdata(t, "turbo/testdata/cmyk.jpg"), w: 96, h: 64},
		{name: "ycck jpeg", data: readTestdata(t, "turbo/testdata/ycck.jpg"), w: 96, h: 64},
		{name: "cmyk jpeg without adobe marker", data: readTestdata(t, "turbo/testdata/cmyk_noadobe.jpg"), target: ErrFormat, reason: "Adobe APP14"},
		{name: "grayscale jpeg", data: grayJPG.Bytes(), w: 33, h: 17},
		{name: "12-bit jpeg", data: patchSOF(t, jpg, 12, 48, 32), target: ErrFormat, reason: "precision"},
		{name: "jpeg header claims 30000x30000", data: patchSOF(t, jpg, 8, 30000, 30000), target: ErrTooLarge},
		{name: "jpeg header claims 0x32", data: patchSOF(t, jpg, 8, 0, 32), target: ErrFormat},
		{name: "16-bit gray png", data: gray16.Bytes(), w: 9, h: 7, check: func(t *testing.T, got *image.RGBA) {
			if c := got.RGBAAt(1, 0); c.R != uint8(g16.Gray16At(1, 0).Y>>8) || c.A != 255 {
				t.Errorf("pixel (1,0) = %v, want the high byte of %v", c, g16.Gray16At(1, 0))
			}
		}},
		{name: "16-bit rgba png", data: rgba64.Bytes(), w: 6, h: 5},
		{name: "paletted png", data: paletted.Bytes(), w: 5, h: 4},
		{name: "animated gif: first frame", data: gifAnim.Bytes(), w: 20, h: 10, check: func(t *testing.T, got *image.RGBA) {
			if c := got.RGBAAt(3, 3); c.R < 200 || c.B > 50 {
				t.Errorf("pixel %v: not the red first frame", c)
			}
		}},
		{name: "animated gif claims 30000x30000", data: hugeGIF, target: ErrTooLarge},
		{name: "webp lossy", data: lossy, w: lw, h: lh},
		{name: "animated webp: first frame (lossy)", data: animLossy, w: lw, h: lh, check: sameAs(decodeStill(lossy))},
		{name: "animated webp: first frame (lossy with alpha)", data: animAlpha, w: aw, h: ah, check: sameAs(decodeStill(alpha))},
		{name: "animated webp: first frame offset on its canvas", data: animLossless, w: nw + 10, h: nh + 4, check: func(t *testing.T, got *image.RGBA) {
			want := decodeStill(lossless)
			if got.RGBAAt(0, 0) != (color.RGBA{}) {
				t.Errorf("canvas outside the frame is %v, want transparent", got.RGBAAt(0, 0))
			}
			for _, p := range []image.Point{{0, 0}, {nw / 2, nh / 2}, {nw - 1, nh - 1}} {
				if g, w := got.RGBAAt(p.X+10, p.Y+4), want.RGBAAt(p.X, p.Y); g != w {
					t.Errorf("frame pixel %v = %v, want %v", p, g, w)
				}
			}
		}},
		{name: "animated webp: frame bitstream larger than its header", data: animLying, target: ErrFormat, reason: "header says 1x1"},
		{name: "animated webp: canvas claims 16384x16384", data: animHuge, target: ErrTooLarge},
		{name: "animated webp: frame outside the canvas", data: animOutside, target: ErrFormat, reason: "outside"},
		{name: "animated webp without frames", data: animNoFrame, target: ErrFormat, reason: "without a frame"},
		{name: "animated webp cut inside its first frame", data: animLossy[:len(animLossy)-len(nc)-200], target: ErrFormat},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(tt.data, 1<<20)
			if tt.target != nil {
				if !errors.Is(err, tt.target) {
					t.Fatalf("error %v, want %v", err, tt.target)
				}
				if !strings.Contains(err.Error(), tt.reason) {
					t.Errorf("error %q does not say %q", err, tt.reason)
				}
				t.Logf("refused: %v", err)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Rect != image.Rect(0, 0, tt.w, tt.h) {
				t.Fatalf("size %v, want %dx%d", got.Rect, tt.w, tt.h)
			}
			if tt.check != nil {
				tt.check(t, got)
			}
		})
	}
}

// TestDecodeEXIFOrientation: a JPEG whose EXIF says how to turn it comes out
// upright, in both TIFF byte orders, with width and height swapped for the
// rotations by 90°.
func TestDecodeEXIFOrientation(t *testing.T) {
	jpg := encode(t, quadrants(48, 32), "jpeg")
	// Stored: red green / blue white.
	want := map[uint16]string{
		1: "RG/BW", 2: "GR/WB", 3: "WB/GR", 4: "BW/RG",
		5: "RB/GW", 6: "BR/WG", 7: "WG/BR", 8: "GW/RB",
	}
	for o := uint16(0); o <= 9; o++ {
		for _, big := range []bool{false, true} {
			data := withSegment(jpg, exifAPP1(o, big))
			got, err := Decode(data, 0)
			if err != nil {
				t.Fatal(err)
			}
			w, h := 48, 32
			if o >= 5 && o <= 8 {
				w, h = 32, 48
			}
			exp, ok := want[o]
			if !ok {
				exp = want[1] // 0 and 9 are not orientations: left as stored
			}
			if got.Rect != image.Rect(0, 0, w, h) || quadrantColours(got) != exp {
				t.Errorf("orientation %d (big endian %v): %v %s, want %dx%d %s", o, big, got.Rect.Size(), quadrantColours(got), w, h, exp)
			}
			if g := JPEGOrientation(data); (o >= 1 && o <= 8 && g != int(o)) || ((o == 0 || o == 9) && g != 1) {
				t.Errorf("JPEGOrientation = %d for tag value %d", g, o)
			}
		}
	}
	// Damaged EXIF: read as no orientation, the image still decodes.
	bad := exifAPP1(6, false)
	for name, seg := range map[string][]byte{
		"ifd offset past the end": func() []byte { b := append([]byte{}, bad...); b[14] = 0xF0; return b }(),
		"cut inside the orientation entry": func() []byte {
			b := append([]byte{}, bad[:len(bad)-12]...)
			binary.BigEndian.PutUint16(b[2:], uint16(len(b)-2))
			return b
		}(),
		"not tiff":   func() []byte { b := append([]byte{}, bad...); b[10] = 'X'; return b }(),
		"wrong type": func() []byte { b := append([]byte{}, bad...); b[34] = 4; return b }(),
	} {
		got, err := Decode(withSegment(jpg, seg), 0)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if quadrantColours(got) != "RG/BW" {
			t.Errorf("%s: %s, want the stored orientation", name, quadrantColours(got))
		}
	}
}

// TestDecodeHugeHeaderCostsNothing: a 1 KB PNG whose header claims
// 30000×30000 is refused in microseconds, allocating next to nothing.
func TestDecodeHugeHeaderCostsNothing(t *testing.T) {
	data := pngClaiming(30000, 30000)
	if len(data) > 1024 {
		t.Fatalf("%d bytes", len(data))
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	const n = 100
	for range n {
		if _, err := Decode(data, 0); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("error %v, want ErrTooLarge", err)
		}
	}
	el := time.Since(start) / n
	runtime.ReadMemStats(&after)
	per := (after.TotalAlloc - before.TotalAlloc) / n
	t.Logf("refused in %v, %d bytes allocated per call", el, per)
	if per > 64<<10 {
		t.Errorf("%d bytes allocated per refusal, want a header's worth", per)
	}
	if el > 50*time.Millisecond {
		t.Errorf("refusal took %v", el)
	}
}
