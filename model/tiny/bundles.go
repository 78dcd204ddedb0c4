package tiny

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/groundbeam/groundbeam/model/bpe"
	"github.com/groundbeam/groundbeam/model/bundle"
)

// BundleOptions configure WriteBundles; nil means defaults.
type BundleOptions struct {
	// Grounding configures the teacher graph.
	Grounding *GroundingOptions
	// CLIP configures the CLIP towers.
	CLIP *CLIPOptions
	// ShortestEdge and MaxSize are the teacher's resize rule (defaults 256
	// and 416: small, so the CPU demo is quick).
	ShortestEdge, MaxSize int
	// UInt8Input makes the image-taking graphs (teacher, CLIP image tower
	// and region graph) take raw uint8 NHWC pixels, model.json's image.input
	// uint8_nhwc: the same graphs and weights behind a prefix that casts,
	// normalises with the bundle's scale, mean and std, and transposes to
	// NCHW.
	UInt8Input bool
	// ORTLib is the ONNX Runtime library the fixtures' references are
	// computed with when the process has no ONNX Runtime environment yet
	// (found as ort.Start finds it: this path, $GROUNDBEAM_ORT_LIB, the
	// cache folders); an existing environment is used as it is.
	ORTLib string
}

// Bundle names of the tiny models.
const (
	TeacherName = "glip-tiny"
	CLIPName    = "clip-tiny"
)

// WriteBundles writes a grounding bundle to dir/teacher and a CLIP bundle
// to dir/clip, and returns them loaded and validated. The CLIP bundle holds
// the image tower (image.onnx), the RoiAlign region graph (region.onnx),
// the text tower (text.onnx) and OpenAI CLIP's real BPE merges file with
// its MIT licence, so text is tokenized exactly as for a real CLIP bundle.
// The text tower needs CLIP's vocabulary size (49408, end-of-text 49407):
// CLIPOptions.VocabSize must be 0 or DefaultCLIPVocabSize.
//
// The graphs' weights follow CLIPOptions.Seed, so another seed gives
// another bundle identity and other embeddings.
//
// Each bundle holds fixtures (fixtures.json and PNG images under
// fixtures/, see bundle.Fixtures) that `groundbeam models verify` checks
// it against: token fixtures from the Go tokenizers, and image, text,
// region and grounding cases whose references are the graphs' outputs
// computed when the bundle is written, by ONNX Runtime's CPU provider on
// one thread (FixturesSource), from inputs prepared by code of this
// package rather than the jobs'. So for a tiny bundle the references are
// ONNX Runtime on the CPU at generation time, where an exported bundle
// carries PyTorch's; WriteBundles needs ONNX Runtime (ORTLib).
func WriteBundles(dir string, opts *BundleOptions) (teacher, clip *bundle.Bundle, err error) {
	var o BundleOptions
	if opts != nil {
		o = *opts
	}
	if o.ShortestEdge <= 0 {
		o.ShortestEdge = 256
	}
	if o.MaxSize <= 0 {
		o.MaxSize = 416
	}
	if err := startORT(o.ORTLib); err != nil {
		return nil, nil, err
	}
	g, err := o.Grounding.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	teacherImage := bundle.ImageSpec{Resize: "shortest_edge", ShortestEdge: o.ShortestEdge, MaxSize: o.MaxSize, PadMultiple: 32,
		ChannelOrder: "RGB", Scale: 255, Mean: [3]float32{123.675, 116.28, 103.53}, Std: [3]float32{58.395, 57.12, 57.375}}
	clipImage := bundle.ImageSpec{Resize: "square", Size: CLIPImageSize, ChannelOrder: "RGB", Scale: 1,
		Mean: [3]float32{0.48145466, 0.4578275, 0.40821073}, Std: [3]float32{0.26862954, 0.26130258, 0.27577711}}
	// pixels puts the uint8 prefix in front of an image-taking graph when
	// UInt8Input asks for it.
	pixels := func(model []byte, spec bundle.ImageSpec) ([]byte, error) {
		if !o.UInt8Input {
			return model, nil
		}
		return withUInt8Input(model, "pixel_values", spec)
	}
	if o.UInt8Input {
		teacherImage.Input, clipImage.Input = bundle.InputUInt8NHWC, bundle.InputUInt8NHWC
	}
	graph, err := Grounding(&g)
	if err != nil {
		return nil, nil, err
	}
	if graph, err = pixels(graph, teacherImage); err != nil {
		return nil, nil, fmt.Errorf("tiny teacher: %w", err)
	}
	vocab := WordPieceVocab(g.VocabSize)
	teacher, err = writeWithFixtures(filepath.Join(dir, "teacher"), bundle.Manifest{
		Name: TeacherName, Kind: bundle.KindGrounding, ONNX: "model.onnx",
		Inputs:           map[string]string{bundle.InImage: "pixel_values", bundle.InInputIDs: "input_ids", bundle.InAttentionMask: "attention_mask"},
		Outputs:          map[string]string{bundle.OutBoxes: "pred_boxes", bundle.OutLogits: "logits"},
		BoxFormat:        bundle.BoxCXCYWHNorm,
		LogitsActivation: "none",
		Image:            teacherImage,
		Text:             bundle.TextSpec{Tokenizer: "wordpiece", Vocab: "vocab.txt", Lowercase: true, MaxTokens: 256},
	}, map[string][]byte{"model.onnx": graph, "vocab.txt": []byte(strings.Join(vocab, "\n") + "\n")})
	if err != nil {
		return nil, nil, fmt.Errorf("tiny teacher: %w", err)
	}
	c, err := o.CLIP.withDefaults()
	if err != nil {
		return nil, nil, err
	}
	if c.VocabSize != DefaultCLIPVocabSize {
		return nil, nil, fmt.Errorf("tiny clip: vocab size %d: the bundle's text tower reads CLIP BPE ids and needs %d",
			c.VocabSize, DefaultCLIPVocabSize)
	}
	img, err := CLIPImage(&c)
	if err != nil {
		return nil, nil, err
	}
	if img, err = pixels(img, clipImage); err != nil {
		return nil, nil, fmt.Errorf("tiny clip: %w", err)
	}
	region, err := CLIPRegion(&c)
	if err != nil {
		return nil, nil, err
	}
	if region, err = pixels(region, clipImage); err != nil {
		return nil, nil, fmt.Errorf("tiny clip: %w", err)
	}
	text, err := CLIPText(&c)
	if err != nil {
		return nil, nil, err
	}
	clip, err = writeWithFixtures(filepath.Join(dir, "clip"), bundle.Manifest{
		Name: CLIPName, Kind: bundle.KindCLIP, ImageONNX: "image.onnx", TextONNX: "text.onnx", RegionONNX: "region.onnx",
		Inputs: map[string]string{bundle.InImage: "pixel_values", bundle.InBoxes: "boxes", bundle.InInputIDs: "input_ids"},
		Outputs: map[string]string{bundle.OutImageEmbeds: "image_embeds", bundle.OutRegionEmbeds: "region_embeds",
			bundle.OutTextEmbeds: "text_embeds"},
		EmbeddingDim: c.EmbedDim,
		Image:        clipImage,
		Text:         bundle.TextSpec{Tokenizer: "clip_bpe", Vocab: bpe.VocabFile, ContextLength: CLIPContextLength},
	}, map[string][]byte{
		"image.onnx": img, "region.onnx": region, "text.onnx": text,
		bpe.VocabFile: bpe.DefaultVocab(), bpe.LicenseFile: bpe.DefaultVocabLicense(),
	})
	if err != nil {
		return nil, nil, fmt.Errorf("tiny clip: %w", err)
	}
	return teacher, clip, nil
}
