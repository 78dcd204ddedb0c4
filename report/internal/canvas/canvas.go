// Package canvas holds the small drawing helpers shared by the report
// packages: filled rectangles, outlines and single-line text in the fixed
// 7×13 basicfont face.
package canvas

import (
	"image"
	"image/color"
	"image/draw"
	"strings"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"
)

// Glyph metrics of the face Text draws with.
const (
	CharW   = 7  // advance of one character
	CharH   = 13 // line height
	Ascent  = 11 // baseline below the top of a line
	LineGap = 2  // extra space between lines of Lines
)

// Fill paints r with c.
func Fill(img draw.Image, r image.Rectangle, c color.Color) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
}

// Outline paints a border of the given width just inside r.
func Outline(img draw.Image, r image.Rectangle, width int, c color.Color) {
	if r.Dx() <= 2*width || r.Dy() <= 2*width {
		Fill(img, r, c)
		return
	}
	Fill(img, image.Rect(r.Min.X, r.Min.Y, r.Max.X, r.Min.Y+width), c)
	Fill(img, image.Rect(r.Min.X, r.Max.Y-width, r.Max.X, r.Max.Y), c)
	Fill(img, image.Rect(r.Min.X, r.Min.Y, r.Min.X+width, r.Max.Y), c)
	Fill(img, image.Rect(r.Max.X-width, r.Min.Y, r.Max.X, r.Max.Y), c)
}

// Text draws s with its top-left corner at (x, y), clipped to img.
func Text(img draw.Image, x, y int, s string, c color.Color) {
	d := &font.Drawer{
		Dst:  img,
		Src:  image.NewUniform(c),
		Face: basicfont.Face7x13,
		Dot:  fixed.P(x, y+Ascent),
	}
	d.DrawString(s)
}

// Width is the width in pixels of s drawn by Text.
func Width(s string) int { return utf8.RuneCountInString(s) * CharW }

// Truncate shortens s to at most n characters, ending in "..." when cut
// (the face is ASCII).
func Truncate(s string, n int) string {
	if n <= 0 {
		return ""
	}
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	if n <= 3 {
		return string(r[:n])
	}
	return string(r[:n-3]) + "..."
}

// Wrap breaks s into at most maxLines lines of at most width characters,
// at spaces where it can; the last line is truncated when text remains.
func Wrap(s string, width, maxLines int) []string {
	if width <= 0 || maxLines <= 0 {
		return nil
	}
	var lines []string
	var cur []rune
	for _, w := range strings.Fields(s) {
		r := []rune(w)
		for len(r) > width { // hard-break words longer than a line
			if len(cur) > 0 {
				lines = append(lines, string(cur))
				cur = nil
			}
			lines = append(lines, string(r[:width]))
			r = r[width:]
		}
		switch {
		case len(r) == 0:
		case len(cur) == 0:
			cur = append([]rune(nil), r...)
		case len(cur)+1+len(r) <= width:
			cur = append(append(cur, ' '), r...)
		default:
			lines = append(lines, string(cur))
			cur = append([]rune(nil), r...)
		}
	}
	if len(cur) > 0 {
		lines = append(lines, string(cur))
	}
	if len(lines) > maxLines {
		lines[maxLines-1] = Truncate(strings.Join(lines[maxLines-1:], " "), width)
		lines = lines[:maxLines]
	}
	return lines
}

// Lines draws each line below the previous one, starting at (x, y), and
// returns the y below the last line.
func Lines(img draw.Image, x, y int, lines []string, c color.Color) int {
	for _, l := range lines {
		Text(img, x, y, l, c)
		y += CharH + LineGap
	}
	return y
}

// Contrast returns black or white, whichever reads better on bg.
func Contrast(bg color.RGBA) color.RGBA {
	lum := 299*int(bg.R) + 587*int(bg.G) + 114*int(bg.B)
	if lum > 150*1000 {
		return color.RGBA{0, 0, 0, 255}
	}
	return color.RGBA{255, 255, 255, 255}
}
