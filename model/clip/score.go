package clip

import (
	"context"
	"sync"
)

// Score prompts: a caption phrase carries its own determiner ("a red
// frisbee"), a class name does not ("frisbee").
const (
	PhrasePrompt = "a photo of {}."
	NamePrompt   = "a photo of {article} {}."
)

// ScorePrompt is the text a box's phrase is scored against: a class name
// (labelID ≥ 0: a vocabulary name or an annotation's category) in
// NamePrompt, a caption phrase in PhrasePrompt (see Prompt).
func ScorePrompt(phrase string, labelID int32) string {
	if labelID >= 0 {
		return Prompt(NamePrompt, phrase)
	}
	return Prompt(PhrasePrompt, phrase)
}

// maxCachedTexts bounds a Scorer's cache of text embeddings (16 MB at
// ViT-B's 512 dimensions); when full it starts again empty. Captions
// repeat their common phrases, and an LVIS vocabulary (1,203 names) fits
// whole.
const maxCachedTexts = 8192

// Scorer gives boxes their CLIP region-text score: the cosine similarity
// of a box's region embedding and the text embedding of its phrase in a
// prompt (ScorePrompt), by the same bundle's text tower, L2-normalised. It
// keeps the text embeddings it computes. It is safe for concurrent use.
type Scorer struct {
	t *TextEncoder

	mu    sync.Mutex
	cache map[string][]float32
}

// NewScorer scores with t. It does not own t.
func NewScorer(t *TextEncoder) *Scorer {
	return &Scorer{t: t, cache: map[string][]float32{}}
}

// Scores returns, for each i, the dot product of embs[i] (an
// L2-normalised region embedding) and the text embedding of texts[i] (a
// prompt: ScorePrompt): their cosine similarity, in [-1, 1]. Texts it has
// not seen are embedded in one batch.
func (s *Scorer) Scores(ctx context.Context, texts []string, embs [][]float32) ([]float32, error) {
	vecs := make(map[string][]float32, len(texts))
	var missing []string
	s.mu.Lock()
	for _, t := range texts {
		if _, ok := vecs[t]; ok {
			continue
		}
		v, ok := s.cache[t]
		vecs[t] = v
		if !ok {
			missing = append(missing, t)
		}
	}
	s.mu.Unlock()
	if len(missing) > 0 {
		got, err := s.t.EmbedTexts(ctx, missing)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		if len(s.cache)+len(missing) > maxCachedTexts {
			s.cache = map[string][]float32{}
		}
		for i, t := range missing {
			vecs[t], s.cache[t] = got[i], got[i]
		}
		s.mu.Unlock()
	}
	out := make([]float32, len(texts))
	for i, t := range texts {
		out[i] = dot(embs[i], vecs[t])
	}
	return out, nil
}

func dot(a, b []float32) float32 {
	var s float32
	for i := range min(len(a), len(b)) {
		s += a[i] * b[i]
	}
	return s
}
