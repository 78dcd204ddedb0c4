package report

import "github.com/groundbeam/groundbeam/schemas"

// liteBox is schemas.Box without its embedding columns: the reports never
// use them, and they are most of a labels file's bytes, so reading them
// into rows that drop them would cost most of the read.
type liteBox struct {
	XYXY      []float32 `parquet:"xyxy,list"`
	Score     float32   `parquet:"score"`
	Phrase    string    `parquet:"phrase"`
	LabelID   int32     `parquet:"label_id"`
	CharStart int32     `parquet:"char_start"`
	CharEnd   int32     `parquet:"char_end"`
	Kind      string    `parquet:"kind"`
}

// liteRow is schemas.LabelRow with liteBox boxes.
type liteRow struct {
	Key           string    `parquet:"key"`
	Source        string    `parquet:"source"`
	Shard         string    `parquet:"shard"`
	Width         int32     `parquet:"width"`
	Height        int32     `parquet:"height"`
	Caption       string    `parquet:"caption"`
	Boxes         []liteBox `parquet:"boxes,list"`
	Teacher       string    `parquet:"teacher"`
	CLIP          string    `parquet:"clip"`
	ParamsHash    string    `parquet:"params_hash"`
	SchemaVersion int32     `parquet:"schema_version"`
}

// labelRow converts r, leaving the embeddings empty.
func (r liteRow) labelRow() schemas.LabelRow {
	out := schemas.LabelRow{Key: r.Key, Source: r.Source, Shard: r.Shard, Width: r.Width, Height: r.Height,
		Caption: r.Caption, Teacher: r.Teacher, CLIP: r.CLIP, ParamsHash: r.ParamsHash, SchemaVersion: r.SchemaVersion}
	if r.Boxes != nil {
		out.Boxes = make([]schemas.Box, len(r.Boxes))
		for i, b := range r.Boxes {
			out.Boxes[i] = schemas.Box{XYXY: b.XYXY, Score: b.Score, Phrase: b.Phrase, LabelID: b.LabelID,
				CharStart: b.CharStart, CharEnd: b.CharEnd, Kind: b.Kind}
		}
	}
	return out
}
