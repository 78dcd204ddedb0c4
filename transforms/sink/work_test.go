package sink_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/passert"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"

	"github.com/groundbeam/groundbeam/transforms/sink"
)

func TestMain(m *testing.M) { ptest.Main(m) }

// TestWork writes a job's units to the work file and reads them back in a
// pipeline: every unit arrives once, with the name its shard got (shards
// that share a file name get distinct names).
func TestWork(t *testing.T) {
	shards := []string{"gs://b/a/00000.tar", "gs://b/b/00000.tar", "gs://b/a/00001.tar", "s3://c/x.jsonl"}
	units := sink.Units(shards)
	names := map[string]bool{}
	for i, u := range units {
		if u.Shard != shards[i] || u.Name == "" || names[u.Name] {
			t.Fatalf("unit %d: %+v (names so far %v)", i, u, names)
		}
		names[u.Name] = true
	}
	if units[2].Name != "00001" || units[3].Name != "x" || !strings.HasPrefix(units[0].Name, "00000-") {
		t.Errorf("names %+v: want file names, with a hash only where two shards share one", units)
	}
	out := t.TempDir()
	path, err := sink.WriteWork(context.Background(), out, units)
	if err != nil {
		t.Fatal(err)
	}
	if path != filepath.Join(out, sink.WorkFile) {
		t.Errorf("work file at %s", path)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(raw), "\n"); n != len(units) {
		t.Errorf("work file has %d lines, want %d", n, len(units))
	}
	p, s := beam.NewPipelineWithRoot()
	got := beam.ParDo(s, sink.DecodeUnit, sink.ReadWork(s, path))
	want := make([]any, len(units))
	for i, u := range units {
		want[i] = u
	}
	passert.Equals(s, got, want...)
	ptest.RunAndValidate(t, p)
}

func TestDecodeUnit(t *testing.T) {
	tests := []struct {
		line    string
		want    sink.Unit
		wantErr string
	}{
		{line: `{"shard":"gs://b/0.tar","name":"0"}`, want: sink.Unit{Shard: "gs://b/0.tar", Name: "0"}},
		{line: `{"shard":"gs://b/0.tar"}`, wantErr: "want a shard and a name"},
		{line: `gs://b/0.tar`, wantErr: "invalid character"},
	}
	for _, tt := range tests {
		got, err := sink.DecodeUnit(tt.line)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("DecodeUnit(%s) = %+v, %v; want an error with %q", tt.line, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("DecodeUnit(%s) = %+v, %v; want %+v", tt.line, got, err, tt.want)
		}
	}
}
