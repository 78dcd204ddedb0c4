package odvg_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/groundbeam/groundbeam/report"
	"github.com/groundbeam/groundbeam/report/coco"
	"github.com/groundbeam/groundbeam/report/odvg"
	"github.com/groundbeam/groundbeam/schemas"
	"github.com/groundbeam/groundbeam/transforms/sink"
)

// benchCorpus writes files labels files of rows rows each, 20 boxes a row
// with 512-d embeddings (a ViT-B CLIP's), and a manifest listing them.
func benchCorpus(b *testing.B, files, rows int) string {
	b.Helper()
	out := b.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	m := sink.Manifest{SchemaVersion: schemas.Version}
	for f := range files {
		name := fmt.Sprintf("shard-%05d.parquet", f)
		batch := make([]schemas.LabelRow, rows)
		for i := range batch {
			caption := "a photo of a dog and a red frisbee on the grass near a tree"
			r := schemas.LabelRow{Key: fmt.Sprintf("%09d", f*rows+i), Source: fmt.Sprintf("gs://b/%05d.tar#%09d.jpg", f, f*rows+i),
				Width: 640, Height: 480, Caption: caption, SchemaVersion: schemas.Version}
			for j := range 20 {
				emb := make([]float32, 512)
				for k := range emb {
					emb[k] = rng.Float32()
				}
				x, y := rng.Float32()*500, rng.Float32()*400
				span := [][2]int32{{9, 14}, {23, 36}, {44, 53}}[j%3]
				r.Boxes = append(r.Boxes, schemas.Box{XYXY: []float32{x, y, x + 100, y + 60}, Score: 0.3 + rng.Float32()*0.7,
					Phrase: caption[span[0]:span[1]], LabelID: -1, CharStart: span[0], CharEnd: span[1], Embedding: emb, Kind: schemas.KindTeacher})
			}
			batch[i] = r
		}
		path := filepath.Join(out, "labels", name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := parquet.WriteFile(path, batch, parquet.Compression(&parquet.Zstd)); err != nil {
			b.Fatal(err)
		}
		m.Files = append(m.Files, sink.FileInfo{Table: sink.TableLabels, Path: "labels/" + name, Rows: int64(rows)})
	}
	raw, _ := json.Marshal(m)
	if err := os.WriteFile(filepath.Join(out, sink.ManifestFile), raw, 0o644); err != nil {
		b.Fatal(err)
	}
	return out
}

// BenchmarkExport exports 4,000 labelled images (80,000 boxes with 512-d
// embeddings) to ODVG and to COCO, against reading the rows whole
// (ReadLabels, as the exports did before) and without the embeddings
// (ScanLabels, as they do): the projection's gain, and the exports' cost
// over the read they cannot avoid. Each reports rows/s.
func BenchmarkExport(b *testing.B) {
	const files, rows = 2, 2000
	out := benchCorpus(b, files, rows)
	ctx := context.Background()
	cases := []struct {
		name string
		run  func() error
	}{
		{"read-whole-rows", func() error {
			return report.ReadLabels(ctx, out, func(schemas.LabelRow) error { return nil })
		}},
		{"scan", func() error {
			return report.ScanLabels(ctx, out, func(schemas.LabelRow) error { return nil })
		}},
		{"odvg", func() error {
			_, err := odvg.Export(ctx, out, b.TempDir(), odvg.Options{Mode: odvg.Grounding})
			return err
		}},
		{"odvg-2-workers", func() error {
			_, err := odvg.Export(ctx, out, b.TempDir(), odvg.Options{Mode: odvg.Grounding, Workers: 2})
			return err
		}},
		{"coco", func() error {
			_, err := coco.Export(ctx, out, io.Discard, coco.Options{})
			return err
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if err := c.run(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(files*rows*b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
