// Package tiny builds tiny, deterministic ONNX models in Go for tests and
// benchmarks: a GLIP-style open-vocabulary grounding model (Grounding) and
// CLIP image, text and region towers (CLIPImage, CLIPText, CLIPRegion),
// together with a matching toy WordPiece vocabulary (WordPieceVocab).
//
// Every model is returned as serialized ONNX ModelProto bytes (IR version 8,
// default-domain opset 17) using only operators that ONNX Runtime's CPU
// execution provider implements. Weights are small pseudo-random values
// drawn from math/rand/v2's PCG generator seeded by the options, so the same
// options always give byte-identical models with well-conditioned outputs.
// The models compute nothing meaningful; they only honour the input/output
// contracts of the real models and depend on their inputs' content.
package tiny
