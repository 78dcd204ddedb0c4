package schemas_test

import (
	"fmt"
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
		Boxes: []schemas.BoxNoEmbeddings{{XYXY: []float32{1, 2, 3, 4}, Score: 0.5, Phrase: "x", LabelID: 3, CharStart: 1, CharEnd: 2, Kind: "teacher"}}}
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
