// Package teacher runs a grounding bundle (the GLIP contract) on batches of
// images and prompts: preprocessing, tokenization, one ONNX Runtime call
// per batch, and GLIP post-processing.
package teacher

import (
	"context"
	"fmt"
	"image"

	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/glip"
	"github.com/groundbeam/groundbeam/model/imageproc"
	"github.com/groundbeam/groundbeam/model/ort"
	"github.com/groundbeam/groundbeam/model/wordpiece"
)

// Options configure a Teacher; nil means defaults.
type Options struct {
	// Params are the post-processing settings (default glip.DefaultParams).
	Params *glip.Params
	// Session are the ONNX Runtime settings.
	Session ort.Options
}

// Teacher is an open grounding bundle.
type Teacher struct {
	b       *bundle.Bundle
	s       *ort.Session
	tok     *wordpiece.Tokenizer
	params  glip.Params
	format  glip.BoxFormat
	sigmoid bool
	norm    imageproc.Norm
	roles   []string // the session's input roles, in order
}

// Open loads the bundle's tokenizer and acquires its session from the
// process's session cache.
func Open(b *bundle.Bundle, opts *Options) (*Teacher, error) {
	m := b.Manifest
	if m.Kind != bundle.KindGrounding {
		return nil, fmt.Errorf("teacher: bundle %s is %q, not grounding", b.Identity, m.Kind)
	}
	var o Options
	if opts != nil {
		o = *opts
	}
	t := &Teacher{b: b, params: glip.DefaultParams(), sigmoid: m.LogitsActivation != "sigmoid",
		norm: imageproc.Norm{BGR: m.Image.ChannelOrder == "BGR", Scale: m.Image.Scale, Mean: m.Image.Mean, Std: m.Image.Std}}
	if o.Params != nil {
		t.params = *o.Params
	}
	if m.BoxFormat == bundle.BoxXYXYPixels {
		t.format = glip.XYXYPixels
	}
	tok, err := wordpiece.Load(b.Path(m.Text.Vocab), &wordpiece.Options{Lowercase: m.Text.Lowercase, MaxTokens: m.Text.MaxTokens})
	if err != nil {
		return nil, fmt.Errorf("teacher %s: %w", b.Identity, err)
	}
	t.tok = tok
	var inNames []string
	for _, role := range []string{bundle.InImage, bundle.InInputIDs, bundle.InAttentionMask, bundle.InTokenTypeIDs} {
		if n, ok := m.Inputs[role]; ok && n != "" {
			t.roles = append(t.roles, role)
			inNames = append(inNames, n)
		}
	}
	s, err := ort.Acquire(ort.Key{Identity: b.Identity, Path: b.Path(m.ONNX), Options: o.Session},
		inNames, []string{m.Outputs[bundle.OutBoxes], m.Outputs[bundle.OutLogits]})
	if err != nil {
		return nil, fmt.Errorf("teacher: %w", err)
	}
	t.s = s
	return t, nil
}

// Close releases the teacher's session.
func (t *Teacher) Close() { t.s.Release() }

// Identity is the bundle's identity.
func (t *Teacher) Identity() string { return t.b.Identity }

// Params are the post-processing settings in use.
func (t *Teacher) Params() glip.Params { return t.params }

// Encoded is a tokenized prompt with its positive map.
type Encoded struct {
	Prompt glip.Prompt
	IDs    []int64
	// PhraseTokens are the token indices of each phrase (empty: skipped).
	PhraseTokens [][]int
	// Skipped counts phrases with no tokens (span not mappable, or cut
	// by truncation); Truncated says the prompt was over the token limit.
	Skipped   int
	Truncated bool
}

// Encode tokenizes a prompt and maps its phrases to tokens.
func (t *Teacher) Encode(p glip.Prompt) Encoded {
	enc := t.tok.Encode(p.Text)
	toks, skipped := glip.PositiveMap(p.Phrases, enc.Offsets)
	return Encoded{Prompt: p, IDs: enc.IDs, PhraseTokens: toks, Skipped: skipped, Truncated: enc.Truncated}
}

// Item is one image with its encoded prompt.
type Item struct {
	Image  *image.RGBA
	Prompt Encoded
}

// Detect runs the teacher on a batch: images resized per the bundle and
// zero-padded to a common size, prompts padded to a common length. It
// returns each item's detections, in the items' order.
func (t *Teacher) Detect(ctx context.Context, items []Item) ([][]glip.Detection, error) {
	if len(items) == 0 {
		return nil, nil
	}
	spec := t.b.Manifest.Image
	geo := make([]glip.Geometry, len(items))
	resized := make([]*image.RGBA, len(items))
	maxW, maxH, maxT := 0, 0, 0
	for i, it := range items {
		w, h := it.Image.Rect.Dx(), it.Image.Rect.Dy()
		nw, nh := imageproc.ShortestEdge(w, h, spec.ShortestEdge, spec.MaxSize)
		resized[i] = imageproc.Resize(it.Image, nw, nh, false)
		geo[i] = glip.Geometry{OrigW: w, OrigH: h, ResizedW: nw, ResizedH: nh}
		maxW, maxH, maxT = max(maxW, nw), max(maxH, nh), max(maxT, len(it.Prompt.IDs))
	}
	pw, ph := imageproc.RoundUp(maxW, spec.PadMultiple), imageproc.RoundUp(maxH, spec.PadMultiple)
	b := len(items)
	pixels := make([]float32, b*3*pw*ph)
	ids := make([]int64, b*maxT)
	mask := make([]int64, b*maxT)
	for i, it := range items {
		t.norm.Fill(pixels[i*3*pw*ph:(i+1)*3*pw*ph], pw, ph, resized[i])
		copy(ids[i*maxT:], it.Prompt.IDs)
		for k := range it.Prompt.IDs {
			mask[i*maxT+k] = 1
		}
	}
	var in []ort.Tensor
	for _, role := range t.roles {
		switch role {
		case bundle.InImage:
			in = append(in, ort.Tensor{Shape: []int64{int64(b), 3, int64(ph), int64(pw)}, F32: pixels})
		case bundle.InInputIDs:
			in = append(in, ort.Tensor{Shape: []int64{int64(b), int64(maxT)}, I64: ids})
		case bundle.InAttentionMask:
			in = append(in, ort.Tensor{Shape: []int64{int64(b), int64(maxT)}, I64: mask})
		case bundle.InTokenTypeIDs:
			in = append(in, ort.Tensor{Shape: []int64{int64(b), int64(maxT)}, I64: make([]int64, b*maxT)})
		}
	}
	out, err := t.s.Run(ctx, in)
	if err != nil {
		return nil, err
	}
	boxes, logits := out[0], out[1]
	if len(boxes.Shape) != 3 || boxes.Shape[0] != int64(b) || boxes.Shape[2] != 4 ||
		len(logits.Shape) != 3 || logits.Shape[0] != int64(b) || logits.Shape[1] != boxes.Shape[1] || logits.Shape[2] != int64(maxT) {
		return nil, fmt.Errorf("teacher %s: outputs have shapes %v and %v, want [%d Q 4] and [%d Q %d]", t.b.Identity, boxes.Shape, logits.Shape, b, b, maxT)
	}
	q := int(boxes.Shape[1])
	res := make([][]glip.Detection, b)
	for i, it := range items {
		o := glip.Output{
			Boxes:   boxes.F32[i*q*4 : (i+1)*q*4],
			Logits:  logits.F32[i*q*maxT : (i+1)*q*maxT],
			Queries: q, Tokens: maxT, Sigmoid: t.sigmoid,
		}
		res[i] = glip.Decode(o, it.Prompt.PhraseTokens, t.format, geo[i], t.params)
	}
	return res, nil
}
