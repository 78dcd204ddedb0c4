// Package schemas holds the Parquet row types that groundbeam writes, one
// struct per table, and the schema version stamped into every file.
package schemas

// Version is the version of the row types in this package. It is written
// into every row and into each file's key-value metadata; it changes
// whenever a column is added, removed or changes meaning.
const Version = 2

// Metadata keys written into every Parquet file's key-value metadata.
const (
	MetaSchemaVersion = "groundbeam.schema_version"
	MetaTeacher       = "groundbeam.teacher"
	MetaCLIP          = "groundbeam.clip"
	MetaParams        = "groundbeam.params"
	// MetaSettings is the hash of the run's settings (the manifest's
	// settings_hash).
	MetaSettings = "groundbeam.settings"
)

// LabelRow is one labelled image: the `labels` table.
type LabelRow struct {
	// Key identifies the pair within the corpus (the sample key).
	Key string `parquet:"key"`
	// Source is where the image came from: the shard URI and its member
	// ("gs://b/shard-00000.tar#000000001.jpg"), or the object URI.
	Source string `parquet:"source"`
	// Shard is the input shard the pair came from; output files are
	// named after it.
	Shard string `parquet:"shard"`
	// Width and Height are the decoded image's size in pixels.
	Width  int32 `parquet:"width"`
	Height int32 `parquet:"height"`
	// Caption is the pair's text as read.
	Caption string `parquet:"caption"`
	// Boxes are the teacher's kept boxes, best score first (Kind
	// "teacher"), then any region proposals in their given order (Kind
	// "proposal").
	Boxes []Box `parquet:"boxes,list"`
	// Teacher and CLIP are the bundle identities (name@sha256 prefix).
	Teacher string `parquet:"teacher"`
	CLIP    string `parquet:"clip"`
	// ParamsHash identifies the post-processing parameters.
	ParamsHash string `parquet:"params_hash"`
	// SchemaVersion is Version at the time of writing.
	SchemaVersion int32 `parquet:"schema_version"`
}

// Box is one grounded box inside a LabelRow.
type Box struct {
	// XYXY is the box in original-image pixels: x1, y1, x2, y2.
	XYXY []float32 `parquet:"xyxy,list"`
	// Score is the teacher's confidence in [0, 1].
	Score float32 `parquet:"score"`
	// Phrase is the grounded text (a caption phrase or a class name).
	Phrase string `parquet:"phrase"`
	// LabelID is the vocabulary index in vocabulary mode, -1 otherwise.
	LabelID int32 `parquet:"label_id"`
	// CharStart and CharEnd are the phrase's span in the caption, in
	// Unicode code points, [start, end); -1 in vocabulary mode.
	CharStart int32 `parquet:"char_start"`
	CharEnd   int32 `parquet:"char_end"`
	// Embedding is the L2-normalised CLIP region embedding; empty when
	// the run stored float16 embeddings (EmbeddingF16).
	Embedding []float32 `parquet:"embedding,list"`
	// EmbeddingF16 is the same embedding as IEEE 754 half-precision bits
	// (clip.ToFloat16), set instead of Embedding by
	// --embedding-dtype=float16; empty otherwise.
	EmbeddingF16 []uint16 `parquet:"embedding_f16,list"`
	// Kind is KindTeacher for a teacher box, KindProposal for a given
	// region proposal (Score 0, Phrase "", LabelID and the span -1),
	// KindAnnotation for a ground-truth box of an instances file.
	Kind string `parquet:"kind"`
	// ClipScore is the cosine similarity of Embedding and the CLIP text
	// embedding of the box's phrase in a prompt ("a photo of {phrase}.",
	// or "a photo of a {name}." for a vocabulary name), by the same CLIP
	// bundle: how well CLIP agrees with the teacher, for filtering
	// pseudo-labels. Null for proposals, for runs without it
	// (--clip-score=false) and for files of schema version 1.
	ClipScore *float32 `parquet:"clip_score,optional"`
}

// Box kinds.
const (
	// KindTeacher is a box the grounding teacher kept.
	KindTeacher = "teacher"
	// KindProposal is a region proposal given to the run, embedded only.
	KindProposal = "proposal"
	// KindAnnotation is a ground-truth box read from a COCO or LVIS
	// instances file (`embed --coco`): Score 1, Phrase and LabelID its
	// category's name and id, the span -1.
	KindAnnotation = "annotation"
)

// Stage names where in the pipeline an input was rejected.
const (
	StageRead     = "read"
	StageDecode   = "decode"
	StageTokenize = "tokenize"
	StageInfer    = "infer"
	StageWrite    = "write"
)

// ErrorRow is one rejected input: the `errors` table.
type ErrorRow struct {
	// Key identifies the pair (may be empty when none could be read).
	Key string `parquet:"key"`
	// Source is the shard URI and member, or the object URI.
	Source string `parquet:"source"`
	// Shard is the input shard the pair came from.
	Shard string `parquet:"shard"`
	// Stage is one of the Stage constants.
	Stage string `parquet:"stage"`
	// Reason says in words why the input was rejected.
	Reason string `parquet:"reason"`
	// SchemaVersion is Version at the time of writing.
	SchemaVersion int32 `parquet:"schema_version"`
}
