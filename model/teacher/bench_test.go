package teacher

import (
	"context"
	"testing"

	"github.com/groundbeam/groundbeam/model/tiny"
)

// benchBatch is 4 images of 640×480 (the tiny bundle resizes them to
// 341×256, padded to 352×256) with a caption prompt of 3 phrases, for the
// tiny teacher written with bo.
func benchBatch(b *testing.B, bo *tiny.BundleOptions) (*Teacher, []Item) {
	tc := tinyTeacher(b, bo, nil)
	enc := tc.EncodeCaption("a red square and a blue circle on a grey background")
	items := make([]Item, 4)
	for i := range items {
		items[i] = Item{Image: picture(640, 480), Prompt: enc}
	}
	return tc, items
}

// BenchmarkDetect is the teacher's whole batch call: resize, normalize,
// pad, tensors, one session run, post-processing.
func BenchmarkDetect(b *testing.B) {
	tc, items := benchBatch(b, nil)
	ctx := context.Background()
	for b.Loop() {
		if _, err := tc.Detect(ctx, items); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSessionOnly runs the ONNX Runtime session alone on the same
// batch, prepared once: what Detect costs beyond it is the batching
// layer's overhead.
func BenchmarkSessionOnly(b *testing.B) {
	tc, items := benchBatch(b, nil)
	imgs := tc.prepare(items)
	idx := []int{0, 1, 2, 3}
	prompts := []Encoded{items[0].Prompt, items[1].Prompt, items[2].Prompt, items[3].Prompt}
	in, _ := tc.inputs(imgs, idx, prompts)
	ctx := context.Background()
	for b.Loop() {
		if _, err := tc.s.Run(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPrepare is the image half of the overhead: resize, normalize,
// pad; for a float32 NCHW graph and for a uint8 NHWC one (no
// normalisation on the host), with the image tensor's bytes per batch,
// what a GPU worker copies to the device.
func BenchmarkPrepare(b *testing.B) {
	for _, c := range []struct {
		name string
		bo   *tiny.BundleOptions
	}{
		{"float32_nchw", nil},
		{"uint8_nhwc", &tiny.BundleOptions{UInt8Input: true}},
	} {
		b.Run(c.name, func(b *testing.B) {
			tc, items := benchBatch(b, c.bo)
			var p prepared
			for b.Loop() {
				p = tc.prepare(items)
			}
			b.ReportMetric(float64(p.bytes()), "bytes/batch")
		})
	}
}
