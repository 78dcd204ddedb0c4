package label

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/groundbeam/groundbeam/model/clip"
	"github.com/groundbeam/groundbeam/model/glip"
	"github.com/groundbeam/groundbeam/model/imageproc"
	"github.com/groundbeam/groundbeam/model/label"
	"github.com/groundbeam/groundbeam/schemas"
	"github.com/groundbeam/groundbeam/transforms/sink"
)

// Settings are what the label job's rows depend on, as the manifest and
// OUT/_settings.json record them; a --resume run must have the same. The
// inputs are not part of them: a resumed run may be given more shards.
// Throughput settings (batch size, shards and batches in flight, threads,
// the execution provider) are not either.
type Settings struct {
	Job           string      `json:"job"`
	SchemaVersion int         `json:"schema_version"`
	Teacher       string      `json:"teacher"`
	CLIP          string      `json:"clip"`
	Params        glip.Params `json:"params"`
	// Vocabulary identifies a vocabulary run's class names; nil for
	// caption phrases.
	Vocabulary     *VocabularyID `json:"vocabulary"`
	CLIPScales     []float64     `json:"clip_scales"`
	CPUCrops       bool          `json:"cpu_crops"`
	ClipScore      bool          `json:"clip_score"`
	TeacherBoxes   bool          `json:"teacher_boxes"`
	Proposals      *FileID       `json:"proposals"`
	MaxProposals   int           `json:"max_proposals"`
	EmbeddingDType string        `json:"embedding_dtype"`
	DecodeMinShort int           `json:"decode_min_short"`
	MaxPixels      int           `json:"max_pixels"`
}

// VocabularyID identifies a class vocabulary: how many names, and the
// sha256 of the names joined by newlines.
type VocabularyID struct {
	Names  int    `json:"names"`
	SHA256 string `json:"sha256"`
}

// NewVocabularyID identifies a vocabulary.
func NewVocabularyID(names []string) VocabularyID {
	sum := sha256.Sum256([]byte(strings.Join(names, "\n")))
	return VocabularyID{Names: len(names), SHA256: hex.EncodeToString(sum[:])}
}

// FileID identifies a file read by the run: where, and its sha256.
type FileID struct {
	URI    string `json:"uri"`
	SHA256 string `json:"sha256"`
}

// runSettings records cfg's effective values (defaults filled in).
func runSettings(cfg Config, teacher, clipID string, params glip.Params, decodeMinShort int, proposalsSum string) (sink.Settings, error) {
	s := Settings{Job: "label", SchemaVersion: schemas.Version, Teacher: teacher, CLIP: clipID, Params: params,
		CLIPScales: cfg.CLIPScales, CPUCrops: cfg.CPUCrops, ClipScore: cfg.ClipScore, TeacherBoxes: !cfg.NoTeacherBoxes,
		EmbeddingDType: cfg.EmbeddingDType, DecodeMinShort: decodeMinShort, MaxPixels: cfg.MaxPixels}
	if len(s.CLIPScales) == 0 {
		s.CLIPScales = clip.DefaultScales()
	}
	if s.EmbeddingDType == "" {
		s.EmbeddingDType = DTypeFloat32
	}
	if s.MaxPixels <= 0 {
		s.MaxPixels = imageproc.DefaultMaxPixels
	}
	if len(cfg.Vocab) > 0 {
		id := NewVocabularyID(cfg.Vocab)
		s.Vocabulary = &id
	}
	if cfg.Proposals != "" {
		s.Proposals = &FileID{URI: cfg.Proposals, SHA256: proposalsSum}
		s.MaxProposals = cfg.MaxProposals
		if s.MaxProposals == 0 {
			s.MaxProposals = label.DefaultMaxProposals
		}
	}
	return sink.NewSettings(s)
}
