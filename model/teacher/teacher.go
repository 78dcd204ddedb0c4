// Package teacher runs a grounding bundle (the GLIP contract) on batches of
// images and prompts: preprocessing, tokenization, ONNX Runtime calls and
// GLIP post-processing (model/glip).
//
// Preprocessing follows GLIP's test transform: the image is resized so
// that its short side is the bundle's shortest_edge unless the long side
// would pass max_size (maskrcnn-benchmark's get_size rounding, see
// [glip.InputSize]), normalized with the bundle's channel order, scale,
// mean and std (GLIP: BGR, 0–255, mean [103.530, 116.280, 123.675], std
// [57.375, 57.120, 58.395]), and zero-padded at the bottom and right to the
// batch's largest size rounded up to pad_multiple (to_image_list with
// SIZE_DIVISIBILITY 32). When the bundle declares a pixel_mask input it
// gets 1 over each image's real pixels and 0 over padding; declared
// token_type_ids are zeros; a declared centerness output joins the score.
//
// A bundle whose image.input is uint8_nhwc gets the same resized images as
// raw pixels, [B,H,W,3] uint8 in its channel order, and normalises them in
// the graph: a quarter of the bytes to copy to a GPU. Its padding is the
// mean colour rounded to whole levels, which the graph normalises to
// within half a level of the float path's exact zeros (under 0.009 with
// GLIP's std).
package teacher

import (
	"context"
	"fmt"
	"image"
	"os"
	"strings"
	"unicode"

	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/glip"
	"github.com/groundbeam/groundbeam/model/imageproc"
	"github.com/groundbeam/groundbeam/model/imageproc/turbo"
	"github.com/groundbeam/groundbeam/model/ort"
	"github.com/groundbeam/groundbeam/model/wordpiece"
)

// Options configure a Teacher; nil means defaults.
type Options struct {
	// Params are the post-processing settings (default glip.DefaultParams).
	Params *glip.Params
	// Session are the ONNX Runtime settings.
	Session ort.Options
	// Vocab, when not empty, is a class vocabulary: Open builds its prompts
	// (see EncodeVocab) and fails when a name cannot be encoded.
	Vocab []string
}

// Teacher is an open grounding bundle. It is safe for concurrent use.
type Teacher struct {
	b          *bundle.Bundle
	s          *ort.Session
	tok        *wordpiece.Tokenizer
	pieces     []string // token id → vocabulary entry (ScoreTokens mode only)
	params     glip.Params
	format     glip.BoxFormat
	sigmoid    bool
	norm       imageproc.Norm
	uint8      bool     // the graph takes uint8 NHWC pixels
	roles      []string // the session's input roles, in order
	centerness bool     // the session's third output is centerness
	vocab      []string
	prompts    []Encoded
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
		norm:  imageproc.Norm{BGR: m.Image.ChannelOrder == "BGR", Scale: m.Image.Scale, Mean: m.Image.Mean, Std: m.Image.Std},
		uint8: m.Image.UInt8()}
	if o.Params != nil {
		t.params = *o.Params
	}
	if err := t.params.Validate(); err != nil {
		return nil, fmt.Errorf("teacher %s: %w", b.Identity, err)
	}
	if m.BoxFormat == bundle.BoxXYXYPixels {
		t.format = glip.XYXYPixels
	}
	vocabPath := b.Path(m.Text.Vocab)
	tok, err := wordpiece.Load(vocabPath, &wordpiece.Options{Lowercase: m.Text.Lowercase, MaxTokens: m.Text.MaxTokens})
	if err != nil {
		return nil, fmt.Errorf("teacher %s: %w", b.Identity, err)
	}
	t.tok = tok
	if t.params.Scoring == glip.ScoreTokens {
		raw, err := os.ReadFile(vocabPath)
		if err != nil {
			return nil, fmt.Errorf("teacher %s: %w", b.Identity, err)
		}
		t.pieces = strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
		for i, p := range t.pieces {
			t.pieces[i] = strings.TrimSuffix(p, "\r")
		}
	}
	var inNames []string
	for _, role := range []string{bundle.InImage, bundle.InInputIDs, bundle.InAttentionMask, bundle.InPixelMask, bundle.InTokenTypeIDs} {
		if n, ok := m.Inputs[role]; ok && n != "" {
			t.roles = append(t.roles, role)
			inNames = append(inNames, n)
		}
	}
	outNames := []string{m.Outputs[bundle.OutBoxes], m.Outputs[bundle.OutLogits]}
	if n := m.Outputs[bundle.OutCenterness]; n != "" {
		t.centerness = true
		outNames = append(outNames, n)
	}
	if len(o.Vocab) > 0 {
		if t.prompts, err = t.EncodeNames(o.Vocab); err != nil {
			return nil, fmt.Errorf("teacher %s: %w", b.Identity, err)
		}
		t.vocab = append([]string(nil), o.Vocab...)
	}
	s, err := ort.Acquire(ort.Key{Identity: b.Identity, Path: b.Path(m.ONNX), Options: o.Session}, inNames, outNames)
	if err != nil {
		return nil, fmt.Errorf("teacher: %w", err)
	}
	t.s = s
	return t, nil
}

// InputShortEdge is the shorter side the bundle resizes images to; a
// decoder may shrink an image as long as it stays at least this large.
func (t *Teacher) InputShortEdge() int { return t.b.Manifest.Image.ShortestEdge }

// Close releases the teacher's session.
func (t *Teacher) Close() { t.s.Release() }

// Identity is the bundle's identity.
func (t *Teacher) Identity() string { return t.b.Identity }

// Params are the post-processing settings in use.
func (t *Teacher) Params() glip.Params { return t.params }

// Vocab is the vocabulary given to Open (nil: caption mode).
func (t *Teacher) Vocab() []string { return t.vocab }

// Encoded is a tokenized prompt with its positive map.
type Encoded struct {
	// Prompt is the prompt encoded (cut short when Truncated).
	Prompt glip.Prompt
	// IDs are the token ids, [CLS] … [SEP].
	IDs []int64
	// Offsets are each token's code-point span in Prompt.Text ([0, 0] for
	// special tokens).
	Offsets [][2]int
	// Pieces are the tokens' vocabulary entries (ScoreTokens mode only).
	Pieces []string
	// PhraseTokens are the token indices of each phrase (empty: skipped).
	PhraseTokens [][]int
	// Skipped counts phrases with no tokens (their span maps to none).
	Skipped int
	// Truncated says the text was over the token limit.
	Truncated bool
	// Dropped counts the phrases cut off with it (Prompt keeps the
	// others).
	Dropped int
}

// Text is what post-processing needs of the prompt.
func (e Encoded) Text() glip.Text {
	return glip.Text{Prompt: e.Prompt, PhraseTokens: e.PhraseTokens, Offsets: e.Offsets, Pieces: e.Pieces}
}

// Encode tokenizes a prompt and maps its phrases to tokens. A text over
// the token limit is cut at a phrase boundary: after the last phrase whose
// tokens all fit, the phrases after it dropped (counted in Dropped).
func (t *Teacher) Encode(p glip.Prompt) Encoded {
	enc := t.tok.Encode(p.Text)
	e := Encoded{Prompt: p, Truncated: enc.Truncated}
	if enc.Truncated && len(p.Phrases) > 0 {
		enc, e.Prompt = t.cut(p, enc)
		e.Dropped = len(p.Phrases) - len(e.Prompt.Phrases)
	}
	e.IDs, e.Offsets = enc.IDs, enc.Offsets
	e.PhraseTokens, e.Skipped = glip.PositiveMap(e.Prompt.Phrases, enc.Offsets)
	if t.pieces != nil {
		e.Pieces = make([]string, len(enc.IDs))
		for i, id := range enc.IDs {
			if id >= 0 && int(id) < len(t.pieces) {
				e.Pieces[i] = t.pieces[id]
			}
		}
	}
	return e
}

// cut shortens an over-long prompt to end with the last phrase that fits
// whole, and re-encodes it.
func (t *Teacher) cut(p glip.Prompt, enc wordpiece.Encoding) (wordpiece.Encoding, glip.Prompt) {
	limit := 0 // the end of the last token kept
	for _, o := range enc.Offsets {
		limit = max(limit, o[1])
	}
	runes := []rune(p.Text)
	for {
		var kept []glip.Phrase
		end := 0
		for _, ph := range p.Phrases {
			if ph.End <= limit && ph.End <= len(runes) {
				kept = append(kept, ph)
				end = max(end, ph.End)
			}
		}
		if len(kept) == 0 {
			return enc, glip.Prompt{Text: p.Text}
		}
		text := string(runes[:end])
		if e := t.tok.Encode(text); !e.Truncated {
			return e, glip.Prompt{Text: text, Phrases: kept}
		}
		limit = end - 1 // a prefix cut mid-word can take more tokens: drop one more phrase
	}
}

// EncodeCaption builds and encodes a caption's prompt: its noun phrases
// (glip.CaptionPrompt), or in ScoreTokens mode the caption itself, with a
// period appended when Params.CaptionPeriod asks for it.
func (t *Teacher) EncodeCaption(caption string) Encoded {
	if t.params.Scoring != glip.ScoreTokens {
		return t.Encode(glip.CaptionPrompt(caption))
	}
	text := caption
	if t.params.CaptionPeriod {
		if trimmed := strings.TrimRightFunc(caption, unicode.IsSpace); !strings.HasSuffix(trimmed, ".") {
			text = trimmed + "."
		}
	}
	return t.Encode(glip.Prompt{Text: text})
}

// EncodeNames builds and encodes the prompts of a vocabulary
// (glip.VocabPrompts): each fits the bundle's token limit and every name
// is a phrase of exactly one prompt, with LabelID its index in names.
func (t *Teacher) EncodeNames(names []string) ([]Encoded, error) {
	prompts, err := glip.VocabPrompts(names, t.params, func(s string) bool { return !t.tok.Encode(s).Truncated })
	if err != nil {
		return nil, err
	}
	out := make([]Encoded, len(prompts))
	for i, p := range prompts {
		out[i] = t.Encode(p)
	}
	return out, nil
}

// EncodeVocab returns the prompts of the vocabulary given to Open (nil in
// caption mode). They are shared: do not modify them.
func (t *Teacher) EncodeVocab() []Encoded { return t.prompts }

// Item is one image with its prompt, or in vocabulary mode its prompts.
type Item struct {
	// Image is the decoded image.
	Image *image.RGBA
	// FullW and FullH are the image's full size when Image was decoded
	// smaller (JPEG DCT scaling); zero means Image is full size. The input
	// size and the boxes follow the full size.
	FullW, FullH int
	// Prompt is its prompt (caption mode).
	Prompt Encoded
	// Prompts, when not empty, replace Prompt: the image runs against
	// each and their boxes are pooled before NMS and top-K.
	Prompts []Encoded
}

func (it Item) prompts() []Encoded {
	if len(it.Prompts) > 0 {
		return it.Prompts
	}
	return []Encoded{it.Prompt}
}

// Detect runs the teacher on a batch and returns each item's detections,
// in the items' order. Images are prepared once; the batch runs once per
// prompt round (round r holds every item's r-th prompt), prompts padded to
// the round's longest.
func (t *Teacher) Detect(ctx context.Context, items []Item) ([][]glip.Detection, error) {
	if len(items) == 0 {
		return nil, nil
	}
	imgs := t.prepare(items)
	rounds := 0
	for _, it := range items {
		rounds = max(rounds, len(it.prompts()))
	}
	cands := make([][]glip.Candidates, len(items))
	for r := range rounds {
		var idx []int
		var prompts []Encoded
		for i, it := range items {
			if ps := it.prompts(); r < len(ps) {
				idx = append(idx, i)
				prompts = append(prompts, ps[r])
			}
		}
		outs, err := t.run(ctx, imgs, idx, prompts)
		if err != nil {
			return nil, err
		}
		for k, i := range idx {
			cands[i] = append(cands[i], glip.Score(outs[k], prompts[k].Text(), imgs.geo[i], t.params))
		}
	}
	res := make([][]glip.Detection, len(items))
	for i, it := range items {
		names := 0
		for _, p := range it.prompts() {
			names += len(p.Prompt.Phrases)
		}
		res[i] = glip.Merge(imgs.geo[i], t.params, names, cands[i]...)
	}
	return res, nil
}

// prepared holds a batch's images as the graph takes them: pixels, or u8
// when the graph takes uint8 NHWC pixels.
type prepared struct {
	geo    []glip.Geometry
	pw, ph int
	pixels []float32 // [B,3,ph,pw]
	u8     []uint8   // [B,ph,pw,3]
	mask   []int64   // [B,ph,pw], when the graph takes a pixel mask
}

// bytes is the size of the batch's image tensor.
func (p prepared) bytes() int { return 4*len(p.pixels) + len(p.u8) }

// prepare resizes, normalizes (or, for a uint8 graph, lays out) and pads
// the items' images.
func (t *Teacher) prepare(items []Item) prepared {
	spec := t.b.Manifest.Image
	var p prepared
	p.geo = make([]glip.Geometry, len(items))
	resized := make([]*image.RGBA, len(items))
	maxW, maxH := 0, 0
	for i, it := range items {
		w, h := it.Image.Rect.Dx(), it.Image.Rect.Dy()
		if it.FullW > 0 && it.FullH > 0 {
			w, h = it.FullW, it.FullH
		}
		nw, nh := glip.InputSize(w, h, spec.ShortestEdge, spec.MaxSize)
		if nw == it.Image.Rect.Dx() && nh == it.Image.Rect.Dy() {
			resized[i] = imageproc.ToRGBA(it.Image)
		} else {
			resized[i] = turbo.Resize(imageproc.ToRGBA(it.Image), nw, nh)
		}
		p.geo[i] = glip.Geometry{OrigW: w, OrigH: h, ResizedW: nw, ResizedH: nh}
		maxW, maxH = max(maxW, nw), max(maxH, nh)
	}
	p.pw, p.ph = imageproc.RoundUp(maxW, spec.PadMultiple), imageproc.RoundUp(maxH, spec.PadMultiple)
	plane := p.pw * p.ph
	if t.uint8 {
		p.u8 = make([]uint8, len(items)*3*plane)
		for i := range items {
			t.norm.FillHWC(p.u8[i*3*plane:(i+1)*3*plane], p.pw, p.ph, resized[i])
		}
	} else {
		p.pixels = make([]float32, len(items)*3*plane)
		for i := range items {
			t.norm.Fill(p.pixels[i*3*plane:(i+1)*3*plane], p.pw, p.ph, resized[i])
		}
	}
	if t.has(bundle.InPixelMask) {
		p.mask = make([]int64, len(items)*plane)
		for i, g := range p.geo {
			m := p.mask[i*plane : (i+1)*plane]
			for y := range g.ResizedH {
				row := m[y*p.pw : y*p.pw+g.ResizedW]
				for x := range row {
					row[x] = 1
				}
			}
		}
	}
	return p
}

func (t *Teacher) has(role string) bool {
	for _, r := range t.roles {
		if r == role {
			return true
		}
	}
	return false
}

// inputs builds the graph's inputs for the images idx of imgs, each with
// its prompt.
func (t *Teacher) inputs(imgs prepared, idx []int, prompts []Encoded) (in []ort.Tensor, maxT int) {
	b := len(idx)
	plane := imgs.pw * imgs.ph
	pixels, u8, mask := imgs.pixels, imgs.u8, imgs.mask
	if b != len(imgs.geo) { // a subset: gather its images
		pixels, u8 = gather(pixels, idx, 3*plane), gather(u8, idx, 3*plane)
		mask = gather(mask, idx, plane)
	}
	for _, p := range prompts {
		maxT = max(maxT, len(p.IDs))
	}
	ids := make([]int64, b*maxT)
	att := make([]int64, b*maxT)
	for k, p := range prompts {
		copy(ids[k*maxT:], p.IDs)
		for j := range p.IDs {
			att[k*maxT+j] = 1
		}
	}
	for _, role := range t.roles {
		switch role {
		case bundle.InImage:
			if u8 != nil {
				in = append(in, ort.Tensor{Shape: []int64{int64(b), int64(imgs.ph), int64(imgs.pw), 3}, U8: u8})
			} else {
				in = append(in, ort.Tensor{Shape: []int64{int64(b), 3, int64(imgs.ph), int64(imgs.pw)}, F32: pixels})
			}
		case bundle.InInputIDs:
			in = append(in, ort.Tensor{Shape: []int64{int64(b), int64(maxT)}, I64: ids})
		case bundle.InAttentionMask:
			in = append(in, ort.Tensor{Shape: []int64{int64(b), int64(maxT)}, I64: att})
		case bundle.InPixelMask:
			in = append(in, ort.Tensor{Shape: []int64{int64(b), int64(imgs.ph), int64(imgs.pw)}, I64: mask})
		case bundle.InTokenTypeIDs:
			in = append(in, ort.Tensor{Shape: []int64{int64(b), int64(maxT)}, I64: make([]int64, b*maxT)})
		}
	}
	return in, maxT
}

// gather returns the items idx of src, each per values long, in order
// (nil for a nil src).
func gather[T any](src []T, idx []int, per int) []T {
	if src == nil {
		return nil
	}
	out := make([]T, len(idx)*per)
	for k, i := range idx {
		copy(out[k*per:(k+1)*per], src[i*per:(i+1)*per])
	}
	return out
}

// run runs one prompt round and splits the outputs per image.
func (t *Teacher) run(ctx context.Context, imgs prepared, idx []int, prompts []Encoded) ([]glip.Output, error) {
	in, maxT := t.inputs(imgs, idx, prompts)
	out, err := t.s.Run(ctx, in)
	if err != nil {
		return nil, err
	}
	b := int64(len(idx))
	boxes, logits := out[0], out[1]
	if len(boxes.Shape) != 3 || boxes.Shape[0] != b || boxes.Shape[2] != 4 ||
		len(logits.Shape) != 3 || logits.Shape[0] != b || logits.Shape[1] != boxes.Shape[1] || logits.Shape[2] < int64(maxT) {
		return nil, fmt.Errorf("teacher %s: outputs have shapes %v and %v, want [%d Q 4] and [%d Q %d]", t.b.Identity, boxes.Shape, logits.Shape, b, b, maxT)
	}
	q, tt := int(boxes.Shape[1]), int(logits.Shape[2])
	var ctr []float32
	if t.centerness {
		c := out[2]
		if len(c.Shape) != 2 || c.Shape[0] != b || c.Shape[1] != int64(q) {
			return nil, fmt.Errorf("teacher %s: centerness has shape %v, want [%d %d]", t.b.Identity, c.Shape, b, q)
		}
		ctr = c.F32
	}
	res := make([]glip.Output, len(idx))
	for k := range idx {
		res[k] = glip.Output{
			Boxes:   boxes.F32[k*q*4 : (k+1)*q*4],
			Logits:  logits.F32[k*q*tt : (k+1)*q*tt],
			Queries: q, Tokens: tt, Sigmoid: t.sigmoid, Format: t.format,
		}
		if ctr != nil {
			res[k].Centerness = ctr[k*q : (k+1)*q]
		}
	}
	return res, nil
}
