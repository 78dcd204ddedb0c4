// Package glip turns a grounding model's raw outputs into grounded boxes
// the way GLIP's inference does: prompts built from caption phrases or a
// class vocabulary, a positive map from phrase character spans to tokens,
// per-phrase scores from token logits, thresholds, class-wise NMS, top-K,
// and boxes mapped back to original-image pixels.
//
// It is pure Go: no ONNX Runtime, no Beam.
package glip
