package glip

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/jdkato/prose/v2"
)

// benchInput is one image's outputs at GLIP's scale: 900 queries × 256
// tokens, 80 phrases of 1 to 3 tokens separated by one-token periods
// (a vocabulary prompt), boxes in pixels, centerness. Logits are drawn
// around mean; hot is the share of (query, token) pairs drawn high.
func benchInput(mean float64, hot float64) (Output, Text, Geometry) {
	const q, tt, phrases = 900, 256, 80
	r := rand.New(rand.NewPCG(1, 2))
	out := Output{Queries: q, Tokens: tt, Sigmoid: true, Format: XYXYPixels,
		Boxes: make([]float32, q*4), Logits: make([]float32, q*tt), Centerness: make([]float32, q)}
	for i := range q {
		x, y := r.Float32()*1000, r.Float32()*700
		w, h := 20+r.Float32()*300, 20+r.Float32()*300
		copy(out.Boxes[i*4:], []float32{x, y, x + w, y + h})
		out.Centerness[i] = float32(r.NormFloat64())
		for j := range tt {
			v := mean + 2*r.NormFloat64()
			if r.Float64() < hot {
				v = 1 + r.NormFloat64()
			}
			out.Logits[i*tt+j] = float32(v)
		}
	}
	text := Text{Offsets: make([][2]int, tt)}
	at := 1
	for p := range phrases {
		n := 1 + p%3
		var toks []int
		for k := range n {
			toks = append(toks, at+k)
		}
		text.PhraseTokens = append(text.PhraseTokens, toks)
		text.Prompt.Phrases = append(text.Prompt.Phrases, Phrase{Text: "name", LabelID: int32(p)})
		at += n + 1
	}
	return out, text, Geometry{OrigW: 1333, OrigH: 1000, ResizedW: 1066, ResizedH: 800}
}

// BenchmarkDecode is GLIP post-processing per image, 900 queries × 256
// tokens, 80 phrases: "typical" has trained-detector-like logits (few
// pairs over the 0.05 threshold), "dense" has every pair near 0.5 (the
// worst case: every sigmoid computed, 1000 candidates into NMS).
func BenchmarkDecode(b *testing.B) {
	for _, bc := range []struct {
		name      string
		mean, hot float64
	}{{"typical", -8, 0.002}, {"dense", 0, 0}} {
		b.Run(bc.name, func(b *testing.B) {
			out, text, g := benchInput(bc.mean, bc.hot)
			p := DefaultParams()
			var n int
			for b.Loop() {
				n = len(Decode(out, text, g, p))
			}
			b.ReportMetric(float64(n), "boxes")
		})
	}
}

var benchCaptions = []string{
	"A man riding a red bicycle down a busy city street.",
	"Two dogs playing with a frisbee in the park",
	"a woman in a blue dress holding an umbrella next to a parked car",
	"A close-up of a slice of pepperoni pizza on a white plate.",
	"A group of people standing around a kitchen island with laptops",
	"Aerial view of a beach with umbrellas and surfers",
	"A stop sign at the intersection of two roads on a sunny day",
	"a black and white photo of a train station",
}

// BenchmarkNounPhrases is caption mode's tagging and chunking, per
// caption (the captions above, about 11 words each).
func BenchmarkNounPhrases(b *testing.B) {
	NounPhrases("warm up") // load the model outside the timing
	i := 0
	for b.Loop() {
		NounPhrases(benchCaptions[i%len(benchCaptions)])
		i++
	}
}

// BenchmarkProseTagging is prose's own tagging pipeline on the same
// captions, for comparison (document built once per caption, shared
// model, no segmentation or entities).
func BenchmarkProseTagging(b *testing.B) {
	doc, err := prose.NewDocument("", prose.WithSegmentation(false), prose.WithExtraction(false))
	if err != nil {
		b.Fatal(err)
	}
	m := doc.Model
	i := 0
	for b.Loop() {
		_, err := prose.NewDocument(strings.ToLower(benchCaptions[i%len(benchCaptions)]),
			prose.UsingModel(m), prose.WithSegmentation(false), prose.WithExtraction(false))
		if err != nil {
			b.Fatal(err)
		}
		i++
	}
}
