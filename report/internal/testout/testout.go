// Package testout builds small groundbeam output folders for the report
// packages' tests: real images in WebDataset tar shards (from sampleset)
// and Parquet label and error rows pointing at them.
package testout

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/parquet-go/parquet-go"

	"github.com/groundbeam/groundbeam/sampleset"
	"github.com/groundbeam/groundbeam/schemas"
	"github.com/groundbeam/groundbeam/transforms/sink"
)

// Options shapes the corpus.
type Options struct {
	// Pairs is the number of images (default 10), split over two shards.
	Pairs int
	// Side fixes every image to Side×Side pixels; 0 varies the size.
	Side int
	// Vocabulary writes class-name boxes (label_id ≥ 0) instead of
	// caption phrases.
	Vocabulary bool
	// Manifest writes OUT/_manifest.json, listing the files written.
	Manifest bool
	// Stale, with Manifest, also writes a labels and an errors file that
	// the manifest does not list, as an earlier run into the folder
	// leaves them: readers must skip them.
	Stale bool
	// Missing points the last row's source at a member that is not in
	// its shard.
	Missing bool
}

// Corpus is a written output folder and what was written into it.
type Corpus struct {
	Out    string             // the output folder
	Pairs  []sampleset.Pair   // the images and captions in the shards
	Labels []schemas.LabelRow // every committed label row
	Errors []schemas.ErrorRow // every committed error row
}

// Kinds are the vocabulary's class names, in label_id order.
var Kinds = []string{"square", "circle", "triangle", "stripe"}

// Build writes a corpus into a fresh temporary folder. Row 0 has exactly
// one box; row 3 has none; row 1 has an extra box partly outside the
// image; phrases of row 2 are upper-cased. Rows are written in reverse
// key order within each file, and an uncommitted ".tmp-" file holding
// junk rows sits next to them.
func Build(t testing.TB, opts Options) *Corpus {
	t.Helper()
	if opts.Pairs == 0 {
		opts.Pairs = 10
	}
	dir := t.TempDir()
	pairs, err := sampleset.Pairs(&sampleset.Options{Pairs: opts.Pairs, Width: opts.Side, Height: opts.Side, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	c := &Corpus{Out: filepath.Join(dir, "out"), Pairs: pairs}
	half := len(pairs) / 2
	var files []sink.FileInfo
	groups := [][]sampleset.Pair{pairs[:half], pairs[half:]}
	for s, group := range groups {
		shard := filepath.Join(dir, "shards", sampleset.ShardName(s))
		var buf bytes.Buffer
		if err := sampleset.WriteTar(&buf, group); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Dir(shard), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(shard, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		var rows []schemas.LabelRow
		for j := len(group) - 1; j >= 0; j-- {
			i := s*half + j
			rows = append(rows, row(t, shard, i, group[j], opts, i == len(pairs)-1 && opts.Missing))
		}
		name := strings.TrimSuffix(sampleset.ShardName(s), ".tar") + ".parquet"
		write(t, filepath.Join(c.Out, "labels", name), rows)
		c.Labels = append(c.Labels, rows...)
		files = append(files, sink.FileInfo{Table: sink.TableLabels, Path: "labels/" + name, Shard: shard, Rows: int64(len(rows))})

		errs := []schemas.ErrorRow{
			{Key: fmt.Sprintf("bad%d", s), Source: shard + "#bad.jpg", Shard: shard, Stage: schemas.StageDecode, Reason: "image: unknown format", SchemaVersion: 1},
			{Key: fmt.Sprintf("empty%d", s), Source: shard + "#empty.txt", Shard: shard, Stage: schemas.StageRead, Reason: "empty caption", SchemaVersion: 1},
		}
		if s == 1 {
			errs = append(errs, schemas.ErrorRow{Source: shard, Shard: shard, Stage: schemas.StageRead, Reason: "empty caption", SchemaVersion: 1})
		}
		write(t, filepath.Join(c.Out, "errors", name), errs)
		c.Errors = append(c.Errors, errs...)
		files = append(files, sink.FileInfo{Table: sink.TableErrors, Path: "errors/" + name, Shard: shard, Rows: int64(len(errs))})
	}
	// An uncommitted attempt: must never be read.
	junk := []schemas.LabelRow{{Key: "junk", Source: "nowhere", Width: 1, Height: 1,
		Boxes: []schemas.Box{{XYXY: []float32{0, 0, 1, 1}, Phrase: "junk", LabelID: -1}}}}
	write(t, filepath.Join(c.Out, "labels", ".tmp-shard-00002.parquet.attempt1"), junk)
	write(t, filepath.Join(c.Out, "errors", ".tmp-shard-00002.parquet.attempt1"), []schemas.ErrorRow{{Stage: "junk"}})
	if opts.Manifest {
		if opts.Stale {
			write(t, filepath.Join(c.Out, "labels", "shard-00009.parquet"), junk)
			write(t, filepath.Join(c.Out, "errors", "shard-00009.parquet"), []schemas.ErrorRow{{Stage: "junk"}})
		}
		m := sink.Manifest{SchemaVersion: 1, Files: files}
		m.Totals.Labelled = int64(len(c.Labels))
		m.Totals.Rejected = int64(len(c.Errors))
		m.Totals.InputPairs = m.Totals.Labelled + m.Totals.Rejected
		for _, r := range c.Labels {
			m.Totals.Boxes += int64(len(r.Boxes))
		}
		raw, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(c.Out, sink.ManifestFile), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

// row makes the label row of pair i with one box per drawn object.
func row(t testing.TB, shard string, i int, p sampleset.Pair, opts Options, missing bool) schemas.LabelRow {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(p.Image))
	if err != nil {
		t.Fatal(err)
	}
	member := p.Key + "." + p.Ext
	if missing {
		member = "no-such-member.jpg"
	}
	r := schemas.LabelRow{
		Key: p.Key, Source: shard + "#" + member, Shard: shard,
		Width: int32(cfg.Width), Height: int32(cfg.Height), Caption: p.Caption,
		Teacher: "tiny@0000", CLIP: "clip@0000", ParamsHash: "p", SchemaVersion: 1,
	}
	objs := p.Objects
	switch i {
	case 0:
		objs = objs[:1]
	case 3:
		objs = nil
	}
	for j, o := range objs {
		b := schemas.Box{
			XYXY:      []float32{float32(o.X0), float32(o.Y0), float32(o.X1), float32(o.Y1)},
			Score:     float32(95-10*j-i) / 100,
			Phrase:    o.Name,
			LabelID:   -1,
			CharStart: -1, CharEnd: -1,
			Embedding: []float32{0.6, 0.8},
			ClipScore: new(float32(20+5*j) / 100),
		}
		if opts.Vocabulary {
			kind := o.Name[strings.LastIndex(o.Name, " ")+1:]
			for id, k := range Kinds {
				if k == kind {
					b.Phrase, b.LabelID = k, int32(id)
				}
			}
		} else if at := strings.Index(p.Caption, o.Name); at >= 0 {
			b.CharStart = int32(utf8.RuneCountInString(p.Caption[:at]))
			b.CharEnd = b.CharStart + int32(utf8.RuneCountInString(o.Name))
		}
		if i == 2 {
			b.Phrase = strings.ToUpper(b.Phrase)
		}
		r.Boxes = append(r.Boxes, b)
	}
	if i == 1 && len(r.Boxes) > 0 {
		b := r.Boxes[0]
		b.XYXY = []float32{float32(cfg.Width) * 0.6, -5, float32(cfg.Width) + 20, float32(cfg.Height) * 0.3}
		b.Score = 0.31
		r.Boxes = append(r.Boxes, b)
	}
	return r
}

func write[T any](t testing.TB, name string, rows []T) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := parquet.WriteFile(name, rows); err != nil {
		t.Fatal(err)
	}
}
