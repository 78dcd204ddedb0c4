package clip

import (
	"image"
	"math"
)

// Mean and Std are CLIP's pixel normalisation (0–1 range, RGB).
var (
	Mean = [3]float32{0.48145466, 0.4578275, 0.40821073}
	Std  = [3]float32{0.26862954, 0.26130258, 0.27577711}
)

// CropRect returns the pixel rectangle of box (x1, y1, x2, y2) enlarged by
// scale about its centre and clipped to a w×h image, rounded outwards to
// whole pixels. The result has at least one pixel in each direction and
// lies inside the image, so tiny, degenerate (x2 ≤ x1) and outside boxes
// still give a crop. w and h must be at least 1.
func CropRect(box [4]float32, scale float64, w, h int) image.Rectangle {
	cx := (finite(box[0]) + finite(box[2])) / 2
	cy := (finite(box[1]) + finite(box[3])) / 2
	bw := math.Max(finite(box[2])-finite(box[0]), 0) * scale
	bh := math.Max(finite(box[3])-finite(box[1]), 0) * scale
	x0 := floorInt(cx - bw/2)
	y0 := floorInt(cy - bh/2)
	x1 := ceilInt(cx + bw/2)
	y1 := ceilInt(cy + bh/2)
	x0, y0 = clamp(x0, 0, w-1), clamp(y0, 0, h-1)
	x1, y1 = clamp(x1, x0+1, w), clamp(y1, y0+1, h)
	return image.Rect(x0, y0, x1, y1)
}

// CropBox is CropRect without the rounding: box enlarged by scale about its
// centre and clipped to [0,w]×[0,h], in continuous pixel coordinates (pixel
// i covers [i, i+1)), as the region graph's RoiAlign takes it. A side
// shorter than one pixel becomes the pixel holding its centre (clipped to
// the image), the pixel CropRect gives a degenerate box, so tiny and
// degenerate boxes still cover a pixel of the image.
func CropBox(box [4]float32, scale float64, w, h int) [4]float32 {
	x0, x1 := span(finite(box[0]), finite(box[2]), scale, float64(w))
	y0, y1 := span(finite(box[1]), finite(box[3]), scale, float64(h))
	return [4]float32{float32(x0), float32(y0), float32(x1), float32(y1)}
}

// span enlarges [a, b] by scale about its centre and clips it to [0, n],
// keeping at least one pixel.
func span(a, b, scale, n float64) (lo, hi float64) {
	c := (a + b) / 2
	half := math.Max(b-a, 0) * scale / 2
	lo, hi = clampF(c-half, 0, n), clampF(c+half, 0, n)
	if hi-lo < 1 {
		lo = clampF(math.Floor(c), 0, math.Max(n-1, 0))
		hi = lo + 1
	}
	return lo, hi
}

// finite maps NaN to 0 and clamps infinities, so that a broken box gives a
// (meaningless but valid) crop rather than undefined conversions.
func finite(v float32) float64 {
	const big = 1 << 30
	f := float64(v)
	if math.IsNaN(f) {
		return 0
	}
	return math.Max(-big, math.Min(f, big))
}

func floorInt(v float64) int { return int(math.Floor(v)) }
func ceilInt(v float64) int  { return int(math.Ceil(v)) }

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

func clampF(v, lo, hi float64) float64 { return math.Max(lo, math.Min(v, hi)) }

// Normalize scales v to unit L2 norm in place (a zero vector stays zero).
func Normalize(v []float32) {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	if s == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(s))
	for i := range v {
		v[i] *= inv
	}
}
