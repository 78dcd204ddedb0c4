package main

import (
	"bytes"
	"image"
	"image/png"
	"strings"
	"testing"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/model/bundle"
)

// rewriteBundle copies the bundle in src to a new folder with its files
// changed by edit and model.json re-hashed.
func rewriteBundle(t *testing.T, src string, edit func(m *bundle.Manifest, files map[string][]byte)) string {
	t.Helper()
	b, err := bundle.Load(src, "")
	if err != nil {
		t.Fatal(err)
	}
	return testenv.RewriteBundle(t, b, edit).Dir
}

// withFixtures returns an edit of a bundle's fixtures.json.
func withFixtures(t *testing.T, fn func(f *bundle.Fixtures)) func(*bundle.Manifest, map[string][]byte) {
	return func(_ *bundle.Manifest, files map[string][]byte) { testenv.EditFixtures(t, files, fn) }
}

func TestModelsVerify(t *testing.T) {
	lib := testenv.ORTLib(t)
	teacher, clip := testenv.Bundles(t, nil)
	perturbed := rewriteBundle(t, clip, withFixtures(t, func(f *bundle.Fixtures) {
		for i := range f.Cases {
			if f.Cases[i].Name == "region0" {
				f.Cases[i].Values[3] += 0.05
			}
		}
	}))
	badTokens := rewriteBundle(t, teacher, withFixtures(t, func(f *bundle.Fixtures) { f.Tokens[1].IDs[3] = 7 }))
	resized := rewriteBundle(t, clip, func(_ *bundle.Manifest, files map[string][]byte) {
		var buf bytes.Buffer
		if err := png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 100, 80))); err != nil {
			t.Fatal(err)
		}
		files["fixtures/image0.png"] = buf.Bytes()
	})
	noFixtures := rewriteBundle(t, clip, func(m *bundle.Manifest, files map[string][]byte) {
		m.Fixtures = ""
		delete(files, bundle.FixturesFile)
	})
	tests := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
	}{
		{name: "teacher passes", args: []string{teacher}, code: 0,
			stdout: []string{`tokens "a cat. a remote."`, "ground-logits (grounding logits)", "max abs diff", "tolerance 0.01", "all 5 fixtures ok"}},
		{name: "clip passes", args: []string{clip, "--provider", "cpu", "--device-id", "0"}, code: 0,
			stdout: []string{"image0 (image image_embeds)", "region0 (region region_embeds)", "text1 (text text_embeds)", "all 7 fixtures ok"}},
		{name: "perturbed reference", args: []string{perturbed}, code: 1,
			stdout: []string{"region0 (region region_embeds)", "FAIL", "image0 (image image_embeds)"},
			stderr: []string{"1 of 7 fixtures failed: region0"}},
		{name: "token ids differ", args: []string{badTokens}, code: 1,
			stdout: []string{`tokens "Two DOGS playing with a Frisbee!"`, "differ at position 3: ", "want 7", "FAIL"},
			stderr: []string{`1 of 5 fixtures failed: tokens "Two DOGS playing with a Frisbee!"`}},
		{name: "fixture image off size", args: []string{resized}, code: 1,
			stderr: []string{`case "image0"`, "not at a size the preprocessing leaves unchanged", "100×80"}},
		{name: "no fixtures", args: []string{noFixtures}, code: 1, stderr: []string{"bundle has no fixtures"}},
		{name: "no bundle", args: nil, code: 2, stderr: []string{"want one BUNDLE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"models", "verify", "--ort-lib", lib}, tt.args...)
			code := run(args, &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout.String(), stderr.String())
			}
			for _, s := range tt.stdout {
				if !strings.Contains(stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, stdout.String())
				}
			}
			for _, s := range tt.stderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
				}
			}
		})
	}
}
