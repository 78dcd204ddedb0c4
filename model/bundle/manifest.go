// Package bundle loads and validates model bundles: a folder with
// model.json beside the ONNX file(s) and tokenizer files it names.
package bundle

// FormatVersion is the model.json format this package reads and writes.
const FormatVersion = 1

// ManifestFile is the manifest's file name inside a bundle folder.
const ManifestFile = "model.json"

// Kinds of bundle.
const (
	KindGrounding = "grounding"
	KindCLIP      = "clip"
)

// Box formats a grounding graph may emit.
const (
	BoxCXCYWHNorm = "cxcywh_norm"
	BoxXYXYPixels = "xyxy_pixels"
)

// Image inputs a bundle's graphs may take (ImageSpec.Input).
const (
	// InputFloat32NCHW is the default: [B,3,H,W] float32, normalised on
	// the host with the image spec's scale, mean and std.
	InputFloat32NCHW = "float32_nchw"
	// InputUInt8NHWC is raw 0–255 pixels, [B,H,W,3] uint8 in the bundle's
	// channel order; the graph casts, normalises with the spec's scale,
	// mean and std, and transposes. It moves a quarter of the bytes of
	// InputFloat32NCHW to a GPU.
	InputUInt8NHWC = "uint8_nhwc"
)

// Tensor roles a manifest maps to graph tensor names.
const (
	InImage         = "image"
	InInputIDs      = "input_ids"
	InAttentionMask = "attention_mask"
	InPixelMask     = "pixel_mask"
	InTokenTypeIDs  = "token_type_ids"
	InBoxes         = "boxes"
	OutBoxes        = "boxes"
	OutLogits       = "logits"
	OutCenterness   = "centerness"
	OutImageEmbeds  = "image_embeds"
	OutTextEmbeds   = "text_embeds"
	OutRegionEmbeds = "region_embeds"
)

// Manifest is model.json.
type Manifest struct {
	FormatVersion int    `json:"format_version"`
	Name          string `json:"name"`
	Kind          string `json:"kind"`
	// Files maps every file of the bundle to its sha256 (hex).
	Files map[string]string `json:"files"`
	// ONNX is the grounding graph's file.
	ONNX string `json:"onnx,omitempty"`
	// ImageONNX, TextONNX and RegionONNX are a CLIP bundle's graphs;
	// the text and region graphs are optional.
	ImageONNX  string `json:"image_onnx,omitempty"`
	TextONNX   string `json:"text_onnx,omitempty"`
	RegionONNX string `json:"region_onnx,omitempty"`
	// Inputs and Outputs map tensor roles (InImage, OutLogits, ...) to the
	// graph's tensor names.
	Inputs  map[string]string `json:"inputs"`
	Outputs map[string]string `json:"outputs"`
	// BoxFormat is BoxCXCYWHNorm or BoxXYXYPixels (grounding only).
	BoxFormat string `json:"box_format,omitempty"`
	// LogitsActivation is "none" (raw logits, sigmoid applied here) or
	// "sigmoid" (the graph already applied it).
	LogitsActivation string `json:"logits_activation,omitempty"`
	// EmbeddingDim is a CLIP bundle's embedding size.
	EmbeddingDim int       `json:"embedding_dim,omitempty"`
	Image        ImageSpec `json:"image"`
	Text         TextSpec  `json:"text"`
	// Fixtures, when set, names the bundle's fixtures file (FixturesFile
	// by convention): reference tokenizations and graph outputs that
	// `groundbeam models verify` checks the bundle against (see
	// LoadFixtures). It and the fixture images are listed in Files.
	Fixtures string `json:"fixtures,omitempty"`
}

// ImageSpec is how images are prepared for the graph.
type ImageSpec struct {
	// Resize is "shortest_edge" (grounding: ShortestEdge, capped so the
	// longest edge is at most MaxSize) or "square" (CLIP: Size×Size).
	Resize       string `json:"resize"`
	ShortestEdge int    `json:"shortest_edge,omitempty"`
	MaxSize      int    `json:"max_size,omitempty"`
	Size         int    `json:"size,omitempty"`
	PadMultiple  int    `json:"pad_multiple,omitempty"`
	// ChannelOrder is "RGB" or "BGR".
	ChannelOrder string `json:"channel_order"`
	// Scale is the pixel range the mean and std refer to: 255 for 0–255,
	// 1 for 0–1.
	Scale float32    `json:"scale"`
	Mean  [3]float32 `json:"mean"`
	Std   [3]float32 `json:"std"`
	// Input is the image tensor the graphs take: "" or InputFloat32NCHW
	// (the host normalises with Scale, Mean and Std) or InputUInt8NHWC
	// (raw pixels; the graph normalises with them). It applies to the
	// grounding graph's image, the CLIP image tower's and the region
	// graph's.
	Input string `json:"input,omitempty"`
}

// UInt8 reports whether the graphs take raw uint8 NHWC pixels.
func (s ImageSpec) UInt8() bool { return s.Input == InputUInt8NHWC }

// TextSpec is the bundle's tokenizer.
type TextSpec struct {
	// Tokenizer is "wordpiece" or "clip_bpe".
	Tokenizer string `json:"tokenizer"`
	// Vocab is the vocabulary file inside the bundle.
	Vocab     string `json:"vocab"`
	Lowercase bool   `json:"lowercase,omitempty"`
	// MaxTokens bounds a grounding prompt, special tokens included.
	MaxTokens int `json:"max_tokens,omitempty"`
	// ContextLength is CLIP's fixed text length.
	ContextLength int `json:"context_length,omitempty"`
}
