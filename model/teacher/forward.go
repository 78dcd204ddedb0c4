package teacher

import (
	"context"
	"fmt"
	"image"

	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/ort"
)

// Forward runs the graph once on one image with one prompt, both prepared
// exactly as Detect prepares them (resize, normalisation or uint8 layout,
// padding, ids and masks), and returns the graph's raw outputs by role:
// bundle.OutBoxes, bundle.OutLogits and, when the bundle declares it,
// bundle.OutCenterness, each with a batch dimension of 1 and before any
// post-processing. It is what a check against reference outputs needs
// (model/verify).
func (t *Teacher) Forward(ctx context.Context, img *image.RGBA, prompt Encoded) (map[string]ort.Tensor, error) {
	if img == nil || img.Rect.Empty() {
		return nil, fmt.Errorf("teacher %s: forward: no image pixels", t.b.Identity)
	}
	imgs := t.prepare([]Item{{Image: img, Prompt: prompt}})
	in, _ := t.inputs(imgs, []int{0}, []Encoded{prompt})
	out, err := t.s.Run(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("teacher %s: forward: %w", t.b.Identity, err)
	}
	res := map[string]ort.Tensor{bundle.OutBoxes: out[0], bundle.OutLogits: out[1]}
	if t.centerness {
		res[bundle.OutCenterness] = out[2]
	}
	return res, nil
}
