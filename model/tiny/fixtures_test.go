package tiny

import (
	"bytes"
	"image/png"
	"os"
	"testing"

	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/glip"
)

func TestGroundingFixtureSize(t *testing.T) {
	tests := []struct {
		name                 string
		edge, maxSize, pad   int
		wantW, wantH         int
		wantOK               bool
		wantShortIsShortEdge bool
	}{
		{"tiny defaults", 256, 416, 32, 288, 256, true, true},
		{"GLIP's 800/1333", 800, 1333, 32, 832, 800, true, true},
		{"short edge not a multiple of the padding", 200, 416, 32, 0, 0, true, false},
		{"no padding", 100, 0, 0, 101, 100, true, true},
		{"padding larger than any size", 256, 416, 1000, 0, 0, false, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			spec := bundle.ImageSpec{ShortestEdge: tc.edge, MaxSize: tc.maxSize, PadMultiple: tc.pad}
			w, h, ok := groundingFixtureSize(spec)
			if ok != tc.wantOK {
				t.Fatalf("ok %v, want %v", ok, tc.wantOK)
			}
			if !ok {
				return
			}
			if tc.wantW != 0 && (w != tc.wantW || h != tc.wantH) {
				t.Errorf("%d×%d, want %d×%d", w, h, tc.wantW, tc.wantH)
			}
			if nw, nh := glip.InputSize(w, h, tc.edge, tc.maxSize); nw != w || nh != h {
				t.Errorf("%d×%d resizes to %d×%d", w, h, nw, nh)
			}
			if pad := max(tc.pad, 1); w%pad != 0 || h%pad != 0 {
				t.Errorf("%d×%d needs padding to multiples of %d", w, h, pad)
			}
			if (h == tc.edge) != tc.wantShortIsShortEdge {
				t.Errorf("short side %d, shortest edge %d", h, tc.edge)
			}
		})
	}
}

// fixturesOf reads a written bundle's fixtures.
func fixturesOf(t *testing.T, b *bundle.Bundle) *bundle.Fixtures {
	t.Helper()
	f, err := bundle.LoadFixtures(b)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestWriteBundlesFixtures checks what WriteBundles puts in the bundles'
// fixtures: every graph covered, images at the sizes the cases need,
// references the same on every write, and the same (within float32
// rounding) whether the graphs normalise uint8 pixels or take them
// normalised by this package.
func TestWriteBundlesFixtures(t *testing.T) {
	needORT(t)
	teacher, clip, err := WriteBundles(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	teacher2, clip2, err := WriteBundles(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	teacherU8, clipU8, err := WriteBundles(t.TempDir(), &BundleOptions{UInt8Input: true})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		b, again, u *bundle.Bundle
		graphs      map[string]bool
		w, h        int
	}{
		{"teacher", teacher, teacher2, teacherU8, map[string]bool{bundle.GraphGrounding: true}, 288, 256},
		{"clip", clip, clip2, clipU8, map[string]bool{bundle.GraphImage: true, bundle.GraphText: true, bundle.GraphRegion: true},
			CLIPImageSize, CLIPImageSize},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.b.Identity != tc.again.Identity {
				t.Errorf("identities %s and %s: the fixtures are not deterministic", tc.b.Identity, tc.again.Identity)
			}
			f, fu := fixturesOf(t, tc.b), fixturesOf(t, tc.u)
			if f.Source != FixturesSource || len(f.Tokens) != 3 {
				t.Errorf("source %q, %d token fixtures", f.Source, len(f.Tokens))
			}
			for _, c := range f.Cases {
				delete(tc.graphs, c.Graph)
				if c.Image == "" {
					continue
				}
				raw, err := os.ReadFile(tc.b.Path(c.Image))
				if err != nil {
					t.Fatal(err)
				}
				cfg, err := png.DecodeConfig(bytes.NewReader(raw))
				if err != nil || cfg.Width != tc.w || cfg.Height != tc.h {
					t.Errorf("case %s: image %s is %d×%d (%v), want %d×%d", c.Name, c.Image, cfg.Width, cfg.Height, err, tc.w, tc.h)
				}
			}
			if len(tc.graphs) > 0 {
				t.Errorf("no cases of %v", tc.graphs)
			}
			if len(fu.Cases) != len(f.Cases) {
				t.Fatalf("%d cases with uint8 input, %d without", len(fu.Cases), len(f.Cases))
			}
			for i, c := range f.Cases {
				if d := maxAbsDiff(c.Values, fu.Cases[i].Values); d > 1e-4 {
					t.Errorf("case %s: uint8 and float32 inputs' references differ by %g", c.Name, d)
				}
			}
		})
	}
}
