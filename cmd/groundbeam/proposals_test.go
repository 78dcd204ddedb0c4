package main

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/model/clip"
	"github.com/groundbeam/groundbeam/sampleset"
	"github.com/groundbeam/groundbeam/schemas"
)

// TestLabelProposalsFloat16 runs label with --proposals, --max-proposals
// and --embedding-dtype float16 end to end and reads the Parquet back.
func TestLabelProposalsFloat16(t *testing.T) {
	lib := testenv.ORTLib(t)
	teacher, clipDir := testenv.Bundles(t, nil)
	shards := t.TempDir()
	opts := &sampleset.Options{Pairs: 3, Shards: 1, Seed: 5}
	if _, err := sampleset.WriteShards(shards, opts); err != nil {
		t.Fatal(err)
	}
	pairs, err := sampleset.Pairs(opts)
	if err != nil {
		t.Fatal(err)
	}
	// the first key gets 4 proposals (one degenerate), the second none
	var lines []string
	for _, l := range []any{
		map[string]any{"key": pairs[0].Key, "boxes": [][]float32{{-3, -3, 20, 20}, {5, 5, 5, 9}, {2, 2, 30, 40}, {1, 1, 9, 9}}},
		map[string]any{"key": "not-in-the-corpus", "boxes": [][]float32{{0, 0, 5, 5}}},
	} {
		b, _ := json.Marshal(l)
		lines = append(lines, string(b))
	}
	props := filepath.Join(t.TempDir(), "proposals.jsonl")
	if err := os.WriteFile(props, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	code := run([]string{"label", "--input", filepath.Join(shards, "*.tar"), "--output", out,
		"--teacher", teacher, "--clip", clipDir, "--ort-lib", lib, "--clip-scales", "1",
		"--proposals", props, "--max-proposals", "2", "--embedding-dtype", "float16"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	file := filepath.Join(out, "labels", "shard-00000.parquet")
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, _ := f.Stat()
	pf, err := parquet.OpenFile(f, st.Size())
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]string{}
	for _, c := range schemas.ColumnsOf(pf.Schema()) {
		have[c.Name] = c.Type
	}
	for _, c := range schemas.Columns(schemas.LabelRow{}) {
		if have[c.Name] != c.Type {
			t.Errorf("column %s is %q in the file, want %q", c.Name, have[c.Name], c.Type)
		}
	}
	rows, err := parquet.ReadFile[schemas.LabelRow](file)
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 3 {
		t.Fatalf("%d rows, want 3", len(rows))
	}
	proposals := 0
	for _, r := range rows {
		n := 0
		for _, b := range r.Boxes {
			if len(b.Embedding) != 0 || len(b.EmbeddingF16) == 0 {
				t.Fatalf("%s: %d float32 and %d float16 dims", r.Key, len(b.Embedding), len(b.EmbeddingF16))
			}
			var s float64
			for _, v := range clip.FromFloat16(b.EmbeddingF16) {
				s += float64(v) * float64(v)
			}
			if math.Abs(math.Sqrt(s)-1) > 1e-2 {
				t.Errorf("%s: embedding norm %g", r.Key, math.Sqrt(s))
			}
			switch b.Kind {
			case schemas.KindProposal:
				n++
				if b.Score != 0 || b.LabelID != -1 || b.Phrase != "" {
					t.Errorf("%s: proposal %+v", r.Key, b)
				}
			case schemas.KindTeacher:
			default:
				t.Errorf("%s: kind %q", r.Key, b.Kind)
			}
		}
		want := 0
		if r.Key == pairs[0].Key {
			want = 2
			if got := r.Boxes[len(r.Boxes)-2].XYXY; got[0] != 0 || got[1] != 0 || got[2] != 20 || got[3] != 20 {
				t.Errorf("first proposal %v, want clipped to [0 0 20 20]", got)
			}
		}
		if n != want {
			t.Errorf("%s: %d proposals, want %d", r.Key, n, want)
		}
		proposals += n
	}
	if proposals != 2 {
		t.Errorf("%d proposals in all, want 2", proposals)
	}

	// bad values are usage errors
	for _, args := range [][]string{{"--embedding-dtype", "bfloat16"}, {"--teacher-boxes=false"}, {"--max-proposals", "0"}} {
		stderr.Reset()
		all := append([]string{"label", "--input", filepath.Join(shards, "*.tar"), "--output", out + "2",
			"--teacher", teacher, "--clip", clipDir, "--ort-lib", lib}, args...)
		if code := run(all, &stdout, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", args, code, stderr.String())
		}
	}
}
