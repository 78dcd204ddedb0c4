package label

import (
	"context"
	"math"
	"testing"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/clip"
	"github.com/groundbeam/groundbeam/model/teacher"
	"github.com/groundbeam/groundbeam/schemas"
)

// TestClipScores labels captions and a vocabulary with a Scorer: every
// teacher box's ClipScore is the cosine of its embedding and its prompt's
// text embedding, computed here apart from the Scorer (phrases in "a photo
// of {}.", names in "a photo of a {}."); proposals have none; without a
// Scorer no box has one.
func TestClipScores(t *testing.T) {
	tc, c := models(t, &teacher.Options{Params: lowParams()})
	_, cd := testenv.Bundles(t, nil)
	cb, err := bundle.Load(cd, bundle.KindCLIP)
	if err != nil {
		t.Fatal(err)
	}
	text, err := clip.OpenText(cb, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(text.Close)
	pairs := samplePairs(t, 3)
	pairs[0].Proposals = [][4]float32{{1, 1, 30, 30}}
	vocab := []string{"red square", "blue circle", "apple"}
	for _, tt := range []struct {
		name     string
		opts     Options
		template string
	}{
		{name: "captions", opts: Options{Scorer: clip.NewScorer(text)}, template: "a photo of {}."},
		{name: "vocabulary", opts: Options{Scorer: clip.NewScorer(text), Vocab: vocab}, template: "a photo of {article} {}."},
		{name: "no scorer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			outs, _, err := New(tc, c, &tt.opts).Label(context.Background(), pairs)
			if err != nil {
				t.Fatal(err)
			}
			scored := 0
			for _, o := range outs {
				if o.Row == nil {
					t.Fatalf("outcome %+v", o.Err)
				}
				for _, b := range o.Row.Boxes {
					if b.Kind == schemas.KindProposal || tt.opts.Scorer == nil {
						if b.ClipScore != nil {
							t.Errorf("%s box %q has a clip score", b.Kind, b.Phrase)
						}
						continue
					}
					if b.ClipScore == nil {
						t.Fatalf("teacher box %q without a clip score", b.Phrase)
					}
					p := clip.Prompt(tt.template, b.Phrase)
					want, err := text.EmbedTexts(context.Background(), []string{p})
					if err != nil {
						t.Fatal(err)
					}
					var dot float64
					for i := range want[0] {
						dot += float64(want[0][i]) * float64(b.Embedding[i])
					}
					if math.Abs(dot-float64(*b.ClipScore)) > 1e-5 || math.Abs(dot) > 1+1e-5 {
						t.Errorf("%q: clip score %v, cosine with %q %v", b.Phrase, *b.ClipScore, p, dot)
					}
					scored++
				}
			}
			if tt.opts.Scorer != nil && scored == 0 {
				t.Error("no box scored")
			}
		})
	}
}
