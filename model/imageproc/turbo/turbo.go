// Package turbo decodes JPEGs with libjpeg-turbo through cgo, using the
// decoder's DCT-domain downscaling (1/2, 1/4, 1/8) when the target size is
// much smaller than the image, and resizes RGBA images with a fast bilinear
// filter.
//
// Builds without cgo, or with the build tag noturbojpeg, get a pure-Go
// fallback (image/jpeg plus a box filter) with the same contract; Available
// reports which one is compiled in. The cgo build links libturbojpeg
// statically: it needs Debian's libturbojpeg0-dev (TurboJPEG API 2.1) to
// build, and nothing at run time.
//
// DecodeScaled leaves EXIF orientation alone: pixels come out in stored
// order, as with image/jpeg. Decode applies it and falls back to the
// general decoders for other formats.
package turbo

import (
	"errors"
	"fmt"
	"image"

	"github.com/groundbeam/groundbeam/model/imageproc"
)

// ErrNotJPEG marks input that does not start with a JPEG SOI marker; callers
// fall back to a general decoder such as image.Decode.
var ErrNotJPEG = errors.New("not a JPEG")

// DecodeScaled decodes a JPEG into an *image.RGBA with its origin at (0, 0),
// at the smallest of the scales 1/8, 1/4, 1/2 whose output still has its
// shorter side ≥ minShort, else at full size (never upscaling; minShort ≤ 0
// means full size). Scaled sides are rounded up, as libjpeg does:
// ⌈side·num/den⌉.
//
// fullW and fullH are the image's size from its header, before scaling, so
// callers can map coordinates back to original pixels (and should compute
// resize targets from them, not from the scaled size).
//
// An image whose header claims more than maxPixels pixels (0 means
// imageproc.DefaultMaxPixels) is refused before decoding with an error
// wrapping imageproc.ErrTooLarge. Corrupt or truncated data, including data
// on which libjpeg-turbo only warns, gives an error wrapping
// imageproc.ErrFormat; input without the JPEG SOI marker gives one wrapping
// ErrNotJPEG. Grayscale images come out as gray RGBA; CMYK and YCCK images
// are converted as image/jpeg does and need the Adobe APP14 marker. Safe for
// concurrent use.
func DecodeScaled(data []byte, minShort int, maxPixels int) (img *image.RGBA, fullW, fullH int, err error) {
	if !isJPEG(data) {
		return nil, 0, 0, ErrNotJPEG
	}
	if maxPixels <= 0 {
		maxPixels = imageproc.DefaultMaxPixels
	}
	return decodeScaled(data, minShort, maxPixels)
}

// Decode decodes any image the jobs read, upright, for cropping boxes that
// are given in full-size pixels: JPEGs through DecodeScaled (shrunk while
// the shorter side stays at least minShort; 0: full size) with their EXIF
// orientation applied; everything else, and JPEGs libjpeg-turbo refuses
// but image/jpeg reads, through imageproc.Decode at full size. fullW and
// fullH are the upright image's full size, so a box maps to img by the
// factors img.Rect.Dx()/fullW and img.Rect.Dy()/fullH. The label and embed
// jobs both decode this way, so that the same box is cropped from the same
// pixels in both.
func Decode(data []byte, minShort, maxPixels int) (img *image.RGBA, fullW, fullH int, err error) {
	img, fullW, fullH, err = DecodeScaled(data, minShort, maxPixels)
	if err == nil {
		o := imageproc.JPEGOrientation(data)
		if o >= 5 && o <= 8 {
			fullW, fullH = fullH, fullW
		}
		return imageproc.Orient(img, o), fullW, fullH, nil
	}
	if errors.Is(err, imageproc.ErrTooLarge) {
		return nil, 0, 0, err
	}
	if img, err = imageproc.Decode(data, maxPixels); err != nil {
		return nil, 0, 0, err
	}
	return img, img.Rect.Dx(), img.Rect.Dy(), nil
}

// isJPEG reports whether data starts with the SOI marker.
func isJPEG(data []byte) bool {
	return len(data) >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF
}

// checkHeader validates header dimensions against maxPixels.
func checkHeader(w, h, maxPixels int) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("%w: JPEG header says %dx%d", imageproc.ErrFormat, w, h)
	}
	if int64(w)*int64(h) > int64(maxPixels) {
		return fmt.Errorf("%w: JPEG of %dx%d is over the %d-pixel limit", imageproc.ErrTooLarge, w, h, maxPixels)
	}
	return nil
}

// scaleDenom returns the DCT scale denominator d in {8, 4, 2, 1} for a w×h
// image: the largest whose output ⌈w/d⌉×⌈h/d⌉ still has its shorter side ≥
// minShort.
func scaleDenom(w, h, minShort int) int {
	if minShort <= 0 {
		return 1
	}
	for _, d := range [...]int{8, 4, 2} {
		if min(scaled(w, d), scaled(h, d)) >= minShort {
			return d
		}
	}
	return 1
}

// scaled is libjpeg's TJSCALED for the factor 1/d: ⌈n/d⌉.
func scaled(n, d int) int { return (n + d - 1) / d }

// hasAdobeMarker reports whether an APP14 "Adobe" segment precedes the first
// SOS marker. libjpeg-turbo does not expose it, and it decides whether a
// 4-component JPEG is inverted (Adobe) CMYK.
func hasAdobeMarker(data []byte) bool {
	i := 2
	for i+4 <= len(data) {
		if data[i] != 0xFF {
			return false
		}
		m := data[i+1]
		switch {
		case m == 0xFF: // fill byte
			i++
			continue
		case m == 0x01 || (m >= 0xD0 && m <= 0xD8): // standalone markers
			i += 2
			continue
		case m == 0xDA || m == 0xD9: // SOS, EOI: header over
			return false
		}
		n := int(data[i+2])<<8 | int(data[i+3])
		if m == 0xEE && n >= 12 && i+9 <= len(data) && string(data[i+4:i+9]) == "Adobe" {
			return true
		}
		i += 2 + n
	}
	return false
}

// invertedCMYKToRGBA converts, in place, pixels holding Adobe-inverted CMYK
// (as libjpeg outputs them: 255 means no ink) to opaque RGBA with the same
// arithmetic as image/color's CMYK.RGBA, so results match image/jpeg's.
func invertedCMYKToRGBA(pix []byte) {
	for i := 0; i+3 < len(pix); i += 4 {
		p := pix[i : i+4 : i+4]
		w := uint32(p[3]) * 0x101
		p[0] = uint8(uint32(p[0]) * 0x101 * w / 0xffff >> 8)
		p[1] = uint8(uint32(p[1]) * 0x101 * w / 0xffff >> 8)
		p[2] = uint8(uint32(p[2]) * 0x101 * w / 0xffff >> 8)
		p[3] = 0xff
	}
}
