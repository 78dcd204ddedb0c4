package label_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime/graphx"
	"google.golang.org/protobuf/proto"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/pipelines/label"
	"github.com/groundbeam/groundbeam/transforms/sink"
)

// TestGraphSizeIndependentOfShards: the pipeline a runner receives is the
// same size for 3 input shards as for 20,000. Runners cap it (Dataflow's
// job graph at 10 MB); the shard list travels in the output folder's work
// file instead, which holds every shard.
func TestGraphSizeIndependentOfShards(t *testing.T) {
	teacher, clip := testenv.Bundles(t, nil)
	size := func(n int) int {
		in := t.TempDir()
		for i := range n {
			if err := os.WriteFile(filepath.Join(in, fmt.Sprintf("%05d.tar", i)), nil, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		out := t.TempDir()
		p, plan, err := label.Build(context.Background(), label.Config{Input: filepath.Join(in, "*.tar"), Output: out,
			Teacher: teacher, CLIP: clip, OrtLib: testenv.ORTLib(t)})
		if err != nil {
			t.Fatal(err)
		}
		units, err := os.ReadFile(filepath.Join(out, sink.WorkFile))
		if err != nil {
			t.Fatal(err)
		}
		if len(plan.Shards) != n || len(units) < n*len(`{"shard":"","name":""}`) {
			t.Fatalf("%d shards planned, work file of %d bytes, for %d input shards", len(plan.Shards), len(units), n)
		}
		edges, _, err := p.Build()
		if err != nil {
			t.Fatal(err)
		}
		pb, err := graphx.Marshal(edges, &graphx.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return proto.Size(pb)
	}
	small, large := size(3), size(20000)
	t.Logf("pipeline proto: %d bytes for 3 shards, %d for 20,000", small, large)
	if large-small > 1024 {
		t.Errorf("the pipeline grows by %d bytes from 3 to 20,000 shards", large-small)
	}
}
