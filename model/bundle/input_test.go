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

// TestParseManifestImageInput: image.input is empty, float32_nchw or
// uint8_nhwc; anything else is refused by name.
func TestParseManifestImageInput(t *testing.T) {
	teacher, _, err := tiny.WriteBundles(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(teacher.Dir, bundle.ManifestFile))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, input string
		uint8       bool
		err         string
	}{
		{name: "absent"},
		{name: "float32_nchw", input: bundle.InputFloat32NCHW},
		{name: "uint8_nhwc", input: bundle.InputUInt8NHWC, uint8: true},
		{name: "other case", input: "UINT8_NHWC", err: `image.input "UINT8_NHWC": want float32_nchw or uint8_nhwc`},
		{name: "dtype only", input: "uint8", err: `image.input "uint8"`},
		{name: "other layout", input: "uint8_nchw", err: `image.input "uint8_nchw"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				t.Fatal(err)
			}
			if tt.input != "" {
				m["image"].(map[string]any)["input"] = tt.input
			}
			edited, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			got, err := bundle.ParseManifest(edited)
			if tt.err != "" {
				if !errors.Is(err, bundle.ErrInvalid) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want ErrInvalid saying %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Image.Input != tt.input || got.Image.UInt8() != tt.uint8 {
				t.Errorf("image.input %q, UInt8() %v", got.Image.Input, got.Image.UInt8())
			}
		})
	}
}

// TestLoadImageInputType: Load checks the image input of every graph that
// takes one against image.input: float32 rank 4 for float32_nchw, uint8
// rank 4 for uint8_nhwc.
func TestLoadImageInputType(t *testing.T) {
	ft, fc, err := tiny.WriteBundles(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ut, uc, err := tiny.WriteBundles(t.TempDir(), &tiny.BundleOptions{UInt8Input: true})
	if err != nil {
		t.Fatal(err)
	}
	setInput := func(v string) func(m *bundle.Manifest) { return func(m *bundle.Manifest) { m.Image.Input = v } }
	tests := []struct {
		name string
		src  *bundle.Bundle
		edit func(m *bundle.Manifest)
		want []string // substrings of the error; none means it loads
	}{
		{name: "uint8 teacher", src: ut},
		{name: "uint8 clip", src: uc},
		{name: "float teacher, explicit float32_nchw", src: ft, edit: setInput(bundle.InputFloat32NCHW)},
		{name: "float teacher declared uint8", src: ft, edit: setInput(bundle.InputUInt8NHWC),
			want: []string{`model.onnx: input "pixel_values" has element type FLOAT, want UINT8 (image.input is uint8_nhwc)`}},
		{name: "uint8 teacher declared float", src: ut, edit: setInput(""),
			want: []string{`model.onnx: input "pixel_values" has element type UINT8, want FLOAT (image.input is float32_nchw)`}},
		{name: "uint8 clip declared float", src: uc, edit: setInput(bundle.InputFloat32NCHW),
			want: []string{`image.onnx: input "pixel_values" has element type UINT8, want FLOAT`, `region.onnx: input "pixel_values" has element type UINT8, want FLOAT`}},
		{name: "float clip declared uint8", src: fc, edit: setInput(bundle.InputUInt8NHWC),
			want: []string{`image.onnx: input "pixel_values" has element type FLOAT, want UINT8`, `region.onnx: input "pixel_values" has element type FLOAT, want UINT8`}},
		{name: "uint8 image role on a rank-2 int64 tensor", src: ut, edit: func(m *bundle.Manifest) {
			m.Inputs[bundle.InImage], m.Inputs[bundle.InInputIDs] = "input_ids", "pixel_values"
		}, want: []string{`input "input_ids" has element type INT64, want UINT8 (image.input is uint8_nhwc)`, `input "input_ids" has rank 2, want 4`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.src.Dir
			if tt.edit != nil {
				dir = copyBundle(t, tt.src.Dir, tt.edit)
			}
			_, err := bundle.Load(dir, tt.src.Manifest.Kind)
			if len(tt.want) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, bundle.ErrInvalid) {
				t.Fatalf("error %v, want ErrInvalid", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
