package canvas

import (
	"image"
	"image/color"
	"strings"
	"testing"
)

func TestWrap(t *testing.T) {
	tests := []struct {
		in           string
		width, lines int
		want         []string
	}{
		{"a red square on a gray background", 12, 3, []string{"a red square", "on a gray", "background"}},
		{"a red square on a gray background", 12, 2, []string{"a red square", "on a gray..."}},
		{"abcdefghijklmnop", 5, 4, []string{"abcde", "fghij", "klmno", "p"}},
		{"  ", 5, 2, nil},
		{"anything", 0, 2, nil},
	}
	for _, tt := range tests {
		got := Wrap(tt.in, tt.width, tt.lines)
		if strings.Join(got, "|") != strings.Join(tt.want, "|") {
			t.Errorf("Wrap(%q, %d, %d) = %q, want %q", tt.in, tt.width, tt.lines, got, tt.want)
		}
		for _, l := range got {
			if len([]rune(l)) > tt.width {
				t.Errorf("line %q wider than %d", l, tt.width)
			}
		}
	}
}

func TestTruncate(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want string
	}{{"hello", 5, "hello"}, {"hello world", 8, "hello..."}, {"hello", 2, "he"}, {"hé", 1, "h"}, {"x", 0, ""}} {
		if got := Truncate(tt.in, tt.n); got != tt.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tt.in, tt.n, got, tt.want)
		}
	}
}

func TestOutlineAndText(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	red := color.RGBA{255, 0, 0, 255}
	Outline(img, image.Rect(5, 5, 25, 20), 2, red)
	for _, p := range []image.Point{{5, 10}, {6, 10}, {24, 10}, {23, 10}, {15, 5}, {15, 19}} {
		if img.RGBAAt(p.X, p.Y) != red {
			t.Errorf("outline missing at %v", p)
		}
	}
	if img.RGBAAt(7, 10) != (color.RGBA{}) || img.RGBAAt(4, 10) != (color.RGBA{}) {
		t.Error("outline wider than 2 px")
	}
	Text(img, 0, 0, "W", red)
	n := 0
	for y := 0; y < CharH; y++ {
		for x := 0; x < CharW; x++ {
			if img.RGBAAt(x, y).R > 0 {
				n++
			}
		}
	}
	if n == 0 {
		t.Error("Text drew nothing")
	}
	if Contrast(color.RGBA{255, 225, 25, 255}) != (color.RGBA{0, 0, 0, 255}) || Contrast(color.RGBA{0, 0, 128, 255}) != (color.RGBA{255, 255, 255, 255}) {
		t.Error("Contrast picks the wrong ink")
	}
}
