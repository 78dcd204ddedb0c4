package glip

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// Scoring modes of [Params.Scoring].
const (
	// ScorePhrases is GLIP's scoring: every (query, phrase) pair is a
	// candidate scored by aggregating the phrase's token probabilities.
	ScorePhrases = "phrases"
	// ScoreTokens is Grounding DINO's scoring: a query is kept when its
	// highest token probability passes BoxThreshold, and its phrase is made
	// of the tokens whose probability passes TextThreshold.
	ScoreTokens = "tokens"
)

// Aggregations of [Params.Aggregate].
const (
	// AggregateMean averages the phrase's token probabilities (GLIP's
	// MODEL.DYHEAD.SCORE_AGG "MEAN").
	AggregateMean = "mean"
	// AggregateMax takes their maximum (GLIP's "MAX", Grounding DINO's
	// rule).
	AggregateMax = "max"
)

// LargeVocab is the vocabulary size above which [Params.TopKLargeVocab]
// replaces [Params.TopK] (GLIP evaluates LVIS, 1,203 names, with 300
// detections per image).
const LargeVocab = 1000

// Params are the post-processing settings. [DefaultParams] and [Preset]
// give the reference settings; every field may be changed.
type Params struct {
	// Scoring is ScorePhrases (GLIP; "" means it) or ScoreTokens
	// (Grounding DINO).
	Scoring string `json:"scoring"`

	// Aggregate is how token probabilities make a phrase score in
	// ScorePhrases mode: AggregateMean (GLIP; "" means it) or AggregateMax.
	Aggregate string `json:"aggregate"`
	// PreThreshold keeps a (query, phrase) candidate only when its phrase
	// score, before centerness, is strictly above it (GLIP
	// MODEL.ATSS.INFERENCE_TH, 0.05).
	PreThreshold float32 `json:"pre_threshold"`
	// PreTopN keeps, per prompt (per FPN level when the output gives
	// levels), at most this many candidates with the best phrase score ×
	// centerness (GLIP MODEL.ATSS.PRE_NMS_TOP_N, 1000; 0: no limit).
	PreTopN int `json:"pre_top_n"`

	// BoxThreshold keeps a query in ScoreTokens mode when its highest token
	// probability is strictly above it (Grounding DINO's box_threshold,
	// 0.35).
	BoxThreshold float32 `json:"box_threshold"`
	// TextThreshold selects, in ScoreTokens mode, the tokens whose
	// probability is strictly above it as the query's phrase (Grounding
	// DINO's text_threshold, 0.25).
	TextThreshold float32 `json:"text_threshold"`

	// NMSIoU is the class-wise NMS threshold: a box is suppressed by a
	// better one of the same class whose IoU with it is strictly above
	// NMSIoU (GLIP MODEL.ATSS.NMS_TH, 0.6). NMSIoU <= 0 disables NMS, as in
	// maskrcnn-benchmark's boxlist_ml_nms.
	NMSIoU float32 `json:"nms_iou"`
	// TopK keeps at most this many boxes per image after NMS (GLIP
	// MODEL.ATSS.DETECTIONS_PER_IMG, 100; 0: no limit). Like GLIP, the
	// boxes tied with the K-th best score are all kept.
	TopK int `json:"top_k"`
	// TopKLargeVocab replaces TopK in vocabulary mode with more than
	// LargeVocab names (GLIP's LVIS setting, 300; 0: use TopK).
	TopKLargeVocab int `json:"top_k_large_vocab"`
	// ScoreThreshold drops final boxes whose score is not strictly above
	// it (GLIP's demo compares scores > threshold). GLIP's evaluation has
	// none; the corpus default is 0.3.
	ScoreThreshold float32 `json:"score_threshold"`

	// LegacyPixels follows maskrcnn-benchmark's pixel convention
	// (TO_REMOVE = 1), as GLIP does: boxes are clipped to [0, W−1] ×
	// [0, H−1] of the resized image, boxes with x2 − x1 + 1 < 0 or
	// y2 − y1 + 1 < 0 are removed, and NMS measures widths and heights as
	// x2 − x1 + 1. Off, boxes are continuous (Grounding DINO).
	LegacyPixels bool `json:"legacy_pixels"`

	// CaptionPeriod appends "." to a caption whose last non-space
	// character is not one, as Grounding DINO's preprocess_caption does.
	CaptionPeriod bool `json:"caption_period"`

	// VocabSeparator goes between two names of a vocabulary prompt (GLIP's
	// DATASETS.SEPARATION_TOKENS ". "; Grounding DINO " . ").
	VocabSeparator string `json:"vocab_separator"`
	// VocabTerminator ends every vocabulary prompt (GLIP "", Grounding
	// DINO " .").
	VocabTerminator string `json:"vocab_terminator"`
	// CleanNames rewrites names as GLIP's clean_name does before building
	// vocabulary prompts: "(…)" removed, "_" made a space, double spaces
	// made single.
	CleanNames bool `json:"clean_names"`
	// MaxNamesPerPrompt caps the names of one vocabulary prompt (0: as many
	// as fit the token limit). GLIP's LVIS evaluation used chunks of 40
	// (TEST.CHUNKED_EVALUATION).
	MaxNamesPerPrompt int `json:"max_names_per_prompt"`
}

// DefaultParams are GLIP's inference settings: mean aggregation,
// pre-NMS threshold 0.05 and top-N 1000, class-wise NMS at IoU 0.6, 100
// boxes per image (300 over 1,000 names), maskrcnn-benchmark's pixel
// convention, vocabulary prompts "name. name. name", and the corpus's final
// score threshold 0.3.
func DefaultParams() Params {
	return Params{
		Scoring: ScorePhrases, Aggregate: AggregateMean,
		PreThreshold: 0.05, PreTopN: 1000,
		NMSIoU: 0.6, TopK: 100, TopKLargeVocab: 300, ScoreThreshold: 0.3,
		LegacyPixels:   true,
		VocabSeparator: ". ", CleanNames: true,
	}
}

// Preset names for [Preset].
const (
	PresetGLIP          = "glip"
	PresetGroundingDINO = "grounding-dino"
)

// Preset returns the settings of a reference model: "glip"
// ([DefaultParams]) or "grounding-dino": token scoring with box threshold
// 0.35 and text threshold 0.25, score = the highest token probability, no
// NMS and no top-K (Grounding DINO keeps every query over the box
// threshold), continuous pixels, a period appended to captions and
// vocabulary prompts "name . name . name .".
func Preset(name string) (Params, error) {
	switch name {
	case PresetGLIP:
		return DefaultParams(), nil
	case PresetGroundingDINO:
		return Params{
			Scoring: ScoreTokens, Aggregate: AggregateMax,
			BoxThreshold: 0.35, TextThreshold: 0.25,
			CaptionPeriod:  true,
			VocabSeparator: " . ", VocabTerminator: " .",
		}, nil
	}
	return Params{}, fmt.Errorf("glip: unknown preset %q (want %q or %q)", name, PresetGLIP, PresetGroundingDINO)
}

// Validate reports settings that cannot work.
func (p Params) Validate() error {
	var errs []error
	switch p.Scoring {
	case "", ScorePhrases, ScoreTokens:
	default:
		errs = append(errs, fmt.Errorf("scoring %q: want %q or %q", p.Scoring, ScorePhrases, ScoreTokens))
	}
	switch p.Aggregate {
	case "", AggregateMean, AggregateMax:
	default:
		errs = append(errs, fmt.Errorf("aggregate %q: want %q or %q", p.Aggregate, AggregateMean, AggregateMax))
	}
	for _, f := range []struct {
		name string
		v    float32
	}{{"pre-threshold", p.PreThreshold}, {"box threshold", p.BoxThreshold}, {"text threshold", p.TextThreshold},
		{"score threshold", p.ScoreThreshold}, {"nms iou", p.NMSIoU}} {
		if f.v != f.v || f.v > 1 {
			errs = append(errs, fmt.Errorf("%s %g: want a number of at most 1", f.name, f.v))
		}
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"pre-nms top-n", p.PreTopN}, {"top-k", p.TopK}, {"large-vocabulary top-k", p.TopKLargeVocab}, {"names per prompt", p.MaxNamesPerPrompt}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("%s %d: want 0 (no limit) or more", f.name, f.v))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("glip params: %w", err)
	}
	return nil
}

// TopKFor is the top-K for a prompt set of n names or phrases.
func (p Params) TopKFor(n int) int {
	if n > LargeVocab && p.TopKLargeVocab > 0 {
		return p.TopKLargeVocab
	}
	return p.TopK
}

func (p Params) tokenMode() bool { return p.Scoring == ScoreTokens }

// Hash identifies the parameters, for the rows' provenance.
func (p Params) Hash() string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%+v", p)))
	return hex.EncodeToString(sum[:])[:12]
}
