// Package clip embeds image regions and text with a CLIP bundle: ViLD-style
// region embeddings (crops at several scales, embedded, summed and
// L2-normalised) and text embeddings.
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
// scale about its centre and clipped to a w×h image. The result has at
// least one pixel in each direction, so tiny and degenerate boxes still
// give a crop.
func CropRect(box [4]float32, scale float64, w, h int) image.Rectangle {
	cx := (float64(box[0]) + float64(box[2])) / 2
	cy := (float64(box[1]) + float64(box[3])) / 2
	bw := math.Max(float64(box[2]-box[0]), 0) * scale
	bh := math.Max(float64(box[3]-box[1]), 0) * scale
	x0 := int(math.Floor(cx - bw/2))
	y0 := int(math.Floor(cy - bh/2))
	x1 := int(math.Ceil(cx + bw/2))
	y1 := int(math.Ceil(cy + bh/2))
	x0, y0 = clamp(x0, 0, w-1), clamp(y0, 0, h-1)
	x1, y1 = clamp(x1, x0+1, w), clamp(y1, y0+1, h)
	return image.Rect(x0, y0, x1, y1)
}

func clamp(v, lo, hi int) int { return max(lo, min(v, hi)) }

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
