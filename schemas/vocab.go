package schemas

// MetaTemplates is the key-value metadata key of a vocab file's prompt
// templates identity (the sha256 prefix of the templates, one per line).
const MetaTemplates = "groundbeam.templates"

// VocabRow is one class name of a vocabulary with its CLIP text embedding:
// the `vocab` table. Its LabelID is the id the labels table's
// Box.LabelID refers to in vocabulary mode.
type VocabRow struct {
	// LabelID is the name's index in the names file (its 0-based line).
	LabelID int32 `parquet:"label_id"`
	// Name is the class name as read.
	Name string `parquet:"name"`
	// Embedding is the L2-normalised prompt-ensemble text embedding: the
	// name formatted into every template, each prompt embedded and
	// normalised, the embeddings averaged and normalised again.
	Embedding []float32 `parquet:"embedding,list"`
	// CLIP is the CLIP bundle identity (name@sha256 prefix).
	CLIP string `parquet:"clip"`
	// Templates is the number of prompt templates averaged.
	Templates int32 `parquet:"templates"`
	// SchemaVersion is Version at the time of writing.
	SchemaVersion int32 `parquet:"schema_version"`
}
