// Package label is groundbeam's core, free of Beam: it takes a batch of
// image-text pairs and returns, for each, a labelled row or the reason it
// was rejected. Decode, prompt, teacher, CLIP region embeddings.
package label

import (
	"context"
	"fmt"
	"image"
	"math"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/groundbeam/groundbeam/model/clip"
	"github.com/groundbeam/groundbeam/model/glip"
	"github.com/groundbeam/groundbeam/model/imageproc/turbo"
	"github.com/groundbeam/groundbeam/model/teacher"
	"github.com/groundbeam/groundbeam/schemas"
)

// Pair is one image-text pair to label.
type Pair struct {
	// Key identifies the pair in its shard.
	Key string
	// Source is where the pair was read from.
	Source string
	// Shard is the input shard holding it.
	Shard string
	// Image is the encoded image (JPEG, PNG, GIF or WebP).
	Image []byte
	// Caption is the pair's text.
	Caption string
	// Proposals are extra region proposals to embed, x1, y1, x2, y2 in
	// original-image pixels. They are clipped to the image, degenerate
	// or non-finite ones dropped, and the first Options.MaxProposals of
	// the rest kept, as boxes of kind schemas.KindProposal.
	Proposals [][4]float32
}

// DefaultMaxProposals is the most proposals embedded per image when
// Options.MaxProposals is not set (ViLD used 300).
const DefaultMaxProposals = 300

// Outcome is a pair's result: exactly one of Row and Err is set.
type Outcome struct {
	// Row is the labelled row.
	Row *schemas.LabelRow
	// Err says why the pair was rejected.
	Err *schemas.ErrorRow
}

// Options configure a Labeler; nil means defaults.
type Options struct {
	// MaxPixels refuses images larger than this before decoding
	// (default imageproc.DefaultMaxPixels).
	MaxPixels int
	// MaxCaptionRunes rejects longer captions (default 4096).
	MaxCaptionRunes int
	// Vocab, when not empty, switches to vocabulary mode: every image is
	// grounded on these names (in prompts built by the teacher; see
	// teacher.Teacher.EncodeNames), each box's LabelID is its name's index
	// (the line number of a vocabulary file), its Phrase the name, and
	// CharStart and CharEnd are -1. Captions are then only checked to be
	// valid UTF-8. When the teacher was opened with the same names their
	// prompts are reused.
	Vocab []string
	// MaxProposals is the most Pair.Proposals kept per image (default
	// DefaultMaxProposals).
	MaxProposals int
	// NoTeacherBoxes leaves the teacher's boxes out: the teacher is not
	// run and rows hold only proposals.
	NoTeacherBoxes bool
	// Float16 stores embeddings as half-precision bits in
	// schemas.Box.EmbeddingF16 and leaves Embedding empty.
	Float16 bool
	// Scorer, when set, gives every teacher box its ClipScore: its region
	// embedding against the text embedding of its phrase (caption mode)
	// or name (vocabulary mode) in a prompt (clip.ScorePrompt), by the
	// same CLIP bundle.
	Scorer *clip.Scorer
}

// Labeler labels batches of pairs with a teacher and a CLIP encoder.
type Labeler struct {
	t        *teacher.Teacher
	c        *clip.Encoder
	opts     Options
	prompts  []teacher.Encoded // vocabulary mode
	err      error             // why the vocabulary cannot be used
	minShort int               // decode no smaller than the teacher's input
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
	if o.MaxProposals <= 0 {
		o.MaxProposals = DefaultMaxProposals
	}
	l := &Labeler{t: t, c: c, opts: o, minShort: t.InputShortEdge()}
	if len(o.Vocab) > 0 {
		if slices.Equal(o.Vocab, t.Vocab()) {
			l.prompts = t.EncodeVocab()
		} else if l.prompts, l.err = t.EncodeNames(o.Vocab); l.err != nil {
			l.err = fmt.Errorf("label: vocabulary: %w", l.err)
		}
	}
	return l
}

// Stats count what happened to a batch beyond its outcomes.
type Stats struct {
	// Boxes is the number of boxes written, proposals included.
	Boxes int
	// Proposals is the number of proposal boxes among them.
	Proposals int
	// SkippedPhrases counts phrases whose span mapped to no token (in
	// vocabulary mode, names, once per image).
	SkippedPhrases int
	// Truncated counts captions over the token limit.
	Truncated int
	// DroppedPhrases counts the phrases cut off with them.
	DroppedPhrases int
}

// Label labels pairs. Every pair gets an Outcome, in order; a bad pair is
// an Outcome with Err and never an error. The error is for the batch as a
// whole (the context was cancelled, or the vocabulary given to New cannot
// be used), in which case no outcome is final.
//
// In caption mode a pair whose caption has no noun phrase, or none that
// maps to tokens or fits the token limit, is rejected at the tokenize
// stage (with the glip.ScoreTokens scoring, captions need no phrase).
func (l *Labeler) Label(ctx context.Context, pairs []Pair) ([]Outcome, Stats, error) {
	var st Stats
	out := make([]Outcome, len(pairs))
	type ready struct {
		i      int
		img    *image.RGBA
		enc    teacher.Encoded
		fw, fh int // full size; img may be decoded smaller
	}
	var todo []ready
	if l.err != nil {
		return nil, st, l.err
	}
	vocab := len(l.opts.Vocab) > 0
	for i, p := range pairs {
		if reason := checkCaption(p.Caption, l.opts.MaxCaptionRunes, vocab); reason != "" {
			out[i].Err = reject(p, schemas.StageTokenize, reason)
			continue
		}
		img, fw, fh, err := l.decode(p.Image)
		if err != nil {
			out[i].Err = reject(p, schemas.StageDecode, err.Error())
			continue
		}
		if vocab {
			for _, e := range l.prompts {
				st.SkippedPhrases += e.Skipped
			}
			todo = append(todo, ready{i: i, img: img, fw: fw, fh: fh})
			continue
		}
		enc := l.t.EncodeCaption(p.Caption)
		if enc.Truncated {
			st.Truncated++
			st.DroppedPhrases += enc.Dropped
		}
		tokenMode := l.t.Params().Scoring == glip.ScoreTokens
		if !tokenMode && len(enc.Prompt.Phrases) == enc.Skipped {
			reason := "no phrase of the caption maps to tokens"
			switch {
			case enc.Dropped > 0 && len(enc.Prompt.Phrases) == 0:
				reason = "no noun phrase of the caption fits the token limit"
			case len(enc.Prompt.Phrases) == 0:
				reason = "the caption has no noun phrase"
			}
			out[i].Err = reject(p, schemas.StageTokenize, reason)
			continue
		}
		st.SkippedPhrases += enc.Skipped
		todo = append(todo, ready{i, img, enc, fw, fh})
	}
	items := make([]teacher.Item, len(todo))
	for k, r := range todo {
		items[k] = teacher.Item{Image: r.img, FullW: r.fw, FullH: r.fh, Prompt: r.enc, Prompts: l.prompts}
	}
	var dets [][]glip.Detection
	var err error
	if l.opts.NoTeacherBoxes {
		dets = make([][]glip.Detection, len(items))
	} else {
		dets, err = l.t.Detect(ctx, items)
	}
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
	props := make([][][4]float32, len(todo))
	for k, r := range todo {
		if out[r.i].Err != nil {
			continue
		}
		props[k] = cleanProposals(pairs[r.i].Proposals, r.fw, r.fh, l.opts.MaxProposals)
		// boxes are in full-size pixels; crops come from the decoded image
		sx := float32(r.img.Rect.Dx()) / float32(r.fw)
		sy := float32(r.img.Rect.Dy()) / float32(r.fh)
		add := func(b [4]float32) {
			regions = append(regions, clip.Region{Image: r.img, Box: [4]float32{b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy}})
		}
		for _, d := range dets[k] {
			add(d.Box)
		}
		for _, b := range props[k] {
			add(b)
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
	var scored []scoreRef // teacher boxes, for Options.Scorer
	n := 0
	for k, r := range todo {
		if out[r.i].Err != nil {
			continue
		}
		p := pairs[r.i]
		row := &schemas.LabelRow{
			Key: p.Key, Source: p.Source, Shard: p.Shard,
			Width: int32(r.fw), Height: int32(r.fh),
			Caption: p.Caption, Teacher: l.t.Identity(), CLIP: l.c.Identity(),
			ParamsHash: hash, SchemaVersion: schemas.Version,
			Boxes: make([]schemas.Box, 0, len(dets[k])+len(props[k])),
		}
		for _, d := range dets[k] {
			b := schemas.Box{XYXY: d.Box[:], Score: d.Score, Phrase: d.Text, LabelID: -1,
				CharStart: int32(d.Start), CharEnd: int32(d.End), Kind: schemas.KindTeacher}
			if vocab {
				b.Phrase, b.LabelID, b.CharStart, b.CharEnd = l.opts.Vocab[d.LabelID], d.LabelID, -1, -1
			}
			l.setEmbedding(&b, embs[n])
			scored = append(scored, scoreRef{row: row, box: len(row.Boxes), text: clip.ScorePrompt(b.Phrase, b.LabelID), emb: embs[n]})
			row.Boxes = append(row.Boxes, b)
			n++
		}
		for _, p := range props[k] {
			b := schemas.Box{XYXY: p[:], LabelID: -1, CharStart: -1, CharEnd: -1, Kind: schemas.KindProposal}
			l.setEmbedding(&b, embs[n])
			row.Boxes = append(row.Boxes, b)
			n++
		}
		st.Boxes += len(row.Boxes)
		st.Proposals += len(props[k])
		out[r.i].Row = row
	}
	if err := l.score(ctx, scored); err != nil {
		if ctx.Err() != nil {
			return nil, st, ctx.Err()
		}
		return nil, st, fmt.Errorf("clip scores: %w", err)
	}
	return out, st, nil
}

// scoreRef is a teacher box to score: its row and index there, its
// prompt, and its region embedding.
type scoreRef struct {
	row  *schemas.LabelRow
	box  int
	text string
	emb  []float32
}

// score sets the ClipScore of every box in refs, with Options.Scorer (and
// leaves them null without one).
func (l *Labeler) score(ctx context.Context, refs []scoreRef) error {
	if l.opts.Scorer == nil || len(refs) == 0 {
		return nil
	}
	texts := make([]string, len(refs))
	embs := make([][]float32, len(refs))
	for i, r := range refs {
		texts[i], embs[i] = r.text, r.emb
	}
	scores, err := l.opts.Scorer.Scores(ctx, texts, embs)
	if err != nil {
		return err
	}
	for i, r := range refs {
		r.row.Boxes[r.box].ClipScore = &scores[i]
	}
	return nil
}

// setEmbedding stores e in b as float32 or, with Options.Float16, as
// half-precision bits.
func (l *Labeler) setEmbedding(b *schemas.Box, e []float32) {
	if l.opts.Float16 {
		b.EmbeddingF16 = clip.ToFloat16(e)
		return
	}
	b.Embedding = e
}

// cleanProposals clips boxes to a w×h image, drops non-finite and
// degenerate ones (under a pixel wide or tall after clipping) and keeps
// the first limit of the rest.
func cleanProposals(boxes [][4]float32, w, h, limit int) [][4]float32 {
	var out [][4]float32
	for _, b := range boxes {
		if len(out) == limit {
			break
		}
		ok := true
		for _, v := range b {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				ok = false
			}
		}
		if !ok {
			continue
		}
		b[0], b[2] = min(max(b[0], 0), float32(w)), min(max(b[2], 0), float32(w))
		b[1], b[3] = min(max(b[1], 0), float32(h)), min(max(b[3], 0), float32(h))
		if b[2]-b[0] < 1 || b[3]-b[1] < 1 {
			continue
		}
		out = append(out, b)
	}
	return out
}

// checkCaption returns why a caption cannot be used, or "". In
// vocabulary mode only its encoding matters.
func checkCaption(c string, maxRunes int, vocab bool) string {
	switch {
	case !utf8.ValidString(c):
		return "caption is not valid UTF-8"
	case vocab:
		return ""
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

// decode decodes an image for the teacher (turbo.Decode): JPEGs shrink in
// the DCT domain while the shorter side stays at least the teacher's input
// size. It returns the full size alongside, since boxes are reported in
// full-size pixels.
func (l *Labeler) decode(data []byte) (img *image.RGBA, fw, fh int, err error) {
	return turbo.Decode(data, l.minShort, l.opts.MaxPixels)
}
