package label_test

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/model/tiny"
	"github.com/groundbeam/groundbeam/pipelines/label"
	"github.com/groundbeam/groundbeam/sampleset"
	"github.com/groundbeam/groundbeam/schemas"
)

// TestLabelUInt8Bundles runs the label job with the tiny bundles taking
// uint8 NHWC pixels and with the float ones on the same few pairs: every
// pair gets a row, and the rows hold the same boxes (phrase and span
// equal, coordinates within 1 px, scores within 0.01, embeddings within
// 0.02). The teacher's padding is what differs (see model/teacher's
// TestDetectUInt8MatchesFloat); the boxes it moves move their region
// embeddings, which are otherwise equal to 1e-7 (model/clip's
// TestEmbedUInt8MatchesFloat). Measured: 0.27 px, 0.0015 and 0.0048.
func TestLabelUInt8Bundles(t *testing.T) {
	testenv.InitORT(t)
	pairs, err := sampleset.Pairs(&sampleset.Options{Pairs: 6, Seed: 13})
	if err != nil {
		t.Fatal(err)
	}
	in := t.TempDir()
	for i, s := range testenv.Shards(t, pairs, 2) {
		if err := os.WriteFile(filepath.Join(in, sampleset.ShardName(i)), s, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := func(bo *tiny.BundleOptions) []schemas.LabelRow {
		t.Helper()
		teacher, clip := testenv.Bundles(t, bo)
		out := t.TempDir()
		res, err := label.Run(context.Background(), label.Config{Input: filepath.Join(in, "*.tar"), Output: out,
			Teacher: teacher, CLIP: clip, BatchSize: 3, OrtLib: testenv.ORTLib(t)})
		if err != nil {
			t.Fatal(err)
		}
		if res.Manifest.Totals.Labelled != int64(len(pairs)) {
			t.Errorf("totals %+v, want %d labelled", res.Manifest.Totals, len(pairs))
		}
		return localRows(t, out)
	}
	want := run(nil)
	got := run(&tiny.BundleOptions{UInt8Input: true})
	if len(got) != len(pairs) || len(want) != len(pairs) {
		t.Fatalf("%d rows from the uint8 bundles, %d from the float ones, want %d", len(got), len(want), len(pairs))
	}
	var boxes int
	var worstBox, worstScore, worstEmb float64
	for i, g := range got {
		w := want[i]
		if g.Key != w.Key || len(g.Boxes) != len(w.Boxes) {
			t.Errorf("row %d: %s with %d boxes, float run %s with %d", i, g.Key, len(g.Boxes), w.Key, len(w.Boxes))
			continue
		}
		used := make([]bool, len(g.Boxes))
		for _, wb := range w.Boxes {
			k := closest(g.Boxes, used, wb)
			if k < 0 {
				t.Errorf("%s: float box %v %q has no uint8 counterpart", w.Key, wb.XYXY, wb.Phrase)
				continue
			}
			used[k] = true
			gb := g.Boxes[k]
			boxes++
			worstBox = max(worstBox, boxDist(gb, wb))
			worstScore = max(worstScore, math.Abs(float64(gb.Score-wb.Score)))
			for d := range wb.Embedding {
				worstEmb = max(worstEmb, math.Abs(float64(gb.Embedding[d]-wb.Embedding[d])))
			}
		}
	}
	t.Logf("%d rows, %d boxes: coordinates differ by at most %.3g px, scores by %.3g, embeddings by %.3g", len(got), boxes, worstBox, worstScore, worstEmb)
	if boxes == 0 {
		t.Fatal("no boxes to compare")
	}
	if worstBox > 1 || worstScore > 0.01 || worstEmb > 0.02 {
		t.Errorf("uint8 run differs from the float run beyond 1 px, 0.01 score or 0.02 embedding")
	}
}

// closest returns the unused box of bs with b's phrase, span and kind
// nearest to b and within 1 px of it, or -1.
func closest(bs []schemas.Box, used []bool, b schemas.Box) int {
	best, dist := -1, 1.0
	for k, c := range bs {
		if used[k] || c.Phrase != b.Phrase || c.CharStart != b.CharStart || c.CharEnd != b.CharEnd || c.LabelID != b.LabelID || c.Kind != b.Kind {
			continue
		}
		if d := boxDist(c, b); d <= dist {
			best, dist = k, d
		}
	}
	return best
}

// boxDist is the largest coordinate difference of two boxes, in pixels.
func boxDist(a, b schemas.Box) float64 {
	d := 0.0
	for i := range b.XYXY {
		d = max(d, math.Abs(float64(a.XYXY[i]-b.XYXY[i])))
	}
	return d
}
