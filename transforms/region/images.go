package region

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sort"

	"github.com/groundbeam/groundbeam/model/clip"
	"github.com/groundbeam/groundbeam/model/imageproc/turbo"
	"github.com/groundbeam/groundbeam/schemas"
	"github.com/groundbeam/groundbeam/transforms/sink"
	"github.com/groundbeam/groundbeam/transforms/source"
)

// errDone stops a shard scan once every wanted image has been seen.
var errDone = errors.New("every wanted image found")

// entry is a row waiting for its embeddings, with its encoded image (nil
// for a row without boxes, which needs none).
type entry struct {
	row  *schemas.LabelRow
	data []byte
}

// batcher collects rows with their images and embeds and writes them
// Batch images at a time, in the order they were added.
type batcher struct {
	f       *embedFn
	w       *sink.ShardWriter
	entries []entry
	images  int
}

// embedRows gives every row its new embeddings (or rejects it) and writes
// it. Rows whose source is a shard member ("SHARD#MEMBER") are fetched by
// streaming each shard once with transforms/source, the reader the label
// job used; rows whose source is a plain object are fetched Batch at a
// time. Rows without boxes need no image. Within each of these groups the
// rows keep their order.
func (f *embedFn) embedRows(ctx context.Context, w *sink.ShardWriter, rows []schemas.LabelRow) error {
	b := &batcher{f: f, w: w}
	var plain []int
	byShard := map[string][]int{}
	var shards []string
	for i := range rows {
		r := &rows[i]
		r.CLIP, r.SchemaVersion = f.enc.Identity(), schemas.Version
		imagesIn.Inc(ctx, 1)
		shard, member := source.SplitSource(r.Source)
		if member == "" || source.Kind(shard) == "" {
			plain = append(plain, i)
			continue
		}
		if byShard[shard] == nil {
			shards = append(shards, shard)
		}
		byShard[shard] = append(byShard[shard], i)
	}
	for lo := 0; lo < len(plain); lo += f.Cfg.Batch {
		idx := plain[lo:min(lo+f.Cfg.Batch, len(plain))]
		var srcs []string
		var need []int
		for _, i := range idx {
			if len(rows[i].Boxes) > 0 {
				srcs, need = append(srcs, rows[i].Source), append(need, i)
			}
		}
		data, errs := source.OpenImages(ctx, srcs)
		if err := ctx.Err(); err != nil {
			return err
		}
		fetched := map[int]int{}
		for k, i := range need {
			fetched[i] = k
		}
		for _, i := range idx {
			k, ok := fetched[i]
			switch {
			case !ok:
				if err := b.add(ctx, &rows[i], nil); err != nil {
					return err
				}
			case errs[k] != nil:
				if err := b.reject(ctx, &rows[i], schemas.StageRead, errs[k].Error()); err != nil {
					return err
				}
			default:
				if err := b.add(ctx, &rows[i], data[k]); err != nil {
					return err
				}
			}
		}
	}
	for _, shard := range shards {
		if err := b.stream(ctx, shard, rows, byShard[shard]); err != nil {
			return err
		}
	}
	return b.flush(ctx)
}

// stream reads shard once and adds the rows idx (all from that shard) in
// the order the shard gives their images. A row whose image the shard no
// longer gives is rejected; rows without boxes are written even then.
func (b *batcher) stream(ctx context.Context, shard string, rows []schemas.LabelRow, idx []int) error {
	if !hasBoxes(rows, idx) { // no image needed: skip the read
		for _, i := range idx {
			if err := b.add(ctx, &rows[i], nil); err != nil {
				return err
			}
		}
		return nil
	}
	want := map[string][]int{}
	for _, i := range idx {
		want[rows[i].Source] = append(want[rows[i].Source], i)
	}
	shardProblem := ""
	err := source.Read(ctx, shard, &source.Options{MaxMemberBytes: source.MaxImageBytes}, func(it source.Item) error {
		if it.Reject != nil {
			ids, ok := want[it.Reject.Source]
			if !ok {
				if it.Reject.Key == "" {
					shardProblem = it.Reject.Reason
				}
				return nil
			}
			delete(want, it.Reject.Source)
			for _, i := range ids {
				if err := b.rejectOrKeep(ctx, &rows[i], it.Reject.Reason); err != nil {
					return err
				}
			}
		} else if ids, ok := want[it.Pair.Source]; ok {
			delete(want, it.Pair.Source)
			for _, i := range ids {
				data := it.Pair.Image
				if len(rows[i].Boxes) == 0 {
					data = nil // needs no image
				}
				if err := b.add(ctx, &rows[i], data); err != nil {
					return err
				}
			}
		}
		if len(want) == 0 {
			return errDone
		}
		return nil
	})
	if err != nil && !errors.Is(err, errDone) {
		return err
	}
	var left []int
	for _, ids := range want {
		left = append(left, ids...)
	}
	sort.Ints(left)
	reason := "image not found in shard " + shard
	if shardProblem != "" {
		reason += ": " + shardProblem
	}
	for _, i := range left {
		if err := b.rejectOrKeep(ctx, &rows[i], reason); err != nil {
			return err
		}
	}
	return nil
}

func hasBoxes(rows []schemas.LabelRow, idx []int) bool {
	for _, i := range idx {
		if len(rows[i].Boxes) > 0 {
			return true
		}
	}
	return false
}

// rejectOrKeep rejects a row whose image cannot be read, unless it has no
// boxes: such a row needs no image and is written as it is.
func (b *batcher) rejectOrKeep(ctx context.Context, r *schemas.LabelRow, reason string) error {
	if len(r.Boxes) == 0 {
		return b.add(ctx, r, nil)
	}
	return b.reject(ctx, r, schemas.StageRead, reason)
}

// add queues a row (with its image when it has boxes) and embeds the
// queue once it holds Batch images. Rows are written in the order added.
func (b *batcher) add(ctx context.Context, r *schemas.LabelRow, data []byte) error {
	b.entries = append(b.entries, entry{row: r, data: data})
	if len(r.Boxes) > 0 {
		b.images++
	}
	if b.images >= b.f.Cfg.Batch {
		return b.flush(ctx)
	}
	return nil
}

// reject writes the queue first, so that rows stay in order, then the
// rejected row.
func (b *batcher) reject(ctx context.Context, r *schemas.LabelRow, stage, reason string) error {
	if err := b.flush(ctx); err != nil {
		return err
	}
	return b.writeReject(ctx, r, stage, reason)
}

func (b *batcher) writeReject(ctx context.Context, r *schemas.LabelRow, stage, reason string) error {
	rejected.Inc(ctx, 1)
	return b.w.Reject(ctx, schemas.ErrorRow{Key: r.Key, Source: r.Source, Shard: r.Shard, Stage: stage,
		Reason: reason, SchemaVersion: schemas.Version})
}

// prepared is a queued row after decoding and embedding: its image and
// one embedding per box, or why it is rejected.
type prepared struct {
	img    *image.RGBA
	sx, sy float32 // full-size pixels → img pixels
	embs   [][]float32
	// scores are the boxes' new CLIP scores (Config.ClipScore; nil for
	// proposals)
	scores []*float32
	stage  string
	reason string
}

// flush decodes the queued images, embeds all their boxes in one call and
// writes the rows in order.
func (b *batcher) flush(ctx context.Context) error {
	if len(b.entries) == 0 {
		return nil
	}
	preps := make([]prepared, len(b.entries))
	var regions []clip.Region
	for k, e := range b.entries {
		if len(e.row.Boxes) == 0 {
			continue
		}
		if preps[k] = b.prepare(e); preps[k].img != nil {
			regions = preps[k].appendRegions(regions, e.row.Boxes)
		}
	}
	var embs [][]float32
	var err error
	if len(regions) > 0 {
		embs, err = b.f.enc.Embed(ctx, regions)
	}
	switch {
	case err != nil && ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		// One bad image must not sink the batch: embed image by image.
		if err := b.embedEach(ctx, preps); err != nil {
			return err
		}
	default:
		n := 0
		for k, e := range b.entries {
			if preps[k].img != nil {
				preps[k].embs, n = embs[n:n+len(e.row.Boxes)], n+len(e.row.Boxes)
			}
		}
	}
	if err := b.score(ctx, preps); err != nil {
		return err
	}
	for k, e := range b.entries {
		p := preps[k]
		if len(e.row.Boxes) > 0 && p.img == nil {
			if err := b.writeReject(ctx, e.row, p.stage, p.reason); err != nil {
				return err
			}
			continue
		}
		for i := range e.row.Boxes {
			e.row.Boxes[i].ClipScore = nil // the previous bundle's, unless scored below
			if p.scores != nil && p.scores[i] != nil {
				e.row.Boxes[i].ClipScore = p.scores[i]
			}
			if b.f.Cfg.Float16 {
				e.row.Boxes[i].EmbeddingF16 = clip.ToFloat16(p.embs[i])
				continue
			}
			e.row.Boxes[i].Embedding = p.embs[i]
		}
		embedded.Inc(ctx, 1)
		boxesOut.Inc(ctx, int64(len(e.row.Boxes)))
		perImage.Update(ctx, int64(len(e.row.Boxes)))
		if err := b.w.Label(ctx, *e.row); err != nil {
			return err
		}
	}
	clear(b.entries)
	b.entries, b.images = b.entries[:0], 0
	return nil
}

// score gives the embedded boxes with a phrase (teacher boxes and
// annotations, not proposals) their CLIP score, as the label job does,
// when Config.ClipScore asks.
func (b *batcher) score(ctx context.Context, preps []prepared) error {
	if b.f.scorer == nil {
		return nil
	}
	var texts []string
	var embs [][]float32
	type ref struct{ k, i int }
	var refs []ref
	for k, e := range b.entries {
		p := &preps[k]
		if p.img == nil || p.embs == nil {
			continue
		}
		p.scores = make([]*float32, len(e.row.Boxes))
		for i, bx := range e.row.Boxes {
			if bx.Kind == schemas.KindProposal || bx.Phrase == "" {
				continue
			}
			texts = append(texts, clip.ScorePrompt(bx.Phrase, bx.LabelID))
			embs = append(embs, p.embs[i])
			refs = append(refs, ref{k, i})
		}
	}
	if len(texts) == 0 {
		return nil
	}
	scores, err := b.f.scorer.Scores(ctx, texts, embs)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("clip scores: %w", err)
	}
	for j, r := range refs {
		preps[r.k].scores[r.i] = &scores[j]
	}
	return nil
}

// appendRegions adds one region per box of the decoded image; they all
// share its image, so the region graph receives it once.
func (p *prepared) appendRegions(regions []clip.Region, boxes []schemas.Box) []clip.Region {
	for _, bx := range boxes {
		b := bx.XYXY
		regions = append(regions, clip.Region{Image: p.img, Box: [4]float32{b[0] * p.sx, b[1] * p.sy, b[2] * p.sx, b[3] * p.sy}})
	}
	return regions
}

// prepare decodes an entry's image and checks it against the row.
func (b *batcher) prepare(e entry) prepared {
	r := e.row
	for i, bx := range r.Boxes {
		if len(bx.XYXY) != 4 {
			return prepared{stage: schemas.StageRead, reason: fmt.Sprintf("box %d has %d coordinates, want 4", i, len(bx.XYXY))}
		}
	}
	// decoded as the label run did (turbo.Decode), so that boxes land on
	// the same pixels
	img, w, h, err := turbo.Decode(e.data, b.f.Cfg.Sink.DecodeMinShort, b.f.Cfg.MaxPixels)
	if err != nil {
		return prepared{stage: schemas.StageDecode, reason: err.Error()}
	}
	if int32(w) != r.Width || int32(h) != r.Height {
		return prepared{stage: schemas.StageDecode,
			reason: fmt.Sprintf("image is %dx%d but its row says %dx%d: the boxes would not fit it", w, h, r.Width, r.Height)}
	}
	return prepared{img: img, sx: float32(img.Rect.Dx()) / float32(w), sy: float32(img.Rect.Dy()) / float32(h)}
}

// embedEach embeds the batch one image at a time after a failed batch
// call; an image that fails on its own is rejected (stage infer).
func (b *batcher) embedEach(ctx context.Context, preps []prepared) error {
	for k, e := range b.entries {
		p := &preps[k]
		if p.img == nil {
			continue
		}
		embs, err := b.f.enc.Embed(ctx, p.appendRegions(nil, e.row.Boxes))
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			*p = prepared{stage: schemas.StageInfer, reason: err.Error()}
			continue
		}
		p.embs = embs
	}
	return nil
}
