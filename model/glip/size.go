package glip

import "math"

// InputSize is the size, before padding, that maskrcnn-benchmark's
// Resize.get_size gives an image of w×h for MIN_SIZE_TEST shortest and
// MAX_SIZE_TEST maxSize (0: no cap), as GLIP's test transform uses it:
//
//	size = shortest
//	if max/min × size > maxSize: size = int(round(maxSize × min / max))
//	if the short side already equals size: unchanged
//	else short side = size, long side = int(size × long / short)
//
// with Python's float arithmetic, round-half-to-even and int() truncation.
// So the long side is truncated, not rounded: 640×427 gives 1199×800,
// not 1200×800. Unlike GLIP, a side is never below 1 pixel.
func InputSize(w, h, shortest, maxSize int) (nw, nh int) {
	if w <= 0 || h <= 0 {
		return max(w, 1), max(h, 1)
	}
	size := shortest
	if maxSize > 0 {
		minO, maxO := float64(min(w, h)), float64(max(w, h))
		if maxO/minO*float64(size) > float64(maxSize) {
			size = int(math.RoundToEven(float64(maxSize) * minO / maxO))
		}
	}
	if (w <= h && w == size) || (h <= w && h == size) {
		return w, h
	}
	if w < h {
		nw, nh = size, int(float64(size)*float64(h)/float64(w))
	} else {
		nh, nw = size, int(float64(size)*float64(w)/float64(h))
	}
	return max(nw, 1), max(nh, 1)
}
