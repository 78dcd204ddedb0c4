// Package imageproc decodes images safely and turns them into the float
// tensors the models take: resize, channel order, scale and mean/std.
package imageproc

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/draw"
	_ "image/gif"  // register GIF: first frame
	_ "image/jpeg" // register JPEG
	_ "image/png"  // register PNG

	_ "golang.org/x/image/webp" // register WebP
)

// DefaultMaxPixels is the largest image (width × height) decoded by default.
const DefaultMaxPixels = 64 << 20

// ErrFormat marks bytes that are not a decodable image: the input is bad,
// not the system.
var ErrFormat = errors.New("not a decodable image")

// ErrTooLarge marks an image whose header claims more pixels than allowed.
var ErrTooLarge = errors.New("image too large")

// Decode decodes an image, refusing from its header alone one over
// maxPixels (0 means DefaultMaxPixels), and returns it as RGBA, upright:
// a JPEG's EXIF orientation is applied (see JPEGOrientation). Of an
// animated GIF or WebP it returns the first frame. CMYK, YCCK, grayscale
// and 16-bit images are converted; what the decoders do not support
// (12-bit or arithmetic-coded JPEGs, 4-component JPEGs without an Adobe
// marker) is refused with an error wrapping ErrFormat that says why.
func Decode(data []byte, maxPixels int) (*image.RGBA, error) {
	if maxPixels <= 0 {
		maxPixels = DefaultMaxPixels
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrFormat, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%w: %s header says %dx%d", ErrFormat, format, cfg.Width, cfg.Height)
	}
	if int64(cfg.Width)*int64(cfg.Height) > int64(maxPixels) {
		return nil, fmt.Errorf("%w: %s of %dx%d is over the %d-pixel limit", ErrTooLarge, format, cfg.Width, cfg.Height, maxPixels)
	}
	if format == "webp" {
		f, err := animatedWebP(data)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrFormat, err)
		}
		if f != nil {
			img, err := f.decode()
			if err != nil {
				return nil, fmt.Errorf("%w: %v", ErrFormat, err)
			}
			return img, nil
		}
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrFormat, format, err)
	}
	rgba := ToRGBA(img)
	if format == "jpeg" {
		rgba = Orient(rgba, JPEGOrientation(data))
	}
	return rgba, nil
}

// ToRGBA returns img as an *image.RGBA with its origin at (0, 0).
func ToRGBA(img image.Image) *image.RGBA {
	if r, ok := img.(*image.RGBA); ok && r.Rect.Min == (image.Point{}) {
		return r
	}
	b := img.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Rect, img, b.Min, draw.Src)
	return dst
}
