package label_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/pipelines/label"
	"github.com/groundbeam/groundbeam/sampleset"
)

// TestInFlightBounds runs the job on more shards than Prism runs bundles
// one at a time (it starts several side by side) and checks that the
// worker labels no more shards and batches at once than asked, reading
// the job's own shards_in_flight and batches_in_flight distributions, and
// that every pair still comes out.
func TestInFlightBounds(t *testing.T) {
	testenv.InitORT(t)
	teacher, clip := testenv.Bundles(t, nil)
	const shards, perShard = 6, 4
	pairs, err := sampleset.Pairs(&sampleset.Options{Pairs: shards * perShard, Width: 160, Height: 120, Seed: 21})
	if err != nil {
		t.Fatal(err)
	}
	in := t.TempDir()
	for i, s := range testenv.Shards(t, pairs, shards) {
		if err := os.WriteFile(filepath.Join(in, sampleset.ShardName(i)), s, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct{ shards, batches int }{
		{1, 1},
		{2, 1},
		{1, 3},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("shards=%d,batches=%d", tc.shards, tc.batches), func(t *testing.T) {
			res, err := label.Run(context.Background(), label.Config{Input: filepath.Join(in, "*.tar"), Output: t.TempDir(),
				Teacher: teacher, CLIP: clip, BatchSize: 1, OrtLib: testenv.ORTLib(t),
				ShardsInFlight: tc.shards, BatchesInFlight: tc.batches})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Manifest.Totals.Labelled; got != int64(len(pairs)) {
				t.Errorf("%d pairs labelled, want %d", got, len(pairs))
			}
			s, b := res.Distributions["shards_in_flight"], res.Distributions["batches_in_flight"]
			if s.Count != shards || s.Min < 1 || s.Max > int64(tc.shards) {
				t.Errorf("shards in flight: %d admissions, %d..%d at once, want %d admissions, 1..%d", s.Count, s.Min, s.Max, shards, tc.shards)
			}
			if b.Count != int64(len(pairs)) || b.Min < 1 || b.Max > int64(tc.batches) {
				t.Errorf("batches in flight: %d admissions, %d..%d at once, want %d admissions, 1..%d", b.Count, b.Min, b.Max, len(pairs), tc.batches)
			}
		})
	}
}
