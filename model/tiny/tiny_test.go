package tiny

import (
	"bytes"
	"fmt"
	"math"
	"slices"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

var (
	groundingInputs  = []string{"pixel_values", "input_ids", "attention_mask"}
	groundingOutputs = []string{"pred_boxes", "logits"}
)

// groundingFeeds builds Grounding inputs: images from imgSeed, the given ids
// (B*T) and a mask with the last pad[i] tokens of row i masked.
func groundingFeeds(imgSeed uint64, b, h, w int, ids []int64, pad []int) []feed {
	t := len(ids) / b
	mask := make([]int64, len(ids))
	for i := range b {
		for j := range t {
			if j < t-pad[i] {
				mask[i*t+j] = 1
			}
		}
	}
	return []feed{
		{name: "pixel_values", shape: []int64{int64(b), 3, int64(h), int64(w)}, f32: randImage(imgSeed, b, h, w)},
		{name: "input_ids", shape: []int64{int64(b), int64(t)}, i64: ids},
		{name: "attention_mask", shape: []int64{int64(b), int64(t)}, i64: mask},
	}
}

// vocabIDs returns b*t ids of caption words of WordPieceVocab, by seed.
func vocabIDs(seed uint64, b, t, vocab int) []int64 {
	ids := make([]int64, b*t)
	for i := range ids {
		// Skip the special tokens and single characters.
		ids[i] = int64(141 + (int(seed)*7919+i*104729)%(vocab-141))
	}
	return ids
}

func TestGroundingShapesAndRanges(t *testing.T) {
	tests := []struct {
		name       string
		opts       *GroundingOptions
		b, h, w, t int
		pad        []int
		q          int
	}{
		{name: "defaults B2 64x96 T7", b: 2, h: 64, w: 96, t: 7, pad: []int{0, 3}, q: 32},
		{name: "heavy layers", opts: &GroundingOptions{HeavyLayers: 3, HeavyWidth: 64}, b: 2, h: 96, w: 64, t: 7, pad: []int{2, 0}, q: 32},
		{name: "small odd image", opts: &GroundingOptions{Queries: 5, EmbedDim: 8, VocabSize: 600, Seed: 3}, b: 1, h: 5, w: 11, t: 3, pad: []int{1}, q: 5},
		{name: "B4 320x320 T32", opts: &GroundingOptions{Seed: 9}, b: 4, h: 320, w: 320, t: 32, pad: []int{0, 10, 20, 31}, q: 32},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			model, err := Grounding(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			s := newSession(t, model, groundingInputs, groundingOutputs)
			vocab := DefaultGroundingVocabSize
			if tc.opts != nil && tc.opts.VocabSize != 0 {
				vocab = tc.opts.VocabSize
			}
			out := s.run(t, groundingFeeds(1, tc.b, tc.h, tc.w, vocabIDs(2, tc.b, tc.t, vocab), tc.pad)...)
			boxes, logits := out[0], out[1]
			if !shapeEq(boxes.shape, int64(tc.b), int64(tc.q), 4) {
				t.Errorf("pred_boxes shape %v, want [%d %d 4]", boxes.shape, tc.b, tc.q)
			}
			if !shapeEq(logits.shape, int64(tc.b), int64(tc.q), int64(tc.t)) {
				t.Fatalf("logits shape %v, want [%d %d %d]", logits.shape, tc.b, tc.q, tc.t)
			}
			for i, v := range boxes.data {
				if !(v > 0 && v < 1) {
					t.Fatalf("pred_boxes[%d] = %v, want in (0,1)", i, v)
				}
			}
			above, real := 0, 0
			for i, v := range logits.data {
				bi, ti := i/(tc.q*tc.t), i%tc.t
				padded := ti >= tc.t-tc.pad[bi]
				switch {
				case math.IsNaN(float64(v)) || math.IsInf(float64(v), 0):
					t.Fatalf("logits[%d] = %v", i, v)
				case padded && v >= -1000:
					t.Fatalf("padded logits[%d] = %v, want < -1000", i, v)
				case !padded && math.Abs(float64(v)) > 50:
					t.Fatalf("real-token logits[%d] = %v, want moderate", i, v)
				case !padded:
					real++
					if v > 0 {
						above++
					}
				}
			}
			frac := float64(above) / float64(real)
			t.Logf("sigmoid(logit) > 0.5 for %.0f%% of %d real-token logits", 100*frac, real)
			if frac < 0.05 || frac > 0.95 {
				t.Errorf("scores not spread: %.3f above 0.5", frac)
			}
		})
	}
}

func TestGroundingDependsOnInputs(t *testing.T) {
	model, err := Grounding(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := newSession(t, model, groundingInputs, groundingOutputs)
	const b, h, w, q, tl = 1, 64, 96, 32, 7
	ids := []int64{2, 500, 300, 401, 500, 250, 3} // 500 twice
	base := s.run(t, groundingFeeds(1, b, h, w, ids, []int{0})...)
	// at returns logits[0, query, token] of out.
	at := func(out []tensor, query, tok int) float32 { return out[1].data[query*tl+tok] }

	tests := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"different image content changes boxes and logits", func(t *testing.T) {
			other := s.run(t, groundingFeeds(77, b, h, w, ids, []int{0})...)
			db, dl := maxAbsDiff(base[0].data, other[0].data), maxAbsDiff(base[1].data, other[1].data)
			t.Logf("max |Δbox| = %.4f, max |Δlogit| = %.4f", db, dl)
			if db < 1e-3 || dl < 1e-3 {
				t.Errorf("outputs barely depend on the image: Δbox %g, Δlogit %g", db, dl)
			}
		}},
		{"different token ids change logits", func(t *testing.T) {
			ids2 := slices.Clone(ids)
			ids2[2], ids2[3] = 600, 700
			other := s.run(t, groundingFeeds(1, b, h, w, ids2, []int{0})...)
			if d := maxAbsDiff(base[1].data, other[1].data); d < 1e-2 {
				t.Errorf("logits barely depend on the tokens: %g", d)
			}
			if d := maxAbsDiff(base[0].data, other[0].data); d != 0 {
				t.Errorf("boxes depend on the tokens (Δ %g); they should not", d)
			}
		}},
		{"same token at two positions gives close logits", func(t *testing.T) {
			worst := 0.0
			for qi := range q {
				worst = math.Max(worst, math.Abs(float64(at(base, qi, 1)-at(base, qi, 4))))
			}
			if worst > 0.5 {
				t.Errorf("same token differs by %g across positions", worst)
			}
		}},
		{"different tokens give different logits", func(t *testing.T) {
			worst := 0.0
			for qi := range q {
				worst = math.Max(worst, math.Abs(float64(at(base, qi, 1)-at(base, qi, 2))))
			}
			if worst < 1e-2 {
				t.Errorf("tokens 500 and 300 give the same logits (max Δ %g)", worst)
			}
		}},
		{"samples in a batch are independent", func(t *testing.T) {
			pix := randImage(1, 1, h, w)
			pair := append(slices.Clone(pix), randImage(5, 1, h, w)...)
			two := s.run(t,
				feed{name: "pixel_values", shape: []int64{2, 3, h, w}, f32: pair},
				feed{name: "input_ids", shape: []int64{2, tl}, i64: append(slices.Clone(ids), ids...)},
				feed{name: "attention_mask", shape: []int64{2, tl}, i64: slices.Repeat([]int64{1}, 2*tl)})
			if d := maxAbsDiff(base[0].data, two[0].data[:q*4]); d > 1e-5 {
				t.Errorf("batched boxes differ from single by %g", d)
			}
			if d := maxAbsDiff(base[1].data, two[1].data[:q*tl]); d > 1e-4 {
				t.Errorf("batched logits differ from single by %g", d)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.check)
	}
}

func TestDeterminism(t *testing.T) {
	type builder func(seed uint64) ([]byte, error)
	tests := []struct {
		name  string
		build builder
	}{
		{"grounding", func(s uint64) ([]byte, error) { return Grounding(&GroundingOptions{Seed: s}) }},
		{"grounding heavy", func(s uint64) ([]byte, error) { return Grounding(&GroundingOptions{Seed: s, HeavyLayers: 2}) }},
		{"clip image", func(s uint64) ([]byte, error) { return CLIPImage(&CLIPOptions{Seed: s}) }},
		{"clip text", func(s uint64) ([]byte, error) { return CLIPText(&CLIPOptions{Seed: s, VocabSize: 1000}) }},
		{"clip region", func(s uint64) ([]byte, error) { return CLIPRegion(&CLIPOptions{Seed: s}) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := tc.build(42)
			if err != nil {
				t.Fatal(err)
			}
			b, err := tc.build(42)
			if err != nil {
				t.Fatal(err)
			}
			c, err := tc.build(43)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(a, b) {
				t.Error("same seed gave different bytes")
			}
			if bytes.Equal(a, c) {
				t.Error("different seeds gave identical bytes")
			}
		})
	}
}

func TestOptionErrors(t *testing.T) {
	tests := []struct {
		name  string
		build func() ([]byte, error)
	}{
		{"grounding negative queries", func() ([]byte, error) { return Grounding(&GroundingOptions{Queries: -1}) }},
		{"grounding negative heavy", func() ([]byte, error) { return Grounding(&GroundingOptions{HeavyLayers: -2}) }},
		{"clip negative dim", func() ([]byte, error) { return CLIPImage(&CLIPOptions{EmbedDim: -1}) }},
		{"clip negative vocab", func() ([]byte, error) { return CLIPText(&CLIPOptions{VocabSize: -1}) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := tc.build(); err == nil {
				t.Error("want error")
			}
		})
	}
}

func TestGroundingHeavyKeepsPredictionsClose(t *testing.T) {
	light, err := Grounding(nil)
	if err != nil {
		t.Fatal(err)
	}
	heavy, err := Grounding(&GroundingOptions{HeavyLayers: 4})
	if err != nil {
		t.Fatal(err)
	}
	feeds := groundingFeeds(3, 2, 48, 48, vocabIDs(1, 2, 5, 1024), []int{0, 1})
	a := newSession(t, light, groundingInputs, groundingOutputs).run(t, feeds...)
	b := newSession(t, heavy, groundingInputs, groundingOutputs).run(t, feeds...)
	db := maxAbsDiff(a[0].data, b[0].data)
	t.Logf("HeavyLayers=4 vs 0: max |Δbox| = %.4f", db)
	if db == 0 || db > 0.1 {
		t.Errorf("heavy layers should nudge boxes slightly, Δ = %g", db)
	}
}

func TestCLIPImageAndText(t *testing.T) {
	tests := []struct {
		name string
		opts *CLIPOptions
		b    int
		d    int
	}{
		{"defaults", nil, 2, DefaultCLIPEmbedDim},
		{"dim 32 batch 3", &CLIPOptions{EmbedDim: 32, VocabSize: 500, Seed: 5}, 3, 32},
	}
	for _, tc := range tests {
		t.Run(tc.name+"/image", func(t *testing.T) {
			model, err := CLIPImage(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			s := newSession(t, model, []string{"pixel_values"}, []string{"image_embeds"})
			out := s.run(t, feed{name: "pixel_values", shape: []int64{int64(tc.b), 3, 224, 224}, f32: randImage(8, tc.b, 224, 224)})
			if !shapeEq(out[0].shape, int64(tc.b), int64(tc.d)) {
				t.Fatalf("image_embeds shape %v, want [%d %d]", out[0].shape, tc.b, tc.d)
			}
			if c := cosine(out[0].data[:tc.d], out[0].data[tc.d:2*tc.d]); c > 0.9999 {
				t.Errorf("two images embed identically (cos %g)", c)
			}
		})
		t.Run(tc.name+"/text", func(t *testing.T) {
			model, err := CLIPText(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			vocab := int64(DefaultCLIPVocabSize)
			if tc.opts != nil && tc.opts.VocabSize != 0 {
				vocab = int64(tc.opts.VocabSize)
			}
			eot, bos := vocab-1, vocab-2
			s := newSession(t, model, []string{"input_ids"}, []string{"text_embeds"})
			ids := make([]int64, tc.b*CLIPContextLength)
			for i := range tc.b {
				row := ids[i*CLIPContextLength : (i+1)*CLIPContextLength]
				row[0], row[1], row[2], row[3+i] = bos, int64(10+i), int64(20+i), eot
				for j := 4 + i; j < len(row); j++ {
					if j%2 == 0 { // mixed EOT and 0 padding
						row[j] = eot
					}
				}
			}
			out := s.run(t, feed{name: "input_ids", shape: []int64{int64(tc.b), CLIPContextLength}, i64: ids})
			if !shapeEq(out[0].shape, int64(tc.b), int64(tc.d)) {
				t.Fatalf("text_embeds shape %v, want [%d %d]", out[0].shape, tc.b, tc.d)
			}
			if c := cosine(out[0].data[:tc.d], out[0].data[tc.d:2*tc.d]); c > 0.9999 {
				t.Errorf("two texts embed identically (cos %g)", c)
			}
			// Padding after the end-of-text token must not matter.
			ids2 := slices.Clone(ids)
			for i := range tc.b {
				for j := 4 + i; j < CLIPContextLength; j++ {
					ids2[i*CLIPContextLength+j] = 0
				}
			}
			out2 := s.run(t, feed{name: "input_ids", shape: []int64{int64(tc.b), CLIPContextLength}, i64: ids2})
			if d := maxAbsDiff(out[0].data, out2[0].data); d > 1e-5 {
				t.Errorf("padding after EOT changed text_embeds by %g", d)
			}
		})
	}
}

// bilinearCrop crops box (x1,y1,x2,y2 in pixels) of a [3,h,w] image and
// resizes it to size x size with half-pixel bilinear sampling at the output
// pixel centres, clamping at the borders like RoiAlign.
func bilinearCrop(img []float32, h, w int, box [4]float32, size int) []float32 {
	out := make([]float32, 3*size*size)
	sample := func(c int, y, x float64) float32 {
		if y < -1 || y > float64(h) || x < -1 || x > float64(w) {
			return 0
		}
		y, x = math.Max(y, 0), math.Max(x, 0)
		y0, x0 := int(y), int(x)
		y1, x1 := y0+1, x0+1
		if y0 >= h-1 {
			y0, y1, y = h-1, h-1, float64(h-1)
		}
		if x0 >= w-1 {
			x0, x1, x = w-1, w-1, float64(w-1)
		}
		ly, lx := y-float64(y0), x-float64(x0)
		p := img[c*h*w:]
		return float32((1-ly)*(1-lx)*float64(p[y0*w+x0]) + (1-ly)*lx*float64(p[y0*w+x1]) +
			ly*(1-lx)*float64(p[y1*w+x0]) + ly*lx*float64(p[y1*w+x1]))
	}
	bw := float64(box[2]-box[0]) / float64(size)
	bh := float64(box[3]-box[1]) / float64(size)
	for c := range 3 {
		for i := range size {
			y := float64(box[1]) + (float64(i)+0.5)*bh - 0.5
			for j := range size {
				x := float64(box[0]) + (float64(j)+0.5)*bw - 0.5
				out[(c*size+i)*size+j] = sample(c, y, x)
			}
		}
	}
	return out
}

func TestCLIPRegionMatchesImageOnCrop(t *testing.T) {
	opts := &CLIPOptions{Seed: 11}
	imgModel, err := CLIPImage(opts)
	if err != nil {
		t.Fatal(err)
	}
	regModel, err := CLIPRegion(opts)
	if err != nil {
		t.Fatal(err)
	}
	img := newSession(t, imgModel, []string{"pixel_values"}, []string{"image_embeds"})
	reg := newSession(t, regModel, []string{"pixel_values", "boxes"}, []string{"region_embeds"})
	tests := []struct {
		name  string
		h, w  int
		boxes [][4]float32
	}{
		{"upsampled boxes", 120, 160, [][4]float32{{10.5, 20, 90, 110}, {0, 0, 160, 120}, {100, 5.25, 150.75, 60}}},
		{"downsampled boxes", 480, 640, [][4]float32{{20, 30, 620, 470}, {300, 100, 600, 400}}},
		{"thin box", 200, 300, [][4]float32{{50, 40, 250, 70}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pix := randImage(21, 1, tc.h, tc.w)
			k := len(tc.boxes)
			flat := make([]float32, 0, 4*k)
			crops := make([]float32, 0, k*3*224*224)
			for _, b := range tc.boxes {
				flat = append(flat, b[:]...)
				crops = append(crops, bilinearCrop(pix, tc.h, tc.w, b, 224)...)
			}
			got := reg.run(t,
				feed{name: "pixel_values", shape: []int64{1, 3, int64(tc.h), int64(tc.w)}, f32: pix},
				feed{name: "boxes", shape: []int64{int64(k), 4}, f32: flat})[0]
			want := img.run(t, feed{name: "pixel_values", shape: []int64{int64(k), 3, 224, 224}, f32: crops})[0]
			d := DefaultCLIPEmbedDim
			if !shapeEq(got.shape, int64(k), int64(d)) {
				t.Fatalf("region_embeds shape %v, want [%d %d]", got.shape, k, d)
			}
			for i := range k {
				g, w := got.data[i*d:(i+1)*d], want.data[i*d:(i+1)*d]
				c := cosine(g, w)
				t.Logf("box %v: max |Δ| = %.2e, cosine = %.6f", tc.boxes[i], maxAbsDiff(g, w), c)
				if c < 0.99 {
					t.Errorf("box %v: cosine %v < 0.99", tc.boxes[i], c)
				}
			}
		})
	}
}

func TestWordPieceVocab(t *testing.T) {
	full := WordPieceVocab(DefaultGroundingVocabSize)
	tests := []struct {
		name  string
		check func(t *testing.T)
	}{
		{"length", func(t *testing.T) {
			for _, n := range []int{0, 1, 5, 100, 1024, 2000} {
				if got := len(WordPieceVocab(n)); got != n {
					t.Errorf("len(WordPieceVocab(%d)) = %d", n, got)
				}
			}
		}},
		{"bert layout", func(t *testing.T) {
			want := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "b"}
			if !slices.Equal(full[:len(want)], want) {
				t.Errorf("prefix %q, want %q", full[:len(want)], want)
			}
		}},
		{"no duplicates", func(t *testing.T) {
			seen := map[string]int{}
			for i, w := range full {
				if j, ok := seen[w]; ok {
					t.Errorf("%q at %d and %d", w, j, i)
				}
				seen[w] = i
			}
		}},
		{"contents", func(t *testing.T) {
			for _, w := range []string{"##s", "##9", ".", "the", "red", "square", "circle", "triangle", "stripe", "background", "dog", "person", "car"} {
				if !slices.Contains(full, w) {
					t.Errorf("missing %q", w)
				}
			}
			words := 0
			for _, w := range full {
				if len(w) > 1 && w[0] != '[' && w[0] != '#' {
					words++
				}
			}
			t.Logf("%d entries before [unused], %d caption words", len(baseVocab()), words)
			if words < 300 {
				t.Errorf("only %d caption words", words)
			}
		}},
		{"prefix stable", func(t *testing.T) {
			if !slices.Equal(WordPieceVocab(200), full[:200]) {
				t.Error("WordPieceVocab(200) is not a prefix of WordPieceVocab(1024)")
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, tc.check)
	}
}

// BenchmarkGrounding shows the HeavyLayers/HeavyWidth knob making
// inference heavier (batch 4, 320x320 images, 32 tokens, one ORT thread).
func BenchmarkGrounding(b *testing.B) {
	const batch, h, w, tl = 4, 320, 320, 32
	feeds := groundingFeeds(1, batch, h, w, vocabIDs(1, batch, tl, 1024), []int{0, 4, 8, 12})
	for _, c := range []struct{ heavy, width int }{{0, 256}, {4, 256}, {16, 256}, {4, 1024}} {
		b.Run(fmt.Sprintf("heavy=%d/width=%d", c.heavy, c.width), func(b *testing.B) {
			model, err := Grounding(&GroundingOptions{HeavyLayers: c.heavy, HeavyWidth: c.width})
			if err != nil {
				b.Fatal(err)
			}
			s := newSession(b, model, groundingInputs, groundingOutputs)
			in, err := makeInputs(s.inputs, feeds)
			defer destroyAll(b, in)
			if err != nil {
				b.Fatal(err)
			}
			for b.Loop() {
				out := make([]ort.Value, len(s.outputs))
				if err := s.s.Run(in, out); err != nil {
					b.Fatal(err)
				}
				destroyAll(b, out)
			}
		})
	}
}
