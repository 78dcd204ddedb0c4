package bundle_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/groundbeam/groundbeam/model/bundle"
)

const hash = "0000000000000000000000000000000000000000000000000000000000000000"

// clipManifest is a CLIP manifest with every graph and a fixture image.
func clipManifest() *bundle.Manifest {
	return &bundle.Manifest{
		FormatVersion: bundle.FormatVersion, Name: "c", Kind: bundle.KindCLIP, EmbeddingDim: 2,
		ImageONNX: "image.onnx", TextONNX: "text.onnx", RegionONNX: "region.onnx", Fixtures: bundle.FixturesFile,
		Files: map[string]string{"image.onnx": hash, "text.onnx": hash, "region.onnx": hash, bundle.FixturesFile: hash,
			"fixtures/a.png": hash},
		Outputs: map[string]string{bundle.OutImageEmbeds: "ie", bundle.OutTextEmbeds: "te", bundle.OutRegionEmbeds: "re"},
	}
}

// fixturesDoc is a valid fixtures.json as a generic JSON object, for tests
// to break.
func fixturesDoc() map[string]any {
	return map[string]any{
		"format_version": 1,
		"source":         "test",
		"tolerance":      0.001,
		"parity":         map[string]any{"image_embeds": 2e-6},
		"tokens":         []any{map[string]any{"text": "a cat", "ids": []any{49406, 320, 2368, 49407}}},
		"cases": []any{
			map[string]any{"name": "image0", "graph": "image", "image": "fixtures/a.png", "output": "image_embeds",
				"shape": []any{1, 2}, "values": []any{0.5, -0.25}},
			map[string]any{"name": "text0", "graph": "text", "text": "a cat", "output": "text_embeds",
				"shape": []any{1, 2}, "values": []any{0.5, -0.25}, "tolerance": 0.01},
			map[string]any{"name": "region0", "graph": "region", "image": "fixtures/a.png", "boxes": []any{[]any{1, 2, 30, 40}},
				"output": "region_embeds", "shape": []any{1, 2}, "values": []any{0.5, -0.25}},
		},
	}
}

func TestParseFixtures(t *testing.T) {
	raw, err := json.Marshal(fixturesDoc())
	if err != nil {
		t.Fatal(err)
	}
	f, err := bundle.ParseFixtures(raw, clipManifest())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Tokens) != 1 || len(f.Cases) != 3 || f.Tolerance != 0.001 || f.Parity["image_embeds"] != 2e-6 {
		t.Errorf("parsed %+v", f)
	}
	if got := f.CaseTolerance(f.Cases[0]); got != 0.001 {
		t.Errorf("image0 tolerance %v, want the file's 0.001", got)
	}
	if got := f.CaseTolerance(f.Cases[1]); got != 0.01 {
		t.Errorf("text0 tolerance %v, want its own 0.01", got)
	}
	if b := f.Cases[2].Boxes; len(b) != 1 || b[0][3] != 40 {
		t.Errorf("region0 boxes %v", b)
	}
}

func TestParseFixturesInvalid(t *testing.T) {
	type doc = map[string]any
	caseOf := func(d doc, i int) doc { return d["cases"].([]any)[i].(doc) }
	tests := []struct {
		name     string
		edit     func(d doc, m *bundle.Manifest)
		raw      string // replaces the document when set
		contains string
	}{
		{name: "bad JSON", raw: `{"format_version": 1, "tolerance": `, contains: "bad JSON: unexpected end of JSON input"},
		{name: "unknown field", edit: func(d doc, _ *bundle.Manifest) { caseOf(d, 0)["tolerence"] = 0.1 }, contains: `unknown field "tolerence"`},
		{name: "version", edit: func(d doc, _ *bundle.Manifest) { d["format_version"] = 2 }, contains: "format_version 2"},
		{name: "no tolerance", edit: func(d doc, _ *bundle.Manifest) { delete(d, "tolerance") }, contains: "tolerance is missing"},
		{name: "negative tolerance", edit: func(d doc, _ *bundle.Manifest) { d["tolerance"] = -1 }, contains: "tolerance -1"},
		{name: "negative case tolerance", edit: func(d doc, _ *bundle.Manifest) { caseOf(d, 1)["tolerance"] = -0.5 }, contains: `case "text0": tolerance -0.5`},
		{name: "negative parity", edit: func(d doc, _ *bundle.Manifest) { d["parity"] = doc{"x": -1} }, contains: `parity "x"`},
		{name: "nothing", edit: func(d doc, _ *bundle.Manifest) { delete(d, "tokens"); delete(d, "cases") }, contains: "no tokens and no cases"},
		{name: "token without ids", edit: func(d doc, _ *bundle.Manifest) { d["tokens"] = []any{doc{"text": "x"}} }, contains: `tokens[0] ("x") has no ids`},
		{name: "unnamed case", edit: func(d doc, _ *bundle.Manifest) { delete(caseOf(d, 0), "name") }, contains: "cases[0] has no name"},
		{name: "duplicate name", edit: func(d doc, _ *bundle.Manifest) { caseOf(d, 1)["name"] = "image0" }, contains: `case "image0": the name is used twice`},
		{name: "unknown graph", edit: func(d doc, _ *bundle.Manifest) { caseOf(d, 0)["graph"] = "vision" }, contains: `case "image0": graph "vision"`},
		{name: "graph of the other kind", edit: func(d doc, _ *bundle.Manifest) { caseOf(d, 0)["graph"] = "grounding" }, contains: "this clip bundle has no such graph"},
		{name: "graph the bundle lacks", edit: func(_ doc, m *bundle.Manifest) { m.RegionONNX = "" }, contains: `case "region0": graph "region"`},
		{name: "unknown output role", edit: func(d doc, _ *bundle.Manifest) { caseOf(d, 0)["output"] = "logits" }, contains: `output "logits" is not an output of the image graph`},
		{name: "unmapped output role", edit: func(_ doc, m *bundle.Manifest) { delete(m.Outputs, bundle.OutTextEmbeds) }, contains: `output "text_embeds": model.json's outputs`},
		{name: "image case without image", edit: func(d doc, _ *bundle.Manifest) { delete(caseOf(d, 0), "image") }, contains: "the image graph needs an image"},
		{name: "text case with image", edit: func(d doc, _ *bundle.Manifest) { caseOf(d, 1)["image"] = "fixtures/a.png" }, contains: "the text graph takes no image"},
		{name: "image case with text", edit: func(d doc, _ *bundle.Manifest) { caseOf(d, 0)["text"] = "x" }, contains: "the image graph takes no text"},
		{name: "region without boxes", edit: func(d doc, _ *bundle.Manifest) { delete(caseOf(d, 2), "boxes") }, contains: "the region graph needs boxes"},
		{name: "box of three", edit: func(d doc, _ *bundle.Manifest) { caseOf(d, 2)["boxes"] = []any{[]any{1, 2, 3}} }, contains: "boxes[0] has 3 numbers"},
		{name: "unlisted image", edit: func(d doc, _ *bundle.Manifest) { caseOf(d, 0)["image"] = "fixtures/b.png" }, contains: "image fixtures/b.png is not in model.json's files"},
		{name: "no shape", edit: func(d doc, _ *bundle.Manifest) { delete(caseOf(d, 0), "shape") }, contains: "shape is missing"},
		{name: "shape and values disagree", edit: func(d doc, _ *bundle.Manifest) { caseOf(d, 0)["shape"] = []any{1, 3} }, contains: "shape [1 3] does not fit its 2 values"},
		{name: "too few values", edit: func(d doc, _ *bundle.Manifest) { caseOf(d, 0)["values"] = []any{0.5} }, contains: "does not fit its 1 values"},
		{name: "zero dimension", edit: func(d doc, _ *bundle.Manifest) { caseOf(d, 0)["shape"] = []any{0, 2} }, contains: "shape [0 2]"},
		{name: "shape too small", edit: func(d doc, _ *bundle.Manifest) { caseOf(d, 0)["shape"] = []any{1, 1} }, contains: "shape [1 1] holds a different number"},
		{name: "value over float32", edit: func(d doc, _ *bundle.Manifest) { caseOf(d, 0)["values"] = []any{1e40, 0} }, contains: "float32"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, m := fixturesDoc(), clipManifest()
			raw := []byte(tc.raw)
			if tc.edit != nil {
				tc.edit(d, m)
				var err error
				if raw, err = json.Marshal(d); err != nil {
					t.Fatal(err)
				}
			}
			_, err := bundle.ParseFixtures(raw, m)
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, bundle.ErrInvalid) || !strings.Contains(err.Error(), tc.contains) {
				t.Errorf("error %q, want ErrInvalid containing %q", err, tc.contains)
			}
		})
	}
}

func TestLoadFixturesMissing(t *testing.T) {
	dir := t.TempDir()
	m := clipManifest()
	b := &bundle.Bundle{Dir: dir, Manifest: *m}
	if _, err := bundle.LoadFixtures(b); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing fixtures file: error %v", err)
	}
	b.Manifest.Fixtures = ""
	if _, err := bundle.LoadFixtures(b); !errors.Is(err, bundle.ErrNoFixtures) {
		t.Errorf("no fixtures: error %v, want ErrNoFixtures", err)
	}
	raw, err := json.Marshal(fixturesDoc())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, bundle.FixturesFile), raw, 0o644); err != nil {
		t.Fatal(err)
	}
	b.Manifest.Fixtures = bundle.FixturesFile
	if f, err := bundle.LoadFixtures(b); err != nil || len(f.Cases) != 3 {
		t.Errorf("LoadFixtures: %v, %v", f, err)
	}
}

// TestManifestFixturesListed checks that model.json's fixtures file must
// be one of its files, like every file it names.
func TestManifestFixturesListed(t *testing.T) {
	m := clipManifest()
	delete(m.Files, bundle.FixturesFile)
	raw, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bundle.ParseManifest(raw); err == nil || !strings.Contains(err.Error(), "fixtures names fixtures.json, which is not in files") {
		t.Errorf("error %v", err)
	}
}
