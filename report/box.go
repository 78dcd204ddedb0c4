package report

import (
	"math"

	"github.com/groundbeam/groundbeam/schemas"
)

// BoxPrecision is how many PixelBox units make a pixel: exported boxes are
// in hundredths of a pixel.
const BoxPrecision = 100

// PixelBox is a box in hundredths of a pixel, clipped to its image.
type PixelBox struct{ X1, Y1, X2, Y2 int64 }

// XYWH returns the box as x, y, width and height in pixels (COCO's bbox).
func (b PixelBox) XYWH() [4]float64 {
	return [4]float64{units(b.X1), units(b.Y1), units(b.X2 - b.X1), units(b.Y2 - b.Y1)}
}

// XYXY returns the box's corners in pixels.
func (b PixelBox) XYXY() [4]float64 {
	return [4]float64{units(b.X1), units(b.Y1), units(b.X2), units(b.Y2)}
}

// Area returns the box's area in square pixels.
func (b PixelBox) Area() float64 { return units(b.X2-b.X1) * units(b.Y2-b.Y1) }

// units converts hundredths of a pixel to pixels; the division rounds
// correctly, so the result is the float64 that the printed decimal parses
// back to.
func units(v int64) float64 { return float64(v) / BoxPrecision }

// Sized reports whether a row has an image size to clip boxes to.
func Sized(r schemas.LabelRow) bool { return r.Width > 0 && r.Height > 0 }

// ClipBox turns a box into hundredths of a pixel inside the row's image.
// ok is false when nothing usable is left: malformed or non-finite
// coordinates or score, or an empty box after clipping. Corners are taken
// in either order. The width and height are trimmed, if need be, so that
// x + w and y + h computed in float64 never exceed the image's size.
func ClipBox(b schemas.Box, r schemas.LabelRow) (PixelBox, bool) {
	if len(b.XYXY) != 4 || math.IsNaN(float64(b.Score)) || math.IsInf(float64(b.Score), 0) {
		return PixelBox{}, false
	}
	var v [4]float64
	for i, f := range b.XYXY {
		v[i] = float64(f)
		if math.IsNaN(v[i]) || math.IsInf(v[i], 0) {
			return PixelBox{}, false
		}
	}
	w, h := int64(r.Width), int64(r.Height)
	q := func(f float64, limit int64) int64 {
		return min(max(int64(math.Round(f*BoxPrecision)), 0), limit*BoxPrecision)
	}
	x1, x2 := q(math.Min(v[0], v[2]), w), q(math.Max(v[0], v[2]), w)
	y1, y2 := q(math.Min(v[1], v[3]), h), q(math.Max(v[1], v[3]), h)
	for x2 > x1 && units(x1)+units(x2-x1) > float64(w) {
		x2--
	}
	for y2 > y1 && units(y1)+units(y2-y1) > float64(h) {
		y2--
	}
	if x2 <= x1 || y2 <= y1 {
		return PixelBox{}, false
	}
	return PixelBox{x1, y1, x2, y2}, true
}
