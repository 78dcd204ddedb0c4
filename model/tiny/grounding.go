package tiny

import (
	"fmt"
	"math"

	"github.com/groundbeam/groundbeam/model/onnxpb"
)

// Default values of GroundingOptions.
const (
	// DefaultGroundingQueries is the default number of box queries Q.
	DefaultGroundingQueries = 32
	// DefaultGroundingVocabSize is the default number of token embedding rows.
	DefaultGroundingVocabSize = 1024
	// DefaultGroundingEmbedDim is the default query/token feature width E.
	DefaultGroundingEmbedDim = 32
	// DefaultGroundingHeavyWidth is the default width of the heavy layers.
	DefaultGroundingHeavyWidth = 256
)

// Streams of the weight generator, so that one part of a model keeps its
// weights when another part changes shape.
const (
	streamGrounding uint64 = iota + 1
	streamGroundingTokens
	streamGroundingHeavy
	streamCLIPVision
	streamCLIPText
)

// GroundingOptions configures Grounding; nil means defaults. Zero fields take
// their defaults; negative fields are an error.
type GroundingOptions struct {
	// Queries is the number of box queries Q (default 32).
	Queries int
	// VocabSize is the number of token embedding rows (default 1024); it
	// must cover every token id fed to the model, e.g. WordPieceVocab(n)
	// with n <= VocabSize.
	VocabSize int
	// EmbedDim is the query/token feature width E (default 32).
	EmbedDim int
	// HeavyLayers is the number of extra hidden MatMul+Relu layers applied
	// to the query features (default 0). It only makes inference heavier
	// (for benchmarks); its residual contribution to the outputs is small.
	HeavyLayers int
	// HeavyWidth is the width of the heavy layers (default 256).
	HeavyWidth int
	// Seed selects the deterministic weights.
	Seed uint64
}

// withDefaults validates o and fills in defaults.
func (o *GroundingOptions) withDefaults() (GroundingOptions, error) {
	var r GroundingOptions
	if o != nil {
		r = *o
	}
	for _, f := range []struct {
		name string
		v    *int
		def  int
	}{
		{"queries", &r.Queries, DefaultGroundingQueries},
		{"vocab size", &r.VocabSize, DefaultGroundingVocabSize},
		{"embed dim", &r.EmbedDim, DefaultGroundingEmbedDim},
		{"heavy layers", &r.HeavyLayers, 0},
		{"heavy width", &r.HeavyWidth, DefaultGroundingHeavyWidth},
	} {
		if *f.v < 0 {
			return r, fmt.Errorf("grounding options: negative %s %d", f.name, *f.v)
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	return r, nil
}

// Grounding returns a serialized ONNX model with the GLIP-style grounding
// contract:
//
//	inputs:  pixel_values   float32 [B,3,H,W]
//	         input_ids      int64   [B,T]
//	         attention_mask int64   [B,T]
//	outputs: pred_boxes     float32 [B,Q,4]  (cx,cy,w,h, each in (0,1))
//	         logits         float32 [B,Q,T]  (about -1e4 where the mask is 0)
//
// B, H, W and T are symbolic. Image features (global average and max pools
// plus a coarse 4x4 spatial pool) drive Q query features; boxes are a sigmoid
// of a linear map of them and logits are query·token-embedding similarities
// plus a per-token bias. The weights are deterministic in opts.Seed.
func Grounding(opts *GroundingOptions) ([]byte, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	q, v, e := o.Queries, o.VocabSize, o.EmbedDim
	w := newWeights(o.Seed, streamGrounding)
	b := newGraph("tiny_grounding")
	const f32 = onnxpb.TensorProto_FLOAT
	pix := b.input("pixel_values", f32, "B", 3, "H", "W")
	ids := b.input("input_ids", onnxpb.TensorProto_INT64, "B", "T")
	mask := b.input("attention_mask", onnxpb.TensorProto_INT64, "B", "T")

	// Image features [B,54]: global mean, global max and a coarse 4x4 map
	// (8x8 average pooling against aliasing, then a bilinear resize).
	gap := b.op("Flatten", []string{b.op("GlobalAveragePool", []string{pix})}, attrInt("axis", 1))
	gmp := b.op("Flatten", []string{b.op("GlobalMaxPool", []string{pix})}, attrInt("axis", 1))
	pooled := b.op("AveragePool", []string{pix},
		attrInts("kernel_shape", 8, 8), attrInts("strides", 8, 8), attrString("auto_pad", "SAME_UPPER"))
	bc := b.op("Shape", []string{pix}, attrInt("start", 0), attrInt("end", 2))
	sizes := b.op("Concat", []string{bc, b.ints1("coarse_hw", 4, 4)}, attrInt("axis", 0))
	coarse := b.op("Resize", []string{pooled, "", "", sizes}, attrString("mode", "linear"))
	coarse = b.op("Flatten", []string{coarse}, attrInt("axis", 1))
	const nFeat = 3 + 3 + 3*4*4
	feat := b.op("Concat", []string{gap, gmp, coarse}, attrInt("axis", 1))

	// Query features [B,Q,E], bounded by Tanh.
	const hidden = 64
	h := b.op("Tanh", []string{b.linear(feat, w, nFeat, hidden, 1/math.Sqrt(nFeat), 0.1)})
	qf := b.linear(h, w, hidden, q*e, 1/math.Sqrt(hidden), 0)
	qf = b.op("Reshape", []string{qf, b.ints1("query_shape", -1, int64(q), int64(e))})
	qf = b.op("Add", []string{qf, b.initF32("query_embed", []int64{int64(q), int64(e)}, w.normal(q*e, 0.5))})
	qf = b.op("Tanh", []string{qf})

	if o.HeavyLayers > 0 {
		hw := newWeights(o.Seed, streamGroundingHeavy)
		z := b.op("Relu", []string{b.linear(qf, hw, e, o.HeavyWidth, math.Sqrt(2/float64(e)), 0.01)})
		// The hidden layers share one weight matrix and bias: the cost of
		// inference grows with HeavyLayers, the bundle's size (and the
		// time to hash it) does not.
		hidden := b.initF32("heavy_w", []int64{int64(o.HeavyWidth), int64(o.HeavyWidth)},
			hw.normal(o.HeavyWidth*o.HeavyWidth, math.Sqrt(2/float64(o.HeavyWidth))))
		hiddenBias := b.initF32("heavy_b", []int64{int64(o.HeavyWidth)}, hw.normal(o.HeavyWidth, 0.01))
		for range o.HeavyLayers - 1 {
			z = b.op("Relu", []string{b.op("Add", []string{b.op("MatMul", []string{z, hidden}), hiddenBias})})
		}
		delta := b.op("Tanh", []string{b.linear(z, hw, o.HeavyWidth, e, 1/math.Sqrt(float64(o.HeavyWidth)), 0)})
		delta = b.op("Mul", []string{delta, b.scalarF32("heavy_scale", 0.05)})
		qf = b.op("Add", []string{qf, delta})
	}

	// Boxes: sigmoid(linear(query) + per-query prior). The features are
	// bounded, so the pre-activations are too and the sigmoid never
	// saturates to exactly 0 or 1.
	u := w.uniform(4*q, 0, 1)
	prior := make([]float32, 4*q)
	for i := range q {
		prior[4*i] = float32(logit(0.2 + 0.6*float64(u[4*i])))     // cx in [0.2,0.8]
		prior[4*i+1] = float32(logit(0.2 + 0.6*float64(u[4*i+1]))) // cy in [0.2,0.8]
		prior[4*i+2] = float32(logit(0.1 + 0.3*float64(u[4*i+2]))) // w in [0.1,0.4]
		prior[4*i+3] = float32(logit(0.1 + 0.3*float64(u[4*i+3]))) // h in [0.1,0.4]
	}
	box := b.linear(qf, w, e, 4, 0.5/math.Sqrt(float64(e)), 0)
	box = b.op("Add", []string{box, b.initF32("box_prior", []int64{int64(q), 4}, prior)})
	b.opTo("pred_boxes", "Sigmoid", []string{box})
	b.output("pred_boxes", f32, "B", q, 4)

	// Logits [B,Q,T] = alpha * query·token + token bias + offset + (1-mask)*(-1e4).
	// The negative offset makes most (query, token) pairs unlikely, as a
	// trained detector's are, so only a few boxes per phrase pass.
	tw := newWeights(o.Seed, streamGroundingTokens)
	emb := b.initF32("token_embed", []int64{int64(v), int64(e)}, tw.normal(v*e, 1/math.Sqrt(float64(e))))
	tokBias := b.initF32("token_bias", []int64{int64(v)}, tw.normal(v, 1.2))
	te := b.op("Gather", []string{emb, ids}, attrInt("axis", 0))
	te = b.op("Transpose", []string{te}, attrInts("perm", 0, 2, 1))
	sim := b.op("MatMul", []string{qf, te})
	sim = b.op("Mul", []string{sim, b.scalarF32("logit_scale", 3)})
	tb := b.op("Gather", []string{tokBias, ids}, attrInt("axis", 0))
	mf := b.op("Cast", []string{mask}, attrInt("to", int64(f32)))
	pen := b.op("Mul", []string{b.op("Sub", []string{b.scalarF32("one", 1), mf}), b.scalarF32("mask_penalty", -1e4)})
	tb = b.op("Add", []string{tb, pen})
	tb = b.op("Add", []string{tb, b.scalarF32("logit_offset", -2)})
	tb = b.op("Unsqueeze", []string{tb, b.ints1("axis_q", 1)})
	b.opTo("logits", "Add", []string{sim, tb})
	b.output("logits", f32, "B", q, "T")

	return b.model(fmt.Sprintf("tiny deterministic GLIP-style grounding model (Q=%d, vocab=%d, E=%d, heavy=%dx%d, seed=%d)",
		q, v, e, o.HeavyLayers, o.HeavyWidth, o.Seed))
}

// logit is the inverse of the logistic sigmoid.
func logit(p float64) float64 {
	return math.Log(p / (1 - p))
}
