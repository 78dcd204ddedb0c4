package clip

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/groundbeam/groundbeam/model/bpe"
	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/ort"
)

// DefaultTextBatch is the default number of texts per text-tower run.
const DefaultTextBatch = 256

// TextOptions configure a TextEncoder; nil means defaults.
type TextOptions struct {
	// Batch is the most texts per text-tower run (default
	// DefaultTextBatch).
	Batch int
	// ThisIs prefixes "This is " to every prompt starting with "a" or
	// "the", as ViLD's demo does (its this_is flag).
	ThisIs bool
	// Session are the ONNX Runtime settings.
	Session ort.Options
}

// TextEncoder embeds text with a CLIP bundle's text tower and CLIP BPE
// tokenizer. It is safe for concurrent use.
type TextEncoder struct {
	b         *bundle.Bundle
	s         *ort.Session
	tok       *bpe.Tokenizer
	ctxLen    int
	opts      TextOptions
	truncated atomic.Int64
}

// CheckText reports why OpenText would refuse the bundle, without loading
// anything: it must be a clip bundle with a text tower (text_onnx), a
// clip_bpe tokenizer and its merges file, and an embedding size.
func CheckText(b *bundle.Bundle) error {
	m := b.Manifest
	switch {
	case m.Kind != bundle.KindCLIP:
		return fmt.Errorf("clip text encoder: bundle %s is %q, not clip", b.Identity, m.Kind)
	case m.TextONNX == "":
		return fmt.Errorf("clip text encoder: bundle %s has no text tower (text_onnx)", b.Identity)
	case m.Text.Tokenizer != "clip_bpe" || m.Text.Vocab == "":
		return fmt.Errorf("clip text encoder: bundle %s: tokenizer %q with vocab %q, need clip_bpe and its merges file",
			b.Identity, m.Text.Tokenizer, m.Text.Vocab)
	case m.EmbeddingDim <= 0:
		return fmt.Errorf("clip text encoder: bundle %s has embedding_dim %d", b.Identity, m.EmbeddingDim)
	}
	return nil
}

// OpenText loads the bundle's tokenizer and acquires its text tower from
// the process's session cache. The bundle must have text_onnx and a
// clip_bpe tokenizer.
func OpenText(b *bundle.Bundle, opts *TextOptions) (*TextEncoder, error) {
	if err := CheckText(b); err != nil {
		return nil, err
	}
	m := b.Manifest
	var o TextOptions
	if opts != nil {
		o = *opts
	}
	if o.Batch <= 0 {
		o.Batch = DefaultTextBatch
	}
	ctxLen := m.Text.ContextLength
	if ctxLen <= 0 {
		ctxLen = 77
	}
	tok, err := bpe.Load(b.Path(m.Text.Vocab))
	if err != nil {
		return nil, fmt.Errorf("clip text encoder: %w", err)
	}
	s, err := ort.Acquire(ort.Key{Identity: b.Identity + "/text", Path: b.Path(m.TextONNX), Options: o.Session},
		[]string{m.Inputs[bundle.InInputIDs]}, []string{m.Outputs[bundle.OutTextEmbeds]})
	if err != nil {
		return nil, fmt.Errorf("clip text encoder: %w", err)
	}
	return &TextEncoder{b: b, s: s, tok: tok, ctxLen: ctxLen, opts: o}, nil
}

// Close releases the text tower's session.
func (t *TextEncoder) Close() { t.s.Release() }

// Identity is the CLIP bundle's identity.
func (t *TextEncoder) Identity() string { return t.b.Identity }

// Dim is the embedding size.
func (t *TextEncoder) Dim() int { return t.b.Manifest.EmbeddingDim }

// Truncated counts the texts this encoder has cut to the context length
// (77 tokens) since it was opened; they are still embedded, from their
// first tokens.
func (t *TextEncoder) Truncated() int64 { return t.truncated.Load() }

// EmbedTexts returns the L2-normalised text-tower embedding of each text,
// tokenized as CLIP does (EncodePadded to the context length).
func (t *TextEncoder) EmbedTexts(ctx context.Context, texts []string) ([][]float32, error) {
	dim := t.Dim()
	out := make([][]float32, len(texts))
	flat := make([]float32, len(texts)*dim)
	err := t.embed(ctx, texts, func(i int, v []float32) {
		out[i] = flat[i*dim : (i+1)*dim : (i+1)*dim]
		copy(out[i], v)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// EmbedNames returns one embedding per class name, ViLD's prompt ensemble:
// the name formatted into every template (Prompt), each prompt embedded and
// L2-normalised, the embeddings averaged and L2-normalised again.
// ViLDTemplates are ViLD's templates.
func (t *TextEncoder) EmbedNames(ctx context.Context, names, templates []string) ([][]float32, error) {
	if len(templates) == 0 {
		return nil, errors.New("clip text encoder: no prompt templates")
	}
	texts := make([]string, 0, len(names)*len(templates))
	for _, n := range names {
		for _, tpl := range templates {
			p := Prompt(tpl, n)
			if t.opts.ThisIs && (strings.HasPrefix(p, "a") || strings.HasPrefix(p, "the")) {
				p = "This is " + p
			}
			texts = append(texts, p)
		}
	}
	dim := t.Dim()
	out := make([][]float32, len(names))
	flat := make([]float32, len(names)*dim)
	for i := range out {
		out[i] = flat[i*dim : (i+1)*dim : (i+1)*dim]
	}
	err := t.embed(ctx, texts, func(i int, v []float32) {
		dst := out[i/len(templates)]
		for d, x := range v {
			dst[d] += x
		}
	})
	if err != nil {
		return nil, err
	}
	for _, v := range out {
		Normalize(v) // the mean's direction: dividing by len(templates) first changes nothing
	}
	return out, nil
}

// embed runs texts through the tower Batch at a time and calls emit with
// each text's index and L2-normalised embedding (valid during the call).
func (t *TextEncoder) embed(ctx context.Context, texts []string, emit func(i int, v []float32)) error {
	dim := t.Dim()
	batch := min(t.opts.Batch, len(texts))
	ids := make([]int64, batch*t.ctxLen)
	for lo := 0; lo < len(texts); lo += t.opts.Batch {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("clip text encoder %s: %w", t.b.Identity, err)
		}
		hi := min(lo+t.opts.Batch, len(texts))
		k := hi - lo
		for j := range k {
			row, cut := t.tok.EncodePadded(texts[lo+j], t.ctxLen)
			if cut {
				t.truncated.Add(1)
			}
			copy(ids[j*t.ctxLen:(j+1)*t.ctxLen], row)
		}
		res, err := t.s.Run(ctx, []ort.Tensor{{Shape: []int64{int64(k), int64(t.ctxLen)}, I64: ids[:k*t.ctxLen]}})
		if err != nil {
			return fmt.Errorf("clip text encoder %s: %w", t.b.Identity, err)
		}
		emb := res[0]
		if len(emb.Shape) != 2 || int(emb.Shape[0]) != k || int(emb.Shape[1]) != dim || len(emb.F32) != k*dim {
			return fmt.Errorf("clip text encoder %s: text tower returned shape %v, want [%d %d]", t.b.Identity, emb.Shape, k, dim)
		}
		for j := range k {
			v := emb.F32[j*dim : (j+1)*dim]
			Normalize(v)
			emit(lo+j, v)
		}
	}
	return nil
}

// Prompt formats a ViLD template for a class name as ViLD does: the name is
// lower-cased, '_' becomes ' ' (LVIS), '/' becomes " or " (Objects365) and
// trailing dots go; "{}" is replaced by it and "{article}" by "an" when it
// starts with a, e, i, o or u, else "a". (ViLD takes the article from the
// name before lower-casing; the two differ only for capitalised names.)
func Prompt(template, name string) string {
	n := strings.TrimRight(strings.ToLower(strings.ReplaceAll(strings.ReplaceAll(name, "_", " "), "/", " or ")), ".")
	article := "a"
	if n != "" && strings.IndexByte("aeiou", n[0]) >= 0 {
		article = "an"
	}
	return strings.NewReplacer("{article}", article, "{}", n).Replace(template)
}
