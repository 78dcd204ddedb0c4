// Package label is groundbeam's core, free of Beam: it takes a batch of
// image-text pairs and returns, for each, a labelled row or the reason it
// was rejected. Decode, prompt, teacher, CLIP region embeddings.
package label

import (
	"context"
	"fmt"
	"image"
	"strings"
	"unicode/utf8"

	"github.com/groundbeam/groundbeam/model/clip"
	"github.com/groundbeam/groundbeam/model/glip"
	"github.com/groundbeam/groundbeam/model/imageproc"
	"github.com/groundbeam/groundbeam/model/teacher"
	"github.com/groundbeam/groundbeam/schemas"
)

// Pair is one image-text pair to label.
type Pair struct {
	Key     string
	Source  string
	Shard   string
	Image   []byte
	Caption string
}

// Outcome is a pair's result: exactly one of Row and Err is set.
type Outcome struct {
	Row *schemas.LabelRow
	Err *schemas.ErrorRow
}

// Options configure a Labeler; nil means defaults.
type Options struct {
	// MaxPixels refuses images larger than this before decoding
	// (default imageproc.DefaultMaxPixels).
	MaxPixels int
	// MaxCaptionRunes rejects longer captions (default 4096).
	MaxCaptionRunes int
}

// Labeler labels batches of pairs with a teacher and a CLIP encoder.
type Labeler struct {
	t    *teacher.Teacher
	c    *clip.Encoder
	opts Options
}

// New returns a Labeler; it does not own t and c.
func New(t *teacher.Teacher, c *clip.Encoder, opts *Options) *Labeler {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.MaxCaptionRunes <= 0 {
		o.MaxCaptionRunes = 4096
	}
	return &Labeler{t: t, c: c, opts: o}
}

// Stats count what happened to a batch beyond its outcomes.
type Stats struct {
	// Boxes is the number of boxes written.
	Boxes int
	// SkippedPhrases counts phrases that mapped to no token.
	SkippedPhrases int
	// Truncated counts prompts cut at the token limit.
	Truncated int
}

// Label labels pairs. Every pair gets an Outcome, in order; a bad pair is
// an Outcome with Err and never an error. The error is for the batch as a
// whole (the context was cancelled), in which case no outcome is final.
func (l *Labeler) Label(ctx context.Context, pairs []Pair) ([]Outcome, Stats, error) {
	var st Stats
	out := make([]Outcome, len(pairs))
	type ready struct {
		i   int
		img *image.RGBA
		enc teacher.Encoded
	}
	var todo []ready
	for i, p := range pairs {
		if reason := checkCaption(p.Caption, l.opts.MaxCaptionRunes); reason != "" {
			out[i].Err = reject(p, schemas.StageTokenize, reason)
			continue
		}
		img, err := imageproc.Decode(p.Image, l.opts.MaxPixels)
		if err != nil {
			out[i].Err = reject(p, schemas.StageDecode, err.Error())
			continue
		}
		enc := l.t.Encode(glip.CaptionPrompt(p.Caption))
		if len(enc.Prompt.Phrases) == enc.Skipped {
			out[i].Err = reject(p, schemas.StageTokenize, "no phrase of the caption maps to tokens")
			continue
		}
		st.SkippedPhrases += enc.Skipped
		if enc.Truncated {
			st.Truncated++
		}
		todo = append(todo, ready{i, img, enc})
	}
	items := make([]teacher.Item, len(todo))
	for k, r := range todo {
		items[k] = teacher.Item{Image: r.img, Prompt: r.enc}
	}
	dets, err := l.t.Detect(ctx, items)
	if err != nil {
		if ctx.Err() != nil {
			return nil, st, ctx.Err()
		}
		// One bad input must not sink the batch: retry one by one.
		dets = make([][]glip.Detection, len(items))
		for k := range items {
			d, err := l.t.Detect(ctx, items[k:k+1])
			if err != nil {
				if ctx.Err() != nil {
					return nil, st, ctx.Err()
				}
				out[todo[k].i].Err = reject(pairs[todo[k].i], schemas.StageInfer, err.Error())
				continue
			}
			dets[k] = d[0]
		}
	}
	var regions []clip.Region
	for k, r := range todo {
		for _, d := range dets[k] {
			regions = append(regions, clip.Region{Image: r.img, Box: d.Box})
		}
	}
	embs, err := l.c.Embed(ctx, regions)
	if err != nil {
		if ctx.Err() != nil {
			return nil, st, ctx.Err()
		}
		return nil, st, fmt.Errorf("clip region embeddings: %w", err)
	}
	hash := l.t.Params().Hash()
	n := 0
	for k, r := range todo {
		if out[r.i].Err != nil {
			continue
		}
		p := pairs[r.i]
		row := &schemas.LabelRow{
			Key: p.Key, Source: p.Source, Shard: p.Shard,
			Width: int32(r.img.Rect.Dx()), Height: int32(r.img.Rect.Dy()),
			Caption: p.Caption, Teacher: l.t.Identity(), CLIP: l.c.Identity(),
			ParamsHash: hash, SchemaVersion: schemas.Version,
			Boxes: make([]schemas.Box, 0, len(dets[k])),
		}
		for _, d := range dets[k] {
			ph := r.enc.Prompt.Phrases[d.Phrase]
			row.Boxes = append(row.Boxes, schemas.Box{
				XYXY: d.Box[:], Score: d.Score, Phrase: ph.Text, LabelID: ph.LabelID,
				CharStart: int32(ph.Start), CharEnd: int32(ph.End), Embedding: embs[n],
			})
			n++
		}
		st.Boxes += len(row.Boxes)
		out[r.i].Row = row
	}
	return out, st, nil
}

// checkCaption returns why a caption cannot be used, or "".
func checkCaption(c string, maxRunes int) string {
	switch {
	case !utf8.ValidString(c):
		return "caption is not valid UTF-8"
	case strings.TrimSpace(c) == "":
		return "empty caption"
	case utf8.RuneCountInString(c) > maxRunes:
		return fmt.Sprintf("caption of %d characters is over the %d limit", utf8.RuneCountInString(c), maxRunes)
	}
	return ""
}

func reject(p Pair, stage, reason string) *schemas.ErrorRow {
	return &schemas.ErrorRow{Key: p.Key, Source: p.Source, Shard: p.Shard, Stage: stage, Reason: reason, SchemaVersion: schemas.Version}
}
