package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/ort"
	"github.com/groundbeam/groundbeam/sampleset"
	"github.com/groundbeam/groundbeam/schemas"
)

// brokenTeacher copies a teacher bundle (with its fixtures/ folder) and
// renames the image input in its model.json to a tensor the graph does not
// have.
func brokenTeacher(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
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
	m.Inputs[bundle.InImage] = "pixel_valuez"
	if raw, err = json.Marshal(m); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

func TestCLI(t *testing.T) {
	lib := testenv.ORTLib(t)
	teacher, clip := testenv.Bundles(t, nil)
	shards := t.TempDir()
	if _, err := sampleset.WriteShards(shards, &sampleset.Options{Pairs: 6, Shards: 2, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	// a CLIP bundle without its text tower
	cb, err := bundle.Load(clip, bundle.KindCLIP)
	if err != nil {
		t.Fatal(err)
	}
	imageOnly := testenv.RewriteBundle(t, cb, func(m *bundle.Manifest, files map[string][]byte) {
		delete(files, m.TextONNX)
		delete(m.Files, m.TextONNX)
		delete(files, bundle.FixturesFile)
		delete(m.Files, bundle.FixturesFile)
		m.TextONNX, m.Fixtures = "", ""
	}).Dir
	label := func(extra ...string) []string {
		args := map[string]string{"--input": filepath.Join(shards, "*.tar"), "--teacher": teacher, "--clip": clip, "--ort-lib": lib}
		var out []string
		for i := 0; i < len(extra); i += 2 {
			args[extra[i]] = extra[i+1]
		}
		out = append(out, "label", "--output", filepath.Join(t.TempDir(), "out"))
		for k, v := range args {
			if v != "" {
				out = append(out, k, v)
			}
		}
		return out
	}
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		code    int
		stdout  string // substring of stdout
		stderr  []string
		oneLine bool
	}{
		{name: "labels the corpus", args: label(), code: 0, stdout: "labelled 6 of 6 pairs (0 rejected)"},
		{name: "missing library", args: label("--ort-lib", "/nonexistent/libonnxruntime.so.1"), code: 1, oneLine: true,
			stderr: []string{"onnx runtime library not found", "/nonexistent/libonnxruntime.so.1"}},
		{name: "no library anywhere", args: label("--ort-lib", ""), code: 1, oneLine: true,
			env:    map[string]string{ort.LibraryEnv: "", "XDG_CACHE_HOME": empty, "HOME": empty},
			stderr: []string{"onnx runtime library not found", "make deps"}},
		{name: "missing bundle", args: label("--teacher", filepath.Join(empty, "nope")), code: 1, oneLine: true,
			stderr: []string{"nope", "no model.json"}},
		{name: "tensor the graph lacks", args: label("--teacher", brokenTeacher(t, teacher)), code: 1, oneLine: true,
			stderr: []string{`"pixel_valuez"`, "not in the graph"}},
		{name: "brace list naming a missing shard", args: label("--input", filepath.Join(shards, "shard-{00000..00002}.tar")), code: 0,
			stdout: "labelled 6 of 7 pairs (1 rejected)"},
		{name: "clip scores without a text tower", args: label("--clip", imageOnly), code: 1, oneLine: true,
			stderr: []string{"no text tower", "--clip-score=false"}},
		{name: "no clip scores without a text tower", args: append(label("--clip", imageOnly), "--clip-score=false"), code: 0,
			stdout: "labelled 6 of 6 pairs"},
		{name: "glob matches nothing", args: label("--input", filepath.Join(empty, "*.tar")), code: 1, oneLine: true,
			stderr: []string{"input matches nothing", empty}},
		{name: "missing flag", args: []string{"label", "--output", empty}, code: 2, oneLine: true, stderr: []string{"--input is required"}},
		{name: "unknown command", args: []string{"frobnicate"}, code: 2, stderr: []string{`unknown command "frobnicate"`}},
		{name: "flags after the folder", args: []string{"samples", filepath.Join(t.TempDir(), "s"), "--pairs", "4", "--shards", "2"}, code: 0, stdout: "4 pairs in 2 shards"},
		{name: "help", args: []string{"label", "--help"}, code: 0, stderr: []string{"examples:", "--teacher"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout.String(), stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tt.stdout)
			}
			for _, s := range tt.stderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr %q lacks %q", stderr.String(), s)
				}
			}
			if tt.oneLine && strings.Count(stderr.String(), "\n") != 1 {
				t.Errorf("stderr is not one line: %q", stderr.String())
			}
			if strings.Contains(stderr.String(), "goroutine ") {
				t.Errorf("stack trace in stderr: %s", stderr.String())
			}
		})
	}
}

// TestReportCommands runs stats, inspect and export coco on a labelled
// corpus; the packages behind them test their numbers in depth.
func TestReportCommands(t *testing.T) {
	lib := testenv.ORTLib(t)
	teacher, clip := testenv.Bundles(t, nil)
	shards, out, dir := t.TempDir(), filepath.Join(t.TempDir(), "out"), t.TempDir()
	if _, err := sampleset.WriteShards(shards, &sampleset.Options{Pairs: 6, Shards: 2, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"label", "--input", filepath.Join(shards, "*.tar"), "--output", out, "--teacher", teacher, "--clip", clip, "--ort-lib", lib}, &stdout, &stderr); code != 0 {
		t.Fatalf("label: exit %d: %s", code, stderr.String())
	}
	sheet, instances := filepath.Join(dir, "sheet.png"), filepath.Join(dir, "instances.json")
	tests := []struct {
		name   string
		args   []string
		stdout string
		file   string
	}{
		{"stats", []string{"stats", out, "--chart", filepath.Join(dir, "chart.png")}, "6", filepath.Join(dir, "chart.png")},
		{"stats as JSON", []string{"stats", out, "--json"}, `"rows": 6,`, ""},
		{"inspect", []string{"inspect", out, "--n", "4", "--out", sheet}, "contact sheet: " + sheet, filepath.Join(dir, "sheet.html")},
		{"export coco", []string{"export", "coco", out, "--out", instances}, "6 images", instances},
		{"export odvg", []string{"export", "odvg", out, "--out", filepath.Join(dir, "odvg"), "--images"}, "6 images",
			filepath.Join(dir, "odvg", "shard-00000.jsonl")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if code := run(tt.args, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if !strings.Contains(stdout.String(), tt.stdout) {
				t.Errorf("stdout %q lacks %q", stdout.String(), tt.stdout)
			}
			if tt.file == "" { // the output is stdout: one JSON object
				var v struct {
					Rows     int64 `json:"rows"`
					Manifest struct {
						Totals struct {
							Labelled int64 `json:"labelled"`
						} `json:"totals"`
					} `json:"manifest"`
				}
				if err := json.Unmarshal(stdout.Bytes(), &v); err != nil || v.Rows != 6 || v.Manifest.Totals.Labelled != 6 {
					t.Errorf("stats --json: %+v, %v", v, err)
				}
				return
			}
			if st, err := os.Stat(tt.file); err != nil || st.Size() == 0 {
				t.Errorf("%s not written: %v", tt.file, err)
			}
		})
	}
	var doc struct {
		Images []struct {
			ID int `json:"id"`
		} `json:"images"`
	}
	raw, err := os.ReadFile(instances)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil || len(doc.Images) != 6 {
		t.Errorf("instances.json: %d images, %v", len(doc.Images), err)
	}
}

// TestVocabularyMode labels with an LVIS-size vocabulary (1,203 names) and
// with the grounding-dino preset: every box's label id is in range and its
// phrase is that name.
func TestVocabularyMode(t *testing.T) {
	lib := testenv.ORTLib(t)
	teacher, clip := testenv.Bundles(t, nil)
	shards := t.TempDir()
	if _, err := sampleset.WriteShards(shards, &sampleset.Options{Pairs: 4, Shards: 1, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	colours := []string{"red", "green", "blue", "yellow", "orange", "purple", "cyan", "pink", "gray", "white", "black"}
	things := []string{"square", "circle", "triangle", "stripe", "background", "person", "car", "traffic light", "dog", "cat", "bicycle"}
	var names []string
	for i := 0; len(names) < 1203; i++ {
		n := colours[i%len(colours)] + " " + things[(i/len(colours))%len(things)]
		if i >= len(colours)*len(things) {
			n = fmt.Sprintf("%s %d", n, i)
		}
		names = append(names, n)
	}
	vocab := filepath.Join(t.TempDir(), "lvis.txt")
	if err := os.WriteFile(vocab, []byte(strings.Join(names, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	blank := filepath.Join(t.TempDir(), "blank.txt")
	os.WriteFile(blank, []byte("cat\n\ndog\n"), 0o644)
	tests := []struct {
		name  string
		extra []string
		code  int
		err   string
	}{
		// few boxes per image keep the CLIP side of the run short
		{name: "lvis-size vocabulary", extra: []string{"--vocab", vocab, "--top-k-large-vocab", "12", "--clip-scales", "1"}},
		{name: "grounding-dino preset", extra: []string{"--vocab", vocab, "--preset", "grounding-dino", "--top-k", "12", "--clip-scales", "1"}},
		{name: "blank line", extra: []string{"--vocab", blank}, code: 1, err: "line 2 is blank"},
		{name: "unknown preset", extra: []string{"--preset", "yolo"}, code: 2, err: "--preset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			args := append([]string{"label", "--input", filepath.Join(shards, "*.tar"), "--output", out,
				"--teacher", teacher, "--clip", clip, "--ort-lib", lib}, tt.extra...)
			var stdout, stderr bytes.Buffer
			code := run(args, &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d: %s", code, tt.code, stderr.String())
			}
			if tt.code != 0 {
				if !strings.Contains(stderr.String(), tt.err) {
					t.Errorf("stderr %q lacks %q", stderr.String(), tt.err)
				}
				return
			}
			rows, err := parquet.ReadFile[schemas.LabelRow](filepath.Join(out, "labels", "shard-00000.parquet"))
			if err != nil {
				t.Fatal(err)
			}
			boxes := 0
			for _, r := range rows {
				for _, b := range r.Boxes {
					boxes++
					if b.LabelID < 0 || int(b.LabelID) >= len(names) {
						t.Fatalf("%s: label id %d out of range", r.Key, b.LabelID)
					}
					if tt.name == "lvis-size vocabulary" && b.Phrase != names[b.LabelID] {
						t.Errorf("%s: phrase %q for label %d (%q)", r.Key, b.Phrase, b.LabelID, names[b.LabelID])
					}
				}
			}
			if len(rows) != 4 {
				t.Errorf("%d rows, want 4", len(rows))
			}
			if boxes == 0 {
				t.Error("no boxes")
			}
			if tt.name != "lvis-size vocabulary" {
				return
			}
			// The ODVG export finds the mode in the run's settings and
			// takes the vocabulary it was labelled with, not another.
			stdout.Reset()
			if code := run([]string{"export", "odvg", out, "--out", filepath.Join(t.TempDir(), "odvg"), "--vocab", vocab}, &stdout, &stderr); code != 0 {
				t.Fatalf("export odvg: exit %d: %s", code, stderr.String())
			}
			if !strings.Contains(stdout.String(), "(detection)") || !strings.Contains(stdout.String(), "label_map.json: 1203 classes") {
				t.Errorf("export odvg: %s", stdout.String())
			}
			stderr.Reset()
			other := filepath.Join(t.TempDir(), "other.txt")
			os.WriteFile(other, []byte("cat\ndog\n"), 0o644)
			if code := run([]string{"export", "odvg", out, "--out", filepath.Join(t.TempDir(), "odvg"), "--vocab", other}, &stdout, &stderr); code != 1 ||
				!strings.Contains(stderr.String(), "was labelled with 1203") {
				t.Errorf("export odvg with another vocabulary: exit %d: %s", code, stderr.String())
			}
		})
	}
}
