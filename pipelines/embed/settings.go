package embed

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/groundbeam/groundbeam/model/clip"
	"github.com/groundbeam/groundbeam/model/imageproc"
	"github.com/groundbeam/groundbeam/schemas"
	"github.com/groundbeam/groundbeam/transforms/region"
	"github.com/groundbeam/groundbeam/transforms/sink"
)

// Settings are what the embed job's rows depend on, as the manifest and
// OUT/_settings.json record them; a --resume run must have the same.
type Settings struct {
	Job           string `json:"job"`
	SchemaVersion int    `json:"schema_version"`
	CLIP          string `json:"clip"`
	// Input is the previous run's output folder and the identity of the
	// files its manifest lists (the sha256 of their paths and sha256s),
	// or, for COCO input, the instances file's identity, its images
	// folder and the chunk size.
	Input          InputID   `json:"input"`
	Scales         []float64 `json:"clip_scales"`
	CPUCrops       bool      `json:"cpu_crops"`
	ClipScore      bool      `json:"clip_score"`
	EmbeddingDType string    `json:"embedding_dtype"`
	DecodeMinShort int       `json:"decode_min_short"`
	MaxPixels      int       `json:"max_pixels"`
}

// InputID identifies what an embed run reads.
type InputID struct {
	URI string `json:"uri"`
	// Files is set for a previous run's output, COCO, Images and Chunk
	// for an instances file.
	Files  string `json:"files,omitempty"`
	COCO   string `json:"coco,omitempty"`
	Images string `json:"images,omitempty"`
	Chunk  int    `json:"chunk,omitempty"`
}

// runSettings records cfg's effective values (defaults filled in).
func runSettings(cfg Config, plan Plan, in InputID) (sink.Settings, error) {
	s := Settings{Job: "embed", SchemaVersion: schemas.Version, CLIP: plan.CLIP, Input: in,
		Scales: cfg.Scales, CPUCrops: cfg.CPUCrops, ClipScore: cfg.ClipScore, EmbeddingDType: "float32",
		DecodeMinShort: plan.DecodeMinShort, MaxPixels: cfg.MaxPixels}
	if len(s.Scales) == 0 {
		s.Scales = clip.DefaultScales()
	}
	if cfg.Float16 {
		s.EmbeddingDType = "float16"
	}
	if s.MaxPixels <= 0 {
		s.MaxPixels = imageproc.DefaultMaxPixels
	}
	if s.Input.COCO != "" && s.Input.Chunk <= 0 {
		s.Input.Chunk = region.DefaultChunk
	}
	return sink.NewSettings(s)
}

// filesID identifies a manifest's files by their paths and checksums.
func filesID(m *sink.Manifest) string {
	h := sha256.New()
	for _, f := range m.Files {
		fmt.Fprintf(h, "%s %s %s\n", f.Table, f.Path, f.SHA256)
	}
	return hex.EncodeToString(h.Sum(nil))
}
