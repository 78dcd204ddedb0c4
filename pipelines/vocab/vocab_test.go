package vocab_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/parquet-go/parquet-go"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/clip"
	"github.com/groundbeam/groundbeam/pipelines/vocab"
	"github.com/groundbeam/groundbeam/schemas"
)

func TestMain(m *testing.M) { ptest.Main(m) }

func TestParseNames(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr string
	}{
		{name: "one per line", in: "cat\ndog\ntraffic light\n", want: []string{"cat", "dog", "traffic light"}},
		{name: "no final newline", in: "cat\ndog", want: []string{"cat", "dog"}},
		{name: "CRLF, BOM and spaces", in: "\uFEFFcat\r\n  dog \r\n", want: []string{"cat", "dog"}},
		{name: "duplicates allowed", in: "cat\ncat\n", want: []string{"cat", "cat"}},
		{name: "blank line", in: "cat\n\ndog\n", wantErr: "line 2 is blank"},
		{name: "trailing blank lines", in: "cat\ndog\n\n \n", want: []string{"cat", "dog"}},
		{name: "blank lines then a name", in: "cat\n\n\ndog\n", wantErr: "line 2 is blank"},
		{name: "white space only", in: "cat\n \t\ndog\n", wantErr: "line 2 is blank"},
		{name: "not UTF-8", in: "cat\n\xff\xfe\n", wantErr: "line 2 is not valid UTF-8"},
		{name: "empty file", in: "", wantErr: "has no names"},
		{name: "blank file", in: "\n\n", wantErr: "has no names"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := vocab.ParseNames(strings.NewReader(tt.in), "names.txt")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "names.txt") {
					t.Fatalf("err %v, want one naming names.txt and saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestDuplicates(t *testing.T) {
	tests := []struct {
		name  string
		names []string
		want  []vocab.Duplicate
	}{
		{"none", []string{"cat", "dog"}, nil},
		{"exact", []string{"cat", "dog", "cat"}, []vocab.Duplicate{{Name: "cat", LabelIDs: []int{0, 2}}}},
		{"same prompt", []string{"Traffic_light", "dog", "traffic light", "dog."},
			[]vocab.Duplicate{{Name: "Traffic_light", LabelIDs: []int{0, 2}}, {Name: "dog", LabelIDs: []int{1, 3}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := vocab.Duplicates(tt.names); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseTemplates(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    []string
		wantErr string
	}{
		{name: "two", in: "a photo of {article} {}.\nthe {}.\n", want: []string{"a photo of {article} {}.", "the {}."}},
		{name: "blank lines skipped", in: "\na {}.\r\n\n", want: []string{"a {}."}},
		{name: "no placeholder", in: "a {}.\na photo of {article}.\n", wantErr: "line 2"},
		{name: "empty", in: "\n\n", wantErr: "has no templates"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := vocab.ParseTemplates(strings.NewReader(tt.in), "tpl.txt")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// readVocab reads every file of OUT/vocab, checking each file's own
// schema against the row type.
func readVocab(t *testing.T, out string) (rows []schemas.VocabRow, files []string) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(out, vocab.Table, "*"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(paths)
	for _, p := range paths {
		files = append(files, filepath.Base(p))
		got, err := parquet.ReadFile[schemas.VocabRow](p)
		if err != nil {
			t.Fatalf("read %s: %v", p, err)
		}
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		st, _ := f.Stat()
		pf, err := parquet.OpenFile(f, st.Size())
		if err != nil {
			t.Fatal(err)
		}
		if got, want := fmt.Sprint(schemas.ColumnsOf(pf.Schema())), fmt.Sprint(schemas.Columns(schemas.VocabRow{})); got != want {
			t.Errorf("%s has columns %s, want %s", p, got, want)
		}
		if v, _ := pf.Lookup(schemas.MetaTemplates); v == "" {
			t.Errorf("%s has no %s metadata", p, schemas.MetaTemplates)
		}
		f.Close()
		rows = append(rows, got...)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].LabelID < rows[j].LabelID })
	return rows, files
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

// manyNames makes n distinct names, each an adjective and a noun. (The
// tiny text tower averages token embeddings, so names that are the same
// bag of tokens, such as "object 1190" and "object 1019" in digit tokens,
// embed alike; these never are.)
func manyNames(n int) []string {
	adjs := strings.Fields(`red green blue yellow black white brown pink purple orange grey golden silver wooden
		plastic metal glass paper small large tiny huge old new broken clean dirty wet dry hot cold soft hard round square`)
	nouns := strings.Fields(`cat dog horse cow sheep bird fish car truck bus train boat plane bicycle chair table
		bed sofa lamp clock vase bottle cup bowl spoon knife fork plate apple banana orange pizza cake sandwich phone`)
	out := make([]string, 0, n)
	for _, a := range adjs {
		for _, b := range nouns {
			if len(out) == n {
				return out
			}
			out = append(out, a+" "+b)
		}
	}
	panic(fmt.Sprintf("manyNames: at most %d names", len(adjs)*len(nouns)))
}

// TestVocab runs the job on Prism and checks the rows against the text
// encoder called directly.
func TestVocab(t *testing.T) {
	testenv.InitORT(t)
	_, clipDir := testenv.Bundles(t, nil)
	cb, err := bundle.Load(clipDir, bundle.KindCLIP)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := clip.OpenText(cb, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	tests := []struct {
		name      string
		names     []string
		templates []string
		chunk     int
		files     int
		dups      int
	}{
		{name: "names in three files", names: []string{"cat", "dog", "traffic_light", "Cat", "bow_(weapon)", "aeroplane", "person", "bicycle", "zebra", "car"},
			chunk: 4, files: 3, dups: 1},
		{name: "own templates", names: []string{"cat", "dog", "bird"}, templates: []string{"a photo of {article} {}.", "a drawing of the {}."}, files: 1},
		{name: "1,203 names (LVIS size)", names: manyNames(1203), files: 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			res, err := vocab.Run(context.Background(), vocab.Config{Names: tt.names, Templates: tt.templates, CLIP: clipDir,
				Output: out, OrtLib: testenv.ORTLib(t), ChunkSize: tt.chunk})
			if err != nil {
				t.Fatal(err)
			}
			tpls := tt.templates
			if tpls == nil {
				tpls = clip.ViLDTemplates()
			}
			if res.Plan.Templates != len(tpls) || len(res.Plan.Duplicates) != tt.dups {
				t.Errorf("plan %+v, want %d templates and %d duplicates", res.Plan, len(tpls), tt.dups)
			}
			rows, files := readVocab(t, out)
			if len(files) != tt.files || len(res.Manifest.Files) != tt.files {
				t.Errorf("files %v (manifest %d), want %d", files, len(res.Manifest.Files), tt.files)
			}
			if len(rows) != len(tt.names) || res.Manifest.Names != len(tt.names) {
				t.Fatalf("%d rows (manifest %d), want one per name (%d)", len(rows), res.Manifest.Names, len(tt.names))
			}
			if !reflect.DeepEqual(res.Manifest.Templates, tpls) {
				t.Errorf("manifest templates %q", res.Manifest.Templates)
			}
			if res.Counters["names"] != int64(len(tt.names)) || res.Counters["prompts"] != int64(len(tt.names)*len(tpls)) {
				t.Errorf("counters %v", res.Counters)
			}
			want, err := enc.EmbedNames(context.Background(), tt.names, tpls)
			if err != nil {
				t.Fatal(err)
			}
			same := map[string]int{}
			for i, r := range rows {
				if r.LabelID != int32(i) || r.Name != tt.names[i] {
					t.Fatalf("row %d: label %d %q, want %d %q", i, r.LabelID, r.Name, i, tt.names[i])
				}
				if r.CLIP != cb.Identity || r.Templates != int32(len(tpls)) || r.SchemaVersion != schemas.Version {
					t.Errorf("row %d: provenance %q, %d templates, version %d", i, r.CLIP, r.Templates, r.SchemaVersion)
				}
				if n := norm(r.Embedding); math.Abs(n-1) > 1e-5 {
					t.Errorf("row %d: norm %v", i, n)
				}
				if d := maxDiff(r.Embedding, want[i]); d > 1e-5 {
					t.Errorf("row %d: differs from EmbedNames by %g", i, d)
				}
				k := clip.Prompt("{}", r.Name)
				if j, ok := same[k]; ok {
					if d := maxDiff(r.Embedding, rows[j].Embedding); d > 1e-6 {
						t.Errorf("%q and %q give the same prompts but embeddings %g apart", r.Name, rows[j].Name, d)
					}
					continue
				}
				same[k] = i
				for _, j := range same {
					if j != i && maxDiff(r.Embedding, rows[j].Embedding) < 1e-4 {
						t.Errorf("%q and %q have the same embedding", r.Name, rows[j].Name)
					}
				}
			}
		})
	}
}

// TestVocabRerun checks that a second run into the same folder leaves
// only its own files, and touches nothing else there.
func TestVocabRerun(t *testing.T) {
	_, clipDir := testenv.Bundles(t, nil)
	out := t.TempDir()
	other := filepath.Join(out, "labels", "shard-00000.parquet")
	if err := os.MkdirAll(filepath.Dir(other), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(other, []byte("not ours"), 0o644); err != nil {
		t.Fatal(err)
	}
	tpls := []string{"a photo of {article} {}."}
	for _, run := range []struct {
		names []string
		files int
	}{
		{manyNames(10), 5},
		{[]string{"cat", "dog", "bird"}, 2},
	} {
		res, err := vocab.Run(context.Background(), vocab.Config{Names: run.names, Templates: tpls, CLIP: clipDir, Output: out,
			OrtLib: testenv.ORTLib(t), ChunkSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		rows, files := readVocab(t, out)
		if len(files) != run.files || len(rows) != len(run.names) || len(res.Manifest.Files) != run.files {
			t.Errorf("%d names: files %v with %d rows, manifest %d files", len(run.names), files, len(rows), len(res.Manifest.Files))
		}
	}
	if raw, err := os.ReadFile(other); err != nil || string(raw) != "not ours" {
		t.Errorf("another table's file changed: %q, %v", raw, err)
	}
}

func TestBuildErrors(t *testing.T) {
	_, clipDir := testenv.Bundles(t, nil)
	out := t.TempDir()
	lib := testenv.ORTLib(t)
	tests := []struct {
		name    string
		cfg     vocab.Config
		wantErr string
	}{
		{"no output", vocab.Config{Names: []string{"cat"}, CLIP: clipDir, OrtLib: lib}, "no output"},
		{"no names", vocab.Config{CLIP: clipDir, Output: out, OrtLib: lib}, "no class names"},
		{"blank name", vocab.Config{Names: []string{"cat", " "}, CLIP: clipDir, Output: out, OrtLib: lib}, "class name 1"},
		{"template without {}", vocab.Config{Names: []string{"cat"}, Templates: []string{"a photo"}, CLIP: clipDir, Output: out, OrtLib: lib}, "has no {}"},
		{"missing bundle", vocab.Config{Names: []string{"cat"}, CLIP: filepath.Join(out, "nope"), Output: out, OrtLib: lib}, "no model.json"},
		{"missing library", vocab.Config{Names: []string{"cat"}, CLIP: clipDir, Output: out, OrtLib: "/nonexistent/lib.so"}, "onnx runtime library not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := vocab.Build(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err %v, want %q", err, tt.wantErr)
			}
		})
	}
}
