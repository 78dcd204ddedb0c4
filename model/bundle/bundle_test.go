package bundle_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/tiny"
)

// copyBundle copies a bundle folder (with its fixtures/ folder), letting
// edit change model.json.
func copyBundle(t *testing.T, src string, edit func(m *bundle.Manifest)) string {
	t.Helper()
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	if edit == nil {
		return dst
	}
	path := filepath.Join(dst, bundle.ManifestFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m bundle.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	edit(&m)
	if raw, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestLoad(t *testing.T) {
	teacher, clip, err := tiny.WriteBundles(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		dir     func(t *testing.T) string
		kind    string
		invalid bool     // errors.Is(err, bundle.ErrInvalid)
		want    []string // substrings of the error; none means success
	}{
		{name: "grounding", dir: func(*testing.T) string { return teacher.Dir }, kind: bundle.KindGrounding},
		{name: "clip", dir: func(*testing.T) string { return clip.Dir }, kind: bundle.KindCLIP},
		{name: "no folder", dir: func(t *testing.T) string { return filepath.Join(t.TempDir(), "none") }, want: []string{"no model.json"}},
		{name: "wrong kind", dir: func(*testing.T) string { return clip.Dir }, kind: bundle.KindGrounding, invalid: true, want: []string{`kind is "clip"`}},
		{name: "checksum", invalid: true, want: []string{"model.onnx has sha256"}, dir: func(t *testing.T) string {
			d := copyBundle(t, teacher.Dir, nil)
			if err := os.WriteFile(filepath.Join(d, "model.onnx"), []byte("tampered"), 0o644); err != nil {
				t.Fatal(err)
			}
			return d
		}},
		{name: "missing file", invalid: true, want: []string{"vocab.txt is listed but missing"}, dir: func(t *testing.T) string {
			d := copyBundle(t, teacher.Dir, nil)
			os.Remove(filepath.Join(d, "vocab.txt"))
			return d
		}},
		{name: "tensor not in graph", invalid: true, want: []string{`input "pixels" (image) is not in the graph`, "pixel_values"}, dir: func(t *testing.T) string {
			return copyBundle(t, teacher.Dir, func(m *bundle.Manifest) { m.Inputs[bundle.InImage] = "pixels" })
		}},
		{name: "output not in graph", invalid: true, want: []string{`output "scores" (logits) is not in the graph`}, dir: func(t *testing.T) string {
			return copyBundle(t, teacher.Dir, func(m *bundle.Manifest) { m.Outputs[bundle.OutLogits] = "scores" })
		}},
		{name: "wrong element type", invalid: true, want: []string{`input "pixel_values" has element type FLOAT, want INT64`, `input "input_ids" has rank 2, want 4`}, dir: func(t *testing.T) string {
			// input_ids mapped onto the float image tensor's name swap
			return copyBundle(t, teacher.Dir, func(m *bundle.Manifest) {
				m.Inputs[bundle.InInputIDs], m.Inputs[bundle.InImage] = "pixel_values", "input_ids"
			})
		}},
		{name: "bad box format", invalid: true, want: []string{`box_format "xywh"`}, dir: func(t *testing.T) string {
			return copyBundle(t, teacher.Dir, func(m *bundle.Manifest) { m.BoxFormat = "xywh" })
		}},
		{name: "file outside the list", invalid: true, want: []string{"onnx names other.onnx, which is not in files"}, dir: func(t *testing.T) string {
			return copyBundle(t, teacher.Dir, func(m *bundle.Manifest) { m.ONNX = "other.onnx" })
		}},
		{name: "format version", invalid: true, want: []string{"format_version 2"}, dir: func(t *testing.T) string {
			return copyBundle(t, teacher.Dir, func(m *bundle.Manifest) { m.FormatVersion = 2 })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := bundle.Load(tt.dir(t), tt.kind)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(b.Identity, b.Manifest.Name+"@") || len(b.Identity) != len(b.Manifest.Name)+13 {
					t.Errorf("identity %q, want name@12 hex digits", b.Identity)
				}
				return
			}
			if err == nil {
				t.Fatalf("loaded; want an error with %q", tt.want)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if errors.Is(err, bundle.ErrInvalid) != tt.invalid {
				t.Errorf("errors.Is(ErrInvalid) = %v, want %v", !tt.invalid, tt.invalid)
			}
		})
	}
}

func TestIdentityFollowsContent(t *testing.T) {
	a, _, err := tiny.WriteBundles(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := tiny.WriteBundles(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := tiny.WriteBundles(t.TempDir(), &tiny.BundleOptions{Grounding: &tiny.GroundingOptions{Seed: 99}})
	if err != nil {
		t.Fatal(err)
	}
	if a.Identity != b.Identity {
		t.Errorf("same content, identities %s and %s", a.Identity, b.Identity)
	}
	if a.Identity == c.Identity {
		t.Errorf("different weights, same identity %s", a.Identity)
	}
}
