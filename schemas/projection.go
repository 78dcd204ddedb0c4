package schemas

// BoxNoEmbeddings is Box without its embedding columns. Reading labels
// into LabelRowNoEmbeddings never decodes the embeddings, which are most
// of a labels file's bytes: what reads boxes, not embeddings, reads the
// rest many times faster.
type BoxNoEmbeddings struct {
	XYXY      []float32 `parquet:"xyxy,list"`
	Score     float32   `parquet:"score"`
	Phrase    string    `parquet:"phrase"`
	LabelID   int32     `parquet:"label_id"`
	CharStart int32     `parquet:"char_start"`
	CharEnd   int32     `parquet:"char_end"`
	Kind      string    `parquet:"kind"`
	ClipScore *float32  `parquet:"clip_score,optional"`
}

// LabelRowNoEmbeddings is LabelRow with BoxNoEmbeddings boxes: a
// projection of the labels table, column for column the same otherwise.
type LabelRowNoEmbeddings struct {
	Key           string            `parquet:"key"`
	Source        string            `parquet:"source"`
	Shard         string            `parquet:"shard"`
	Width         int32             `parquet:"width"`
	Height        int32             `parquet:"height"`
	Caption       string            `parquet:"caption"`
	Boxes         []BoxNoEmbeddings `parquet:"boxes,list"`
	Teacher       string            `parquet:"teacher"`
	CLIP          string            `parquet:"clip"`
	ParamsHash    string            `parquet:"params_hash"`
	SchemaVersion int32             `parquet:"schema_version"`
}

// LabelRow returns r as a LabelRow whose boxes have empty embeddings.
func (r LabelRowNoEmbeddings) LabelRow() LabelRow {
	out := LabelRow{Key: r.Key, Source: r.Source, Shard: r.Shard, Width: r.Width, Height: r.Height,
		Caption: r.Caption, Teacher: r.Teacher, CLIP: r.CLIP, ParamsHash: r.ParamsHash, SchemaVersion: r.SchemaVersion}
	if r.Boxes != nil {
		out.Boxes = make([]Box, len(r.Boxes))
		for i, b := range r.Boxes {
			out.Boxes[i] = Box{XYXY: b.XYXY, Score: b.Score, Phrase: b.Phrase, LabelID: b.LabelID,
				CharStart: b.CharStart, CharEnd: b.CharEnd, Kind: b.Kind, ClipScore: b.ClipScore}
		}
	}
	return out
}
