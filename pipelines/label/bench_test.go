package label_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/glip"
	"github.com/groundbeam/groundbeam/model/ort"
	"github.com/groundbeam/groundbeam/model/tiny"
	"github.com/groundbeam/groundbeam/pipelines/label"
	"github.com/groundbeam/groundbeam/sampleset"
)

// BenchmarkLabelVsSession measures the label job's throughput on the CPU
// against the bare ONNX Runtime sessions doing the same inference: the
// teacher on the same batch shapes and the CLIP tower on as many crops as
// the job embedded. The tiny teacher is made inference-heavy, as real
// teachers are, so the ratio shows what the pipeline around the sessions
// (decode, resize, tokenize, post-process, Parquet, Beam) costs.
func BenchmarkLabelVsSession(b *testing.B) {
	lib := testenv.ORTLib(b)
	testenv.InitORT(b)
	dir := b.TempDir()
	tb, cb, err := tiny.WriteBundles(dir, &tiny.BundleOptions{Grounding: &tiny.GroundingOptions{HeavyLayers: 12, HeavyWidth: 1024}})
	if err != nil {
		b.Fatal(err)
	}
	const pairs, batch, w, h = 64, 8, 640, 480
	ps, err := sampleset.Pairs(&sampleset.Options{Pairs: pairs, Width: w, Height: h, Seed: 5})
	if err != nil {
		b.Fatal(err)
	}
	in := filepath.Join(dir, "in")
	os.MkdirAll(in, 0o755)
	for i, s := range testenv.Shards(b, ps, 4) {
		os.WriteFile(filepath.Join(in, sampleset.ShardName(i)), s, 0o644)
	}
	params := glip.DefaultParams()
	params.TopK = 5
	var pipeline, bare time.Duration
	var boxes int64
	b.Run("pipeline", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			res, err := label.Run(context.Background(), label.Config{
				Input: filepath.Join(in, "*.tar"), Output: filepath.Join(dir, "out", string(rune('a'+i%26))),
				Teacher: tb.Dir, CLIP: cb.Dir, OrtLib: lib, BatchSize: batch, Params: &params,
				CLIPScales: []float64{1}, CPUCrops: true,
			})
			if err != nil {
				b.Fatal(err)
			}
			boxes = res.Manifest.Totals.Boxes
		}
		pipeline = b.Elapsed() / time.Duration(b.N)
		b.ReportMetric(float64(pairs)/pipeline.Seconds(), "pairs/s")
	})
	b.Run("sessions", func(b *testing.B) {
		m := tb.Manifest
		// 640×480 → 341×256, padded to 352×256; captions are under 24 tokens.
		const H, W, T = 256, 352, 24
		ts, err := ort.Acquire(ort.Key{Identity: tb.Identity, Path: tb.Path(m.ONNX)},
			[]string{m.Inputs[bundle.InImage], m.Inputs[bundle.InInputIDs], m.Inputs[bundle.InAttentionMask]},
			[]string{m.Outputs[bundle.OutBoxes], m.Outputs[bundle.OutLogits]})
		if err != nil {
			b.Fatal(err)
		}
		cm := cb.Manifest
		cs, err := ort.Acquire(ort.Key{Identity: cb.Identity + "/image", Path: cb.Path(cm.ImageONNX)},
			[]string{cm.Inputs[bundle.InImage]}, []string{cm.Outputs[bundle.OutImageEmbeds]})
		if err != nil {
			b.Fatal(err)
		}
		px := make([]float32, batch*3*H*W)
		ids, mask := make([]int64, batch*T), make([]int64, batch*T)
		for i := range ids {
			ids[i], mask[i] = int64(5+i%300), 1
		}
		crops := make([]float32, 64*3*224*224)
		for b.Loop() {
			for range pairs / batch {
				if _, err := ts.Run(context.Background(), []ort.Tensor{
					{Shape: []int64{batch, 3, H, W}, F32: px}, {Shape: []int64{batch, T}, I64: ids}, {Shape: []int64{batch, T}, I64: mask}}); err != nil {
					b.Fatal(err)
				}
			}
			for left := boxes; left > 0; left -= 64 {
				n := min(left, 64)
				if _, err := cs.Run(context.Background(), []ort.Tensor{{Shape: []int64{n, 3, 224, 224}, F32: crops[:n*3*224*224]}}); err != nil {
					b.Fatal(err)
				}
			}
		}
		bare = b.Elapsed() / time.Duration(b.N)
		b.ReportMetric(float64(pairs)/bare.Seconds(), "pairs/s")
		b.ReportMetric(bare.Seconds()/pipeline.Seconds(), "pipeline/sessions")
	})
}
