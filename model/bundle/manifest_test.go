package bundle_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/tiny"
)

// FuzzParseManifest feeds arbitrary bytes to ParseManifest, the model.json
// parser Load uses. It must not panic; it fails only with ErrInvalid; what
// it accepts names only plain files inside the bundle folder and survives a
// marshal/parse round trip unchanged. The committed corpus in
// testdata/fuzz/FuzzParseManifest (the tiny teacher's and CLIP's
// model.json and broken variants) runs as plain tests;
// GROUNDBEAM_WRITE_SEEDS=1 rewrites it.
func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"format_version":1,"name":"x","kind":"clip","files":{"a.onnx":"` + strings.Repeat("0", 64) + `"},"image_onnx":"a.onnx","embedding_dim":8}`))
	f.Add([]byte(`{"format_version":1,"name":"x","kind":"grounding","files":{"../m.onnx":"` + strings.Repeat("a", 64) + `"},"onnx":"../m.onnx"}`))
	f.Add([]byte(`{"format_version":1,"name":"x","kind":"clip","files":{"a.onnx":"` + strings.Repeat("0", 64) + `"},"image_onnx":"a.onnx","embedding_dim":8,"image":{"input":"uint8_nchw"}}`))
	f.Add([]byte(`{"format_version":1,"name":"x","kind":"clip","files":{"a.onnx":"` + strings.Repeat("0", 64) + `"},"image_onnx":"a.onnx","embedding_dim":8,"fixtures":"f.json"}`))
	f.Add([]byte(`{"format_version":1e400}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		m, err := bundle.ParseManifest(raw)
		if err != nil {
			if !errors.Is(err, bundle.ErrInvalid) {
				t.Fatalf("error does not wrap ErrInvalid: %v", err)
			}
			return
		}
		if m.FormatVersion != bundle.FormatVersion || m.Name == "" || (m.Kind != bundle.KindGrounding && m.Kind != bundle.KindCLIP) {
			t.Fatalf("accepted %+v", m)
		}
		for n := range m.Files {
			if !filepath.IsLocal(n) || filepath.Clean(n) != n {
				t.Fatalf("accepted file name %q", n)
			}
		}
		for _, n := range []string{m.ONNX, m.ImageONNX, m.TextONNX, m.RegionONNX, m.Text.Vocab} {
			if _, ok := m.Files[n]; n != "" && !ok {
				t.Fatalf("%q is named but not listed", n)
			}
		}
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := bundle.ParseManifest(again)
		if err != nil {
			t.Fatalf("re-marshalled manifest refused: %v\n%s", err, again)
		}
		if !reflect.DeepEqual(m, m2) {
			t.Fatalf("round trip changed the manifest:\n%+v\n%+v", m, m2)
		}
	})
}

// manifestSeeds are model.json texts: the tiny bundles' and variants.
func manifestSeeds(t testing.TB) map[string][]byte {
	teacher, clip, err := tiny.WriteBundles(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	read := func(b *bundle.Bundle) []byte {
		raw, err := os.ReadFile(filepath.Join(b.Dir, bundle.ManifestFile))
		if err != nil {
			t.Fatal(err)
		}
		return raw
	}
	edit := func(raw []byte, f func(m map[string]any)) []byte {
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	tr, cr := read(teacher), read(clip)
	return map[string][]byte{
		"teacher": tr,
		"clip":    cr,
		"teacher-traversal": edit(tr, func(m map[string]any) {
			files := m["files"].(map[string]any)
			files["../../etc/passwd"] = files["model.onnx"]
			m["onnx"] = "../../etc/passwd"
		}),
		"clip-absolute-vocab": edit(cr, func(m map[string]any) {
			m["files"].(map[string]any)["/dev/zero"] = strings.Repeat("0", 64)
			m["text"].(map[string]any)["vocab"] = "/dev/zero"
		}),
		"teacher-huge-image": edit(tr, func(m map[string]any) { m["image"].(map[string]any)["shortest_edge"] = 1 << 30 }),
		"truncated":          tr[:len(tr)/2],
	}
}

// TestWriteManifestSeeds rewrites the committed seed corpus when
// GROUNDBEAM_WRITE_SEEDS=1.
func TestWriteManifestSeeds(t *testing.T) {
	if os.Getenv("GROUNDBEAM_WRITE_SEEDS") != "1" {
		t.Skip("set GROUNDBEAM_WRITE_SEEDS=1 to rewrite testdata/fuzz/FuzzParseManifest")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParseManifest")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, raw := range manifestSeeds(t) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(raw)))
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestParseManifestHostile: a model.json cannot make Load read outside the
// bundle folder, nor hang on a device or FIFO.
func TestParseManifestHostile(t *testing.T) {
	seeds := manifestSeeds(t)
	for _, tt := range []struct {
		name, want string
	}{
		{"teacher-traversal", `"../../etc/passwd" is not a plain name`},
		{"clip-absolute-vocab", `"/dev/zero" is not a plain name`},
		{"teacher-huge-image", "image.shortest_edge 1073741824"},
		{"truncated", "model.json: unexpected end of JSON input"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bundle.ParseManifest(seeds[tt.name])
			if !errors.Is(err, bundle.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want ErrInvalid saying %q", err, tt.want)
			}
		})
	}
	for _, name := range []string{"teacher", "clip"} {
		if _, err := bundle.ParseManifest(seeds[name]); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}

	// A listed file that is a FIFO: refused, not read (reading it would
	// block for ever).
	teacher, _, err := tiny.WriteBundles(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	d := copyBundle(t, teacher.Dir, nil)
	os.Remove(filepath.Join(d, "vocab.txt"))
	if err := syscall.Mkfifo(filepath.Join(d, "vocab.txt"), 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if _, err := bundle.Load(d, bundle.KindGrounding); !errors.Is(err, bundle.ErrInvalid) || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("bundle with a FIFO: %v", err)
	}
}
