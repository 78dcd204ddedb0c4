package tiny

import (
	"fmt"
	"math"

	"github.com/groundbeam/groundbeam/model/onnxpb"
)

// Fixed CLIP geometry and CLIPOptions defaults.
const (
	// CLIPImageSize is the square input resolution of CLIPImage and the
	// RoiAlign output size of CLIPRegion.
	CLIPImageSize = 224
	// CLIPContextLength is the token sequence length of CLIPText.
	CLIPContextLength = 77
	// DefaultCLIPEmbedDim is the default embedding width D.
	DefaultCLIPEmbedDim = 64
	// DefaultCLIPVocabSize is the default text vocabulary size (OpenAI
	// CLIP's BPE vocabulary).
	DefaultCLIPVocabSize = 49408
)

// clipPatch is the side of the average-pooling window of the vision tower:
// 224/28 = 8, so the pooled map is [N,3,8,8] = 192 features.
const clipPatch = 28

// CLIPOptions configures the CLIP towers; nil means defaults. Zero fields
// take their defaults; negative fields are an error.
type CLIPOptions struct {
	// EmbedDim is the embedding width D (default 64).
	EmbedDim int
	// VocabSize is the text vocabulary size (default 49408); the last id,
	// VocabSize-1, is the end-of-text token.
	VocabSize int
	// Seed selects the deterministic weights.
	Seed uint64
}

// withDefaults validates o and fills in defaults.
func (o *CLIPOptions) withDefaults() (CLIPOptions, error) {
	var r CLIPOptions
	if o != nil {
		r = *o
	}
	if r.EmbedDim < 0 {
		return r, fmt.Errorf("clip options: negative embed dim %d", r.EmbedDim)
	}
	if r.VocabSize < 0 {
		return r, fmt.Errorf("clip options: negative vocab size %d", r.VocabSize)
	}
	if r.EmbedDim == 0 {
		r.EmbedDim = DefaultCLIPEmbedDim
	}
	if r.VocabSize == 0 {
		r.VocabSize = DefaultCLIPVocabSize
	}
	return r, nil
}

// clipVisionHead appends the vision tower to b, mapping x [N,3,224,224] to
// [N,D]. The weights are drawn in a fixed order from the vision stream, so
// CLIPImage and CLIPRegion share them exactly.
func clipVisionHead(b *graph, x string, o CLIPOptions) string {
	w := newWeights(o.Seed, streamCLIPVision)
	d := o.EmbedDim
	const side = CLIPImageSize / clipPatch
	const nFeat = 3 * side * side
	p := b.op("AveragePool", []string{x},
		attrInts("kernel_shape", clipPatch, clipPatch), attrInts("strides", clipPatch, clipPatch))
	f := b.op("Flatten", []string{p}, attrInt("axis", 1))
	h := b.op("Tanh", []string{b.linear(f, w, nFeat, d, 1/math.Sqrt(nFeat), 0.1)})
	return b.linear(h, w, d, d, 1/math.Sqrt(float64(d)), 0.02)
}

// CLIPImage returns a serialized ONNX CLIP image tower:
//
//	input:  pixel_values float32 [B,3,224,224]  (CLIP-normalised)
//	output: image_embeds float32 [B,D]          (not L2-normalised)
//
// It is AveragePool(28x28) → Flatten [B,192] → Linear → Tanh → Linear.
func CLIPImage(opts *CLIPOptions) ([]byte, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	b := newGraph("tiny_clip_image")
	pix := b.input("pixel_values", onnxpb.TensorProto_FLOAT, "B", 3, CLIPImageSize, CLIPImageSize)
	out := clipVisionHead(b, pix, o)
	b.opTo("image_embeds", "Identity", []string{out})
	b.output("image_embeds", onnxpb.TensorProto_FLOAT, "B", o.EmbedDim)
	return b.model(fmt.Sprintf("tiny deterministic CLIP image tower (D=%d, seed=%d)", o.EmbedDim, o.Seed))
}

// CLIPRegion returns a serialized ONNX model embedding boxes of one image
// with the CLIPImage tower of the same options:
//
//	inputs: pixel_values  float32 [1,3,H,W]  (CLIP-normalised, H,W symbolic)
//	        boxes         float32 [K,4]      (x1,y1,x2,y2 in pixels)
//	output: region_embeds float32 [K,D]
//
// Each box is cropped and resized to 224x224 by RoiAlign (avg, half_pixel,
// sampling_ratio 2) and fed to exactly the layers and weights of CLIPImage, so
// the result approximates CLIPImage on a bilinear crop of the box.
func CLIPRegion(opts *CLIPOptions) ([]byte, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	b := newGraph("tiny_clip_region")
	pix := b.input("pixel_values", onnxpb.TensorProto_FLOAT, 1, 3, "H", "W")
	boxes := b.input("boxes", onnxpb.TensorProto_FLOAT, "K", 4)
	k := b.op("Gather", []string{b.op("Shape", []string{boxes}), b.ints1("dim0", 0)}, attrInt("axis", 0))
	batch := b.op("ConstantOfShape", []string{k}, attrTensorI64("value", 0))
	crops := b.op("RoiAlign", []string{pix, boxes, batch},
		attrString("mode", "avg"),
		attrString("coordinate_transformation_mode", "half_pixel"),
		attrInt("output_height", CLIPImageSize),
		attrInt("output_width", CLIPImageSize),
		attrInt("sampling_ratio", 2),
		attrFloat("spatial_scale", 1))
	out := clipVisionHead(b, crops, o)
	b.opTo("region_embeds", "Identity", []string{out})
	b.output("region_embeds", onnxpb.TensorProto_FLOAT, "K", o.EmbedDim)
	return b.model(fmt.Sprintf("tiny deterministic CLIP region tower (D=%d, seed=%d)", o.EmbedDim, o.Seed))
}

// clipTokenRank is the width of CLIPText's token table, which a Linear
// layer widens to D: a full [49408,D] table would make the file 4×
// larger (12.6 MB at D=64) for no use in tests.
const clipTokenRank = 16

// CLIPText returns a serialized ONNX CLIP text tower:
//
//	input:  input_ids   int64   [B,77]
//	output: text_embeds float32 [B,D]  (not L2-normalised)
//
// Every id in [0, VocabSize) has its own row in a [VocabSize,16] token
// table, widened to D by a Linear layer. Token embeddings are averaged over
// the positions up to and including the first end-of-text id (VocabSize-1,
// so 49407 with the default size, as in CLIP; all 77 if there is none), so
// padding after it does not matter, then mapped by Linear → Tanh → Linear.
func CLIPText(opts *CLIPOptions) ([]byte, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	w := newWeights(o.Seed, streamCLIPText)
	d, v := o.EmbedDim, o.VocabSize
	const f32 = onnxpb.TensorProto_FLOAT
	b := newGraph("tiny_clip_text")
	ids := b.input("input_ids", onnxpb.TensorProto_INT64, "B", CLIPContextLength)
	emb := b.initF32("token_embed", []int64{int64(v), clipTokenRank}, w.normal(v*clipTokenRank, 1))
	te := b.linear(b.op("Gather", []string{emb, ids}, attrInt("axis", 0)), w, clipTokenRank, d, 1/math.Sqrt(clipTokenRank), 0)

	// keep[b,t] = 1 while no end-of-text id occurred strictly before t.
	isEOT := b.op("Cast", []string{b.op("Equal", []string{ids, b.initI64("eot", nil, []int64{int64(v - 1)})})}, attrInt("to", int64(f32)))
	before := b.op("CumSum", []string{isEOT, b.initI64("seq_axis", nil, []int64{1})}, attrInt("exclusive", 1))
	keep := b.op("Cast", []string{b.op("Less", []string{before, b.scalarF32("half", 0.5)})}, attrInt("to", int64(f32)))

	sum := b.op("ReduceSum", []string{
		b.op("Mul", []string{te, b.op("Unsqueeze", []string{keep, b.ints1("axis_d", 2)})}),
		b.ints1("axis_t", 1),
	}, attrInt("keepdims", 0))
	count := b.op("ReduceSum", []string{keep, b.ints1("axis_t", 1)}, attrInt("keepdims", 1))
	mean := b.op("Div", []string{sum, count})

	h := b.op("Tanh", []string{b.linear(mean, w, d, d, 2/math.Sqrt(float64(d)), 0.1)})
	out := b.linear(h, w, d, d, 1/math.Sqrt(float64(d)), 0.02)
	b.opTo("text_embeds", "Identity", []string{out})
	b.output("text_embeds", f32, "B", d)
	return b.model(fmt.Sprintf("tiny deterministic CLIP text tower (D=%d, vocab=%d, seed=%d)", d, v, o.Seed))
}
