package main

import (
	"bytes"
	"encoding/json"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/sampleset"
)

// cliCase is one run of the command line and what it must print.
type cliCase struct {
	name    string
	args    []string
	code    int
	stdout  []string // substrings of stdout
	stderr  []string // substrings of stderr
	oneLine bool     // stderr is exactly one line
}

func runCLICases(t *testing.T, tests []cliCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			tt.check(t, code, stdout.String(), stderr.String())
		})
	}
}

// check compares a command's exit code and output with what the case
// wants; no output may hold a Go stack.
func (tt cliCase) check(t *testing.T, code int, stdout, stderr string) {
	t.Helper()
	if code != tt.code {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout, stderr)
	}
	for _, s := range tt.stdout {
		if !strings.Contains(stdout, s) {
			t.Errorf("stdout %q lacks %q", stdout, s)
		}
	}
	for _, s := range tt.stderr {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr %q lacks %q", stderr, s)
		}
	}
	if tt.oneLine && strings.Count(stderr, "\n") != 1 {
		t.Errorf("stderr is not one line: %q", stderr)
	}
	if strings.Contains(stderr, "goroutine ") {
		t.Errorf("stack trace in stderr: %s", stderr)
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestVocabCLI(t *testing.T) {
	lib := testenv.ORTLib(t)
	_, clip := testenv.Bundles(t, nil)
	dir := t.TempDir()
	names := writeFile(t, dir, "names.txt", "cat\ndog\ntraffic light\nCat\n")
	blank := writeFile(t, dir, "blank.txt", "cat\n\ndog\n")
	tpls := writeFile(t, dir, "templates.txt", "a photo of {article} {}.\nthe {}.\n")
	badTpls := writeFile(t, dir, "bad.txt", "a photo of a\n")
	vocabArgs := func(extra ...string) []string {
		return append([]string{"vocab", "--clip", clip, "--ort-lib", lib, "--output", filepath.Join(t.TempDir(), "out")}, extra...)
	}
	runCLICases(t, []cliCase{
		{name: "ViLD templates, a duplicate", args: vocabArgs("--names", names), code: 0,
			stdout: []string{"embedded 4 names × 63 templates with clip-tiny@", "vocab/vocab-00000.parquet  4 rows", "_vocab_manifest.json"},
			stderr: []string{`warning: "cat" is on lines 1, 4 (label ids [0 3])`}},
		{name: "own templates, two files", args: vocabArgs("--names", names, "--templates", tpls, "--chunk-size", "2"), code: 0,
			stdout: []string{"embedded 4 names × 2 templates", "in 2 files"}},
		{name: "missing names file", args: vocabArgs("--names", filepath.Join(dir, "none.txt")), code: 1, oneLine: true,
			stderr: []string{"groundbeam vocab:", "none.txt", "no such file"}},
		{name: "blank name", args: vocabArgs("--names", blank), code: 1, oneLine: true, stderr: []string{"blank.txt", "line 2 is blank"}},
		{name: "template without {}", args: vocabArgs("--names", names, "--templates", badTpls), code: 1, oneLine: true,
			stderr: []string{"bad.txt", "line 1", "has no {}"}},
		{name: "missing bundle", args: append(vocabArgs("--names", names), "--clip", filepath.Join(dir, "nope")), code: 1, oneLine: true,
			stderr: []string{"nope", "no model.json"}},
		{name: "missing library", args: vocabArgs("--names", names, "--ort-lib", "/nonexistent/libonnxruntime.so.1"), code: 1, oneLine: true,
			stderr: []string{"onnx runtime library not found"}},
		{name: "no names flag", args: vocabArgs(), code: 2, oneLine: true, stderr: []string{"--names is required"}},
		{name: "help", args: []string{"vocab", "--help"}, code: 0, stderr: []string{"examples:", "--templates", "--runner"}},
	})
}

// writeCOCO writes n generated images under dir/images and an instances
// file naming them (one annotation per shape) and one missing image.
func writeCOCO(t *testing.T, dir string, n int) (instances, images string) {
	t.Helper()
	pairs, err := sampleset.Pairs(&sampleset.Options{Pairs: n, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	images = filepath.Join(dir, "images")
	if err := os.MkdirAll(images, 0o755); err != nil {
		t.Fatal(err)
	}
	doc := map[string][]map[string]any{"categories": {{"id": 1, "name": "shape"}}}
	for i, p := range pairs {
		cfg, _, err := image.DecodeConfig(bytes.NewReader(p.Image))
		if err != nil {
			t.Fatal(err)
		}
		file := p.Key + "." + p.Ext
		writeFile(t, images, file, string(p.Image))
		doc["images"] = append(doc["images"], map[string]any{"id": i + 1, "file_name": file, "width": cfg.Width, "height": cfg.Height})
		for _, o := range p.Objects {
			doc["annotations"] = append(doc["annotations"], map[string]any{"id": len(doc["annotations"]) + 1, "image_id": i + 1,
				"category_id": 1, "bbox": []int{o.X0, o.Y0, o.X1 - o.X0, o.Y1 - o.Y0}})
		}
	}
	doc["images"] = append(doc["images"], map[string]any{"id": n + 1, "file_name": "gone.jpg", "width": 10, "height": 10})
	doc["annotations"] = append(doc["annotations"], map[string]any{"id": 999, "image_id": n + 1, "category_id": 1, "bbox": []int{1, 1, 2, 2}})
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, "instances.json", string(raw)), images
}

func TestEmbedCLI(t *testing.T) {
	lib := testenv.ORTLib(t)
	teacher, clip := testenv.Bundles(t, nil)
	dir := t.TempDir()
	instances, images := writeCOCO(t, dir, 3)
	shards, prev := t.TempDir(), filepath.Join(t.TempDir(), "prev")
	if _, err := sampleset.WriteShards(shards, &sampleset.Options{Pairs: 4, Shards: 2, Seed: 6}); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"label", "--input", filepath.Join(shards, "*.tar"), "--output", prev, "--teacher", teacher,
		"--clip", clip, "--ort-lib", lib}, &stdout, &stderr); code != 0 {
		t.Fatalf("label: exit %d: %s", code, stderr.String())
	}
	out := func() string { return filepath.Join(t.TempDir(), "out") }
	runCLICases(t, []cliCase{
		{name: "coco", args: []string{"embed", "--coco", instances, "--images", images, "--clip", clip, "--ort-lib", lib,
			"--output", out(), "--scales", "1.0,1.5", "--batch-size", "2"}, code: 0,
			stdout: []string{"embedded 3 of 4 images (1 rejected)", "with clip-tiny@", "labels/instances-00000.parquet  3 rows", "_manifest.json"}},
		{name: "previous run, CPU crops", args: []string{"embed", "--input", prev, "--clip", clip, "--ort-lib", lib, "--output", out(), "--cpu-crops"},
			code: 0, stdout: []string{"embedded 4 of 4 images (0 rejected)", "in 2 units", "labels/shard-00000.parquet"}},
		{name: "missing bundle", args: []string{"embed", "--coco", instances, "--images", images, "--clip", filepath.Join(dir, "nope"),
			"--ort-lib", lib, "--output", out()}, code: 1, oneLine: true, stderr: []string{"groundbeam embed:", "nope", "no model.json"}},
		{name: "input is no run", args: []string{"embed", "--input", dir, "--clip", clip, "--ort-lib", lib, "--output", out()},
			code: 1, oneLine: true, stderr: []string{"is no finished run's output"}},
		{name: "missing coco file", args: []string{"embed", "--coco", filepath.Join(dir, "none.json"), "--images", images, "--clip", clip,
			"--ort-lib", lib, "--output", out()}, code: 1, oneLine: true, stderr: []string{"none.json"}},
		{name: "both inputs", args: []string{"embed", "--input", prev, "--coco", instances, "--images", images, "--clip", clip, "--output", out()},
			code: 2, oneLine: true, stderr: []string{"not both"}},
		{name: "coco without images", args: []string{"embed", "--coco", instances, "--clip", clip, "--output", out()},
			code: 2, oneLine: true, stderr: []string{"--coco needs --images"}},
		{name: "bad scales", args: []string{"embed", "--input", prev, "--clip", clip, "--output", out(), "--scales", "1,x"},
			code: 2, stderr: []string{"scale"}},
		{name: "no clip", args: []string{"embed", "--input", prev, "--output", out()}, code: 2, oneLine: true, stderr: []string{"--clip is required"}},
		{name: "help", args: []string{"embed", "--help"}, code: 0, stderr: []string{"examples:", "--coco", "--cpu-crops", "--runner"}},
	})
}
