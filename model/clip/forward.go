package clip

import (
	"context"
	"errors"
	"fmt"
	"image"

	"github.com/groundbeam/groundbeam/model/ort"
)

// ForwardImage runs the image tower once on the whole of img, prepared as
// Embed's CPU-crop path prepares a crop (resize to the tower's input
// size, normalisation or uint8 layout), and returns the tower's raw
// output, [1,D], not normalised. The encoder must use the image tower
// (RegionGraph false: opened with Options.CPUCrops, or from a bundle
// without a region graph). It is what a check against reference outputs
// needs (model/verify).
func (e *Encoder) ForwardImage(ctx context.Context, img *image.RGBA) (ort.Tensor, error) {
	if e.region {
		return ort.Tensor{}, fmt.Errorf("clip encoder %s: forward image: the encoder uses the region graph (open it with CPUCrops)", e.b.Identity)
	}
	if img == nil || img.Rect.Empty() {
		return ort.Tensor{}, fmt.Errorf("clip encoder %s: forward image: no image pixels", e.b.Identity)
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	whole := Region{Image: img, Box: [4]float32{0, 0, float32(w), float32(h)}}
	s := int64(e.size)
	var in ort.Tensor
	if e.uint8 {
		buf := make([]uint8, 3*e.size*e.size)
		e.fillCropHWC(buf, whole, 1)
		in = ort.Tensor{Shape: []int64{1, s, s, 3}, U8: buf}
	} else {
		buf := make([]float32, 3*e.size*e.size)
		e.fillCrop(buf, whole, 1)
		in = ort.Tensor{Shape: []int64{1, 3, s, s}, F32: buf}
	}
	res, err := e.tower.Run(ctx, []ort.Tensor{in})
	if err != nil {
		return ort.Tensor{}, fmt.Errorf("clip encoder %s: forward image: %w", e.b.Identity, err)
	}
	return res[0], nil
}

// ForwardRegions runs the region graph once on img, prepared as Embed's
// region path prepares it (downscaled only past Options.RegionMaxSide,
// normalisation or uint8 layout), with boxes as given (x1, y1, x2, y2 in
// img's pixels, scaled only when img was downscaled; no crop scales, no
// clipping), and returns the graph's raw output, [K,D], not normalised.
// The encoder must use the region graph.
func (e *Encoder) ForwardRegions(ctx context.Context, img *image.RGBA, boxes [][4]float32) (ort.Tensor, error) {
	if !e.region {
		return ort.Tensor{}, fmt.Errorf("clip encoder %s: forward regions: the encoder uses the image tower", e.b.Identity)
	}
	if img == nil || img.Rect.Empty() {
		return ort.Tensor{}, fmt.Errorf("clip encoder %s: forward regions: no image pixels", e.b.Identity)
	}
	if len(boxes) == 0 {
		return ort.Tensor{}, fmt.Errorf("clip encoder %s: forward regions: no boxes", e.b.Identity)
	}
	w, h := img.Rect.Dx(), img.Rect.Dy()
	pixels, pw, ph := e.regionImage(img)
	sx, sy := float64(pw)/float64(w), float64(ph)/float64(h)
	flat := make([]float32, 0, 4*len(boxes))
	for _, b := range boxes {
		flat = append(flat, float32(float64(b[0])*sx), float32(float64(b[1])*sy), float32(float64(b[2])*sx), float32(float64(b[3])*sy))
	}
	res, err := e.tower.Run(ctx, []ort.Tensor{pixels, {Shape: []int64{int64(len(boxes)), 4}, F32: flat}})
	if err != nil {
		return ort.Tensor{}, fmt.Errorf("clip encoder %s: forward regions: %w", e.b.Identity, err)
	}
	return res[0], nil
}

// ForwardTexts runs the text tower once on texts, tokenized as
// EmbedTexts tokenizes them (CLIP BPE padded to the context length), and
// returns its raw output, [len(texts),D], not normalised.
func (t *TextEncoder) ForwardTexts(ctx context.Context, texts []string) (ort.Tensor, error) {
	if len(texts) == 0 {
		return ort.Tensor{}, errors.New("clip text encoder: forward: no texts")
	}
	ids := make([]int64, len(texts)*t.ctxLen)
	for j, text := range texts {
		row, _ := t.tok.EncodePadded(text, t.ctxLen)
		copy(ids[j*t.ctxLen:(j+1)*t.ctxLen], row)
	}
	res, err := t.s.Run(ctx, []ort.Tensor{{Shape: []int64{int64(len(texts)), int64(t.ctxLen)}, I64: ids}})
	if err != nil {
		return ort.Tensor{}, fmt.Errorf("clip text encoder %s: forward: %w", t.b.Identity, err)
	}
	return res[0], nil
}
