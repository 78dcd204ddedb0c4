package teacher

import (
	"context"
	"testing"
)

// benchBatch is 4 images of 640×480 (the tiny bundle resizes them to
// 341×256, padded to 352×256) with a caption prompt of 3 phrases.
func benchBatch(b *testing.B) (*Teacher, []Item) {
	tc := tinyTeacher(b, nil, nil)
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
	tc, items := benchBatch(b)
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
	tc, items := benchBatch(b)
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
// pad.
func BenchmarkPrepare(b *testing.B) {
	tc, items := benchBatch(b)
	for b.Loop() {
		tc.prepare(items)
	}
}
