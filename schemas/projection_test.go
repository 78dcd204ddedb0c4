package schemas_test

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/groundbeam/groundbeam/schemas"
)

// TestLabelRowNoEmbeddings: the projection is the labels schema less
// exactly the two embedding columns, leaf for leaf, so that a column added
// to LabelRow fails here until it is added to the projection; and its
// LabelRow gives back every other field.
func TestLabelRowNoEmbeddings(t *testing.T) {
	leaves := func(s *parquet.Schema) map[string]string {
		out := map[string]string{}
		for _, path := range s.Columns() {
			leaf, _ := s.Lookup(path...)
			out[strings.Join(path, ".")] = fmt.Sprint(leaf.Node.Type(), leaf.Node.Optional(), leaf.Node.Repeated())
		}
		return out
	}
	full := leaves(parquet.SchemaOf(schemas.LabelRow{}))
	want := map[string]string{}
	for p, v := range full {
		if !strings.Contains(p, ".embedding") {
			want[p] = v
		}
	}
	if got := leaves(parquet.SchemaOf(schemas.LabelRowNoEmbeddings{})); !reflect.DeepEqual(got, want) {
		t.Errorf("projection columns:\n%v\nwant:\n%v", got, want)
	}
	if len(full)-len(want) != 2 {
		t.Errorf("%d embedding columns left out, want 2", len(full)-len(want))
	}

	r := schemas.LabelRowNoEmbeddings{Key: "k", Source: "s", Shard: "sh", Width: 1, Height: 2, Caption: "c",
		Teacher: "t", CLIP: "c", ParamsHash: "p", SchemaVersion: 1,
		Boxes: []schemas.BoxNoEmbeddings{{XYXY: []float32{1, 2, 3, 4}, Score: 0.5, Phrase: "x", LabelID: 3, CharStart: 1, CharEnd: 2, Kind: "teacher", ClipScore: new(float32(0.25))}}}
	got := r.LabelRow()
	// Every field of LabelRow and Box, bar the embeddings, is set.
	for _, v := range []reflect.Value{reflect.ValueOf(got), reflect.ValueOf(got.Boxes[0])} {
		for i := range v.NumField() {
			name := v.Type().Field(i).Name
			if v.Field(i).IsZero() != strings.HasPrefix(name, "Embedding") {
				t.Errorf("%s.%s = %v after LabelRow()", v.Type().Name(), name, v.Field(i))
			}
		}
	}
}

// TestReadVersion1 reads a labels file of schema version 1, which has no
// clip_score column, into both row types: every score is null.
func TestReadVersion1(t *testing.T) {
	type boxV1 struct {
		XYXY      []float32 `parquet:"xyxy,list"`
		Score     float32   `parquet:"score"`
		Phrase    string    `parquet:"phrase"`
		LabelID   int32     `parquet:"label_id"`
		CharStart int32     `parquet:"char_start"`
		CharEnd   int32     `parquet:"char_end"`
		Embedding []float32 `parquet:"embedding,list"`
		Kind      string    `parquet:"kind"`
	}
	type rowV1 struct {
		Key           string  `parquet:"key"`
		Boxes         []boxV1 `parquet:"boxes,list"`
		SchemaVersion int32   `parquet:"schema_version"`
	}
	p := filepath.Join(t.TempDir(), "v1.parquet")
	if err := parquet.WriteFile(p, []rowV1{{Key: "a", SchemaVersion: 1, Boxes: []boxV1{
		{XYXY: []float32{1, 2, 3, 4}, Score: 0.5, Phrase: "dog", Embedding: []float32{1, 0}, Kind: schemas.KindTeacher}}}}); err != nil {
		t.Fatal(err)
	}
	full, err := parquet.ReadFile[schemas.LabelRow](p)
	if err != nil || len(full) != 1 || full[0].Boxes[0].ClipScore != nil || full[0].Boxes[0].Phrase != "dog" || len(full[0].Boxes[0].Embedding) != 2 {
		t.Errorf("LabelRow: %+v, %v", full, err)
	}
	lite, err := parquet.ReadFile[schemas.LabelRowNoEmbeddings](p)
	if err != nil || len(lite) != 1 || lite[0].Boxes[0].ClipScore != nil || lite[0].Boxes[0].Score != 0.5 {
		t.Errorf("LabelRowNoEmbeddings: %+v, %v", lite, err)
	}
}
