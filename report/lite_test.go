package report

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/groundbeam/groundbeam/schemas"
)

// TestLiteRowIsLabelRowWithoutEmbeddings: the projection ScanLabels reads
// is the labels schema less exactly the two embedding columns, leaf for
// leaf, so a column added to schemas.LabelRow fails here until it is added
// to liteRow.
func TestLiteRowIsLabelRowWithoutEmbeddings(t *testing.T) {
	full, lite := parquet.SchemaOf(schemas.LabelRow{}), parquet.SchemaOf(liteRow{})
	leaves := func(s *parquet.Schema) map[string]string {
		out := map[string]string{}
		for _, path := range s.Columns() {
			leaf, _ := s.Lookup(path...)
			out[strings.Join(path, ".")] = fmt.Sprint(leaf.Node.Type())
		}
		return out
	}
	want := leaves(full)
	for p := range want {
		if strings.Contains(p, ".embedding") {
			delete(want, p)
		}
	}
	if got := leaves(lite); !reflect.DeepEqual(got, want) {
		t.Errorf("liteRow columns:\n%v\nwant:\n%v", got, want)
	}
	if len(leaves(full))-len(want) != 2 {
		t.Errorf("%d embedding columns left out, want 2", len(leaves(full))-len(want))
	}
}

// TestScanLabels reads the same rows as ReadLabels, less the embeddings.
func TestScanLabels(t *testing.T) {
	out := t.TempDir()
	rows := []schemas.LabelRow{
		{Key: "a", Source: "s#a.jpg", Width: 3, Height: 4, Caption: "a cat", SchemaVersion: 1, Boxes: []schemas.Box{
			{XYXY: []float32{0, 1, 2, 3}, Score: 0.5, Phrase: "cat", LabelID: -1, CharStart: 2, CharEnd: 5, Embedding: []float32{1, 0}, Kind: schemas.KindTeacher},
			{XYXY: []float32{1, 1, 2, 2}, Phrase: "", LabelID: -1, CharStart: -1, CharEnd: -1, EmbeddingF16: []uint16{15360}, Kind: schemas.KindProposal}}},
		{Key: "b", Source: "s#b.jpg", Width: 5, Height: 6, Caption: "", SchemaVersion: 1},
	}
	if err := os.MkdirAll(filepath.Join(out, LabelsTable), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := parquet.WriteFile(filepath.Join(out, LabelsTable, "x.parquet"), rows); err != nil {
		t.Fatal(err)
	}
	var full, lite []schemas.LabelRow
	ctx := context.Background()
	if err := ReadLabels(ctx, out, func(r schemas.LabelRow) error { full = append(full, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := ScanLabels(ctx, out, func(r schemas.LabelRow) error { lite = append(lite, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(full) != 2 || len(full[0].Boxes[0].Embedding) != 2 {
		t.Fatalf("ReadLabels: %+v", full)
	}
	for i := range full {
		for j := range full[i].Boxes {
			full[i].Boxes[j].Embedding, full[i].Boxes[j].EmbeddingF16 = nil, nil
		}
	}
	if !reflect.DeepEqual(lite, full) {
		t.Errorf("ScanLabels:\n%+v\nReadLabels less embeddings:\n%+v", lite, full)
	}
}
