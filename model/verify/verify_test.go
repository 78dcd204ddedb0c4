package verify_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"math"
	"strings"
	"testing"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/tiny"
	"github.com/groundbeam/groundbeam/model/verify"
)

// tinyBundles writes the tiny bundles and loads them.
func tinyBundles(t *testing.T, opts *tiny.BundleOptions) (teacher, clip *bundle.Bundle) {
	t.Helper()
	td, cd := testenv.Bundles(t, opts)
	var err error
	if teacher, err = bundle.Load(td, bundle.KindGrounding); err != nil {
		t.Fatal(err)
	}
	if clip, err = bundle.Load(cd, bundle.KindCLIP); err != nil {
		t.Fatal(err)
	}
	return teacher, clip
}

// rewrite copies bundle b to a new folder with its files changed by edit
// and model.json re-hashed.
func rewrite(t *testing.T, b *bundle.Bundle, edit func(files map[string][]byte)) *bundle.Bundle {
	t.Helper()
	return testenv.RewriteBundle(t, b, func(_ *bundle.Manifest, files map[string][]byte) { edit(files) })
}

// editFixtures returns an edit of fixtures.json.
func editFixtures(t *testing.T, fn func(f *bundle.Fixtures)) func(map[string][]byte) {
	return func(files map[string][]byte) { testenv.EditFixtures(t, files, fn) }
}

func caseNamed(t *testing.T, f *bundle.Fixtures, name string) *bundle.Case {
	t.Helper()
	for i := range f.Cases {
		if f.Cases[i].Name == name {
			return &f.Cases[i]
		}
	}
	t.Fatalf("no case %q", name)
	return nil
}

func TestVerifyTinyBundles(t *testing.T) {
	tests := []struct {
		name   string
		opts   *tiny.BundleOptions
		graphs []string // graphs the two bundles' cases cover, together
	}{
		{"float32 input", nil, []string{"grounding", "image", "region", "text"}},
		{"uint8 input", &tiny.BundleOptions{UInt8Input: true}, []string{"grounding", "image", "region", "text"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			teacher, clip := tinyBundles(t, tc.opts)
			seen := map[string]bool{}
			for _, b := range []*bundle.Bundle{teacher, clip} {
				r, err := verify.Verify(context.Background(), b, nil)
				if err != nil {
					t.Fatal(err)
				}
				if !r.OK() || r.Failed() != 0 {
					t.Errorf("%s: %s", b.Identity, r.Summary())
				}
				if len(r.Tokens) == 0 || len(r.Cases) == 0 {
					t.Errorf("%s: %d token fixtures and %d cases, want some of each", b.Identity, len(r.Tokens), len(r.Cases))
				}
				if !strings.Contains(r.Summary(), "all") || r.Source != tiny.FixturesSource {
					t.Errorf("summary %q, source %q", r.Summary(), r.Source)
				}
				for _, tr := range r.Tokens {
					if !tr.OK || tr.Position != -1 {
						t.Errorf("tokens %q: got %v, want %v", tr.Text, tr.Got, tr.Want)
					}
				}
				for _, c := range r.Cases {
					seen[c.Graph] = true
					if !c.OK || c.MaxAbsDiff < 0 || math.IsInf(c.MaxAbsDiff, 0) || math.IsNaN(c.MaxAbsDiff) || c.MaxAbsDiff > c.Tolerance {
						t.Errorf("case %s: max abs diff %g, tolerance %g, ok %v, %s", c.Name, c.MaxAbsDiff, c.Tolerance, c.OK, c.Problem)
					}
					t.Logf("%s %s: max abs diff %.3g", b.Identity, c.Name, c.MaxAbsDiff)
				}
			}
			for _, g := range tc.graphs {
				if !seen[g] {
					t.Errorf("no %s case", g)
				}
			}
		})
	}
}

func TestVerifyFailures(t *testing.T) {
	teacher, clip := tinyBundles(t, nil)
	tests := []struct {
		name    string
		b       *bundle.Bundle
		edit    func(f *bundle.Fixtures)
		failed  string // the case or token text reported failed
		problem string // in the case's Problem
		pos     int    // the token fixture's first differing position
	}{
		{name: "image reference off", b: clip, failed: "image0",
			edit: func(f *bundle.Fixtures) { caseNamed(t, f, "image0").Values[5] += 0.01 }},
		{name: "text reference off", b: clip, failed: "text1",
			edit: func(f *bundle.Fixtures) { caseNamed(t, f, "text1").Values[0] -= 0.5 }},
		{name: "region reference off", b: clip, failed: "region0",
			edit: func(f *bundle.Fixtures) { c := caseNamed(t, f, "region0"); c.Values[len(c.Values)-1] += 0.002 }},
		{name: "logits reference off", b: teacher, failed: "ground-logits",
			edit: func(f *bundle.Fixtures) { caseNamed(t, f, "ground-logits").Values[7] += 1 }},
		{name: "boxes reference off", b: teacher, failed: "ground-boxes",
			edit: func(f *bundle.Fixtures) { caseNamed(t, f, "ground-boxes").Values[3] += 0.1 }},
		{name: "tolerance tighter than the difference", b: clip, failed: "image0",
			edit: func(f *bundle.Fixtures) {
				c := caseNamed(t, f, "image0")
				c.Values[0] += 1e-4
				zero := 0.0
				c.Tolerance = &zero
			}},
		{name: "other shape", b: clip, failed: "text0", problem: "output shape [1 64], reference [2 32]",
			edit: func(f *bundle.Fixtures) { caseNamed(t, f, "text0").Shape = []int64{2, 32} }},
		{name: "token id differs", b: teacher, failed: `tokens "a cat. a remote."`, pos: 2,
			edit: func(f *bundle.Fixtures) { f.Tokens[0].IDs[2]++ }},
		{name: "token missing", b: clip, failed: `tokens "a photo of a cat"`, pos: 5,
			edit: func(f *bundle.Fixtures) { ids := f.Tokens[0].IDs; f.Tokens[0].IDs = append(ids[:5:5], ids[6:]...) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := rewrite(t, tc.b, editFixtures(t, tc.edit))
			r, err := verify.Verify(context.Background(), b, nil)
			if err != nil {
				t.Fatal(err)
			}
			if r.OK() || r.Failed() != 1 {
				t.Fatalf("%d failed, want 1: %s", r.Failed(), r.Summary())
			}
			if s := r.Summary(); !strings.Contains(s, "1 of") || !strings.Contains(s, tc.failed) {
				t.Errorf("summary %q does not name %s", s, tc.failed)
			}
			for _, tr := range r.Tokens {
				if !tr.OK && (tr.Position != tc.pos || !strings.Contains(tc.failed, tr.Text)) {
					t.Errorf("tokens %q failed at %d, want %d", tr.Text, tr.Position, tc.pos)
				}
			}
			for _, c := range r.Cases {
				if c.OK {
					continue
				}
				if c.Name != tc.failed || !strings.Contains(c.Problem, tc.problem) {
					t.Errorf("case %s failed (%q), want %s (%q)", c.Name, c.Problem, tc.failed, tc.problem)
				}
				if tc.problem == "" && (c.MaxAbsDiff <= c.Tolerance || c.At < 0) {
					t.Errorf("case %s: max abs diff %g at %d, tolerance %g", c.Name, c.MaxAbsDiff, c.At, c.Tolerance)
				}
			}
		})
	}
}

func pngOf(t *testing.T, w, h int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestVerifyRefuses(t *testing.T) {
	teacher, clip := tinyBundles(t, nil)
	image := func(name string, w, h int) func(map[string][]byte) {
		return func(files map[string][]byte) { files[name] = pngOf(t, w, h) }
	}
	tests := []struct {
		name  string
		b     *bundle.Bundle
		edit  func(map[string][]byte)
		is    error
		words []string
	}{
		{"image case off the tower's size", clip, image("fixtures/image0.png", 200, 224), verify.ErrNotFixedPoint,
			[]string{`case "image0"`, "fixtures/image0.png is 200×224", "input is 224×224"}},
		{"grounding image the teacher would resize", teacher, image("fixtures/scene.png", 300, 200), verify.ErrNotFixedPoint,
			[]string{`case "ground-boxes"`, "fixtures/scene.png is 300×200", "resizes to 384×256", "pads to 384×256"}},
		{"grounding image the teacher would pad", teacher, image("fixtures/scene.png", 300, 256), verify.ErrNotFixedPoint,
			[]string{"300×256", "pads to 320×256"}},
		{"region image over the size limit", clip, func(files map[string][]byte) {
			image("fixtures/wide.png", 1400, 224)(files)
			editFixtures(t, func(f *bundle.Fixtures) { caseNamed(t, f, "region0").Image = "fixtures/wide.png" })(files)
		}, verify.ErrNotFixedPoint, []string{`case "region0"`, "fixtures/wide.png is 1400×224", "1333 px"}},
		{"undecodable image", clip, func(files map[string][]byte) { files["fixtures/image0.png"] = []byte("not a png") }, nil,
			[]string{"fixture image fixtures/image0.png"}},
		{"no fixtures", clip, func(files map[string][]byte) { delete(files, bundle.FixturesFile) }, bundle.ErrNoFixtures, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.b
			if tc.is == bundle.ErrNoFixtures {
				b = testenv.RewriteBundle(t, b, func(m *bundle.Manifest, files map[string][]byte) {
					m.Fixtures = ""
					tc.edit(files)
				})
			} else {
				b = rewrite(t, b, tc.edit)
			}
			_, err := verify.Verify(context.Background(), b, nil)
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v, want %v", err, tc.is)
			}
			for _, w := range tc.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
