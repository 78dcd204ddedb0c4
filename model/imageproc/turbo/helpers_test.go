package turbo

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
)

// photoLike draws a deterministic photo-like image: smooth colour
// gradients, overlapping shapes with soft shading, and sensor-like noise.
func photoLike(w, h int, seed uint64) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	var gx, gy [3][]float64
	for c := range 3 {
		gx[c], gy[c] = make([]float64, w), make([]float64, h)
		fx, fy := (1+3*rng.Float64())*math.Pi/float64(w), (1+3*rng.Float64())*math.Pi/float64(h)
		px, py := 2*math.Pi*rng.Float64(), 2*math.Pi*rng.Float64()
		for x := range w {
			gx[c][x] = 60 * math.Sin(float64(x)*fx+px)
		}
		for y := range h {
			gy[c][y] = 128 + 50*math.Sin(float64(y)*fy+py)
		}
	}
	for y := range h {
		row := img.Pix[y*img.Stride:]
		for x := range w {
			for c := range 3 {
				row[4*x+c] = clamp8(gx[c][x] + gy[c][y])
			}
			row[4*x+3] = 255
		}
	}
	// Shapes: shaded ellipses and rectangles of random colours.
	for range 24 {
		cx, cy := rng.IntN(w), rng.IntN(h)
		rx, ry := 1+rng.IntN(max(w/6, 1)), 1+rng.IntN(max(h/6, 1))
		col := [3]float64{float64(rng.IntN(256)), float64(rng.IntN(256)), float64(rng.IntN(256))}
		ellipse := rng.IntN(2) == 0
		for y := max(cy-ry, 0); y < min(cy+ry, h); y++ {
			for x := max(cx-rx, 0); x < min(cx+rx, w); x++ {
				dx, dy := float64(x-cx)/float64(rx), float64(y-cy)/float64(ry)
				d := dx*dx + dy*dy
				if ellipse && d > 1 {
					continue
				}
				shade := 1 - 0.35*min(d, 1)
				p := img.Pix[y*img.Stride+4*x:]
				for c := range 3 {
					p[c] = clamp8(col[c] * shade)
				}
			}
		}
	}
	for i := range img.Pix {
		if i&3 != 3 {
			img.Pix[i] = clamp8(float64(img.Pix[i]) + rng.NormFloat64()*4)
		}
	}
	return img
}

func clamp8(v float64) uint8 {
	return uint8(min(max(math.Round(v), 0), 255))
}

// encode encodes m as a JPEG of the given quality (4:2:0 for colour images,
// single-component for *image.Gray).
func encode(tb testing.TB, m image.Image, quality int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: quality}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

var (
	photoMu    sync.Mutex
	photoCache = map[[2]int][]byte{}
)

// photoJPEG returns a cached quality-90 JPEG of photoLike(w, h).
func photoJPEG(tb testing.TB, w, h int) []byte {
	tb.Helper()
	photoMu.Lock()
	defer photoMu.Unlock()
	k := [2]int{w, h}
	if b, ok := photoCache[k]; ok {
		return b
	}
	b := encode(tb, photoLike(w, h, uint64(w*7919+h)), 90)
	photoCache[k] = b
	return b
}

// goDecode decodes with image/jpeg into RGBA, as imageproc.Decode does.
func goDecode(tb testing.TB, data []byte) *image.RGBA {
	tb.Helper()
	m, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	b := m.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Rect, m, b.Min, draw.Src)
	return out
}

// boxMean shrinks m by d, averaging clipped d×d blocks (the reference for
// DCT-domain scaling).
func boxMean(m *image.RGBA, d int) *image.RGBA {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	out := image.NewRGBA(image.Rect(0, 0, scaled(w, d), scaled(h, d)))
	for y := range out.Rect.Dy() {
		for x := range out.Rect.Dx() {
			var s [4]int
			n := 0
			for sy := y * d; sy < min(y*d+d, h); sy++ {
				for sx := x * d; sx < min(x*d+d, w); sx++ {
					for c := range 4 {
						s[c] += int(m.Pix[sy*m.Stride+4*sx+c])
					}
					n++
				}
			}
			for c := range 4 {
				out.Pix[y*out.Stride+4*x+c] = uint8((s[c] + n/2) / n)
			}
		}
	}
	return out
}

// diff returns the mean and maximum absolute difference over the colour
// channels of two same-sized images, and checks alpha is opaque in a.
func diff(tb testing.TB, a, b *image.RGBA) (mean float64, maxd int) {
	tb.Helper()
	if a.Rect.Size() != b.Rect.Size() {
		tb.Fatalf("sizes differ: %v vs %v", a.Rect.Size(), b.Rect.Size())
	}
	w, h := a.Rect.Dx(), a.Rect.Dy()
	var sum int
	for y := range h {
		for x := range w {
			pa, pb := a.Pix[a.PixOffset(x+a.Rect.Min.X, y+a.Rect.Min.Y):], b.Pix[b.PixOffset(x+b.Rect.Min.X, y+b.Rect.Min.Y):]
			for c := range 3 {
				d := int(pa[c]) - int(pb[c])
				if d < 0 {
					d = -d
				}
				sum += d
				maxd = max(maxd, d)
			}
			if pa[3] != 255 {
				tb.Fatalf("alpha at (%d,%d) is %d, want 255", x, y, pa[3])
			}
		}
	}
	return float64(sum) / float64(3*w*h), maxd
}

// grayImage is a photo-like grayscale image.
func grayImage(w, h int) *image.Gray {
	src := photoLike(w, h, 42)
	g := image.NewGray(src.Rect)
	for y := range h {
		for x := range w {
			g.SetGray(x, y, color.GrayModel.Convert(src.RGBAAt(x, y)).(color.Gray))
		}
	}
	return g
}
