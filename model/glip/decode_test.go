package glip

import (
	"math"
	"testing"
)

// logit3 is ln 3: sigmoid(ln 3) = 0.75 and sigmoid(-ln 3) = 0.25.
var logit3 = float32(math.Log(3))

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol }

// onePhraseParams keeps every candidate: no threshold, NMS or top-K.
func keepAll() Params {
	p := DefaultParams()
	p.PreThreshold, p.ScoreThreshold, p.NMSIoU, p.TopK = -1, -1, 0, 0
	return p
}

func TestScoreAggregation(t *testing.T) {
	// One query over tokens [CLS] t1 t2 t3 [SEP] with probabilities
	// 0.5, 0.75, 0.25 on t1..t3.
	logits := []float32{-9, 0, logit3, -logit3, -9}
	tests := []struct {
		name       string
		aggregate  string
		tokens     []int
		centerness []float32
		want       float64
	}{
		{"mean of one token", AggregateMean, []int{1}, nil, 0.5},
		{"mean of two", AggregateMean, []int{1, 2}, nil, 0.625},
		{"mean of three", AggregateMean, []int{1, 2, 3}, nil, 0.5},
		{"max of three", AggregateMax, []int{1, 2, 3}, nil, 0.75},
		{"max of one", AggregateMax, []int{3}, nil, 0.25},
		// sqrt(0.625 × sigmoid(0)) = sqrt(0.3125)
		{"mean with centerness", AggregateMean, []int{1, 2}, []float32{0}, 0.5590169943749474},
		// sqrt(0.75 × 0.75)
		{"max with centerness", AggregateMax, []int{1, 2, 3}, []float32{logit3}, 0.75},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := keepAll()
			p.Aggregate = tc.aggregate
			out := Output{Boxes: []float32{10, 10, 20, 20}, Logits: logits, Centerness: tc.centerness, Queries: 1, Tokens: 5, Sigmoid: true, Format: XYXYPixels}
			text := Text{Prompt: Prompt{Text: "x", Phrases: []Phrase{{Text: "x", LabelID: -1}}}, PhraseTokens: [][]int{tc.tokens},
				Offsets: make([][2]int, 5)}
			got := Decode(out, text, Geometry{100, 100, 100, 100}, p)
			if len(got) != 1 || !near(float64(got[0].Score), tc.want, 1e-6) {
				t.Fatalf("got %+v, want one box scored %g", got, tc.want)
			}
		})
	}
}

func TestScoreThresholds(t *testing.T) {
	// Probabilities given directly (no sigmoid), so that scores land
	// exactly on the thresholds, which are strict as in GLIP.
	tests := []struct {
		name          string
		prob          float32
		pre, final    float32
		wantCandidate bool
		wantKept      bool
	}{
		{"above both", 0.5, 0.05, 0.3, true, true},
		{"on the pre-threshold", 0.05, 0.05, 0, false, false},
		{"just over the pre-threshold", 0.0500001, 0.05, 0, true, true},
		{"on the final threshold", 0.3, 0.05, 0.3, true, false},
		{"under the final threshold", 0.2, 0.05, 0.3, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := DefaultParams()
			p.PreThreshold, p.ScoreThreshold = tc.pre, tc.final
			out := Output{Boxes: []float32{10, 10, 20, 20}, Logits: []float32{0, tc.prob, 0}, Queries: 1, Tokens: 3, Format: XYXYPixels}
			text := Text{Prompt: Prompt{Phrases: []Phrase{{Text: "x", LabelID: -1}}}, PhraseTokens: [][]int{{1}}, Offsets: make([][2]int, 3)}
			g := Geometry{100, 100, 100, 100}
			if got := Score(out, text, g, p).Len() == 1; got != tc.wantCandidate {
				t.Errorf("candidate %v, want %v", got, tc.wantCandidate)
			}
			if got := len(Decode(out, text, g, p)) == 1; got != tc.wantKept {
				t.Errorf("kept %v, want %v", got, tc.wantKept)
			}
		})
	}
}

func TestPreTopN(t *testing.T) {
	// Five queries scoring 0.1 .. 0.5 on one phrase.
	const q = 5
	logits := make([]float32, q*2)
	boxes := make([]float32, q*4)
	for i := range q {
		logits[i*2+1] = float32(i+1) / 10
		boxes[i*4], boxes[i*4+1], boxes[i*4+2], boxes[i*4+3] = float32(20*i), 0, float32(20*i+10), 10
	}
	tests := []struct {
		name   string
		topN   int
		levels []int
		want   []int // queries kept, best first
	}{
		{"no limit", 0, nil, []int{4, 3, 2, 1, 0}},
		{"two overall", 2, nil, []int{4, 3}},
		{"two per level", 1, []int{2, 3}, []int{4, 1}},
		{"levels wider than the limit", 3, []int{2, 3}, []int{4, 3, 2, 1, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := keepAll()
			p.PreTopN = tc.topN
			out := Output{Boxes: boxes, Logits: logits, Queries: q, Tokens: 2, Format: XYXYPixels, Levels: tc.levels}
			text := Text{Prompt: Prompt{Phrases: []Phrase{{LabelID: -1}}}, PhraseTokens: [][]int{{1}}, Offsets: make([][2]int, 2)}
			got := Decode(out, text, Geometry{200, 200, 200, 200}, p)
			var qs []int
			for _, d := range got {
				qs = append(qs, d.Query)
			}
			if len(qs) != len(tc.want) {
				t.Fatalf("queries %v, want %v", qs, tc.want)
			}
			for i := range qs {
				if qs[i] != tc.want[i] {
					t.Fatalf("queries %v, want %v", qs, tc.want)
				}
			}
		})
	}
}

func TestIoU(t *testing.T) {
	tests := []struct {
		name          string
		a, b          [4]float32
		cont, plusOne float64
	}{
		// 10×10 boxes (9×9 continuous) overlapping by half.
		{"half overlap", [4]float32{0, 0, 9, 9}, [4]float32{5, 0, 14, 9}, 36.0 / 126, 50.0 / 150},
		{"identical", [4]float32{0, 0, 9, 9}, [4]float32{0, 0, 9, 9}, 1, 1},
		{"disjoint", [4]float32{0, 0, 4, 4}, [4]float32{10, 10, 14, 14}, 0, 0},
		// Touching at x = 4: continuous IoU 0, but one shared pixel
		// column with +1: inter 1×5, union 25+25-5.
		{"touching", [4]float32{0, 0, 4, 4}, [4]float32{4, 0, 8, 4}, 0, 5.0 / 45},
		// A zero-width box is one pixel wide with +1.
		{"zero width", [4]float32{2, 0, 2, 9}, [4]float32{0, 0, 9, 9}, 0, 10.0 / 100},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := IoU(tc.a, tc.b); !near(float64(got), tc.cont, 1e-6) {
				t.Errorf("IoU %g, want %g", got, tc.cont)
			}
			if got := IoUPlusOne(tc.a, tc.b); !near(float64(got), tc.plusOne, 1e-6) {
				t.Errorf("IoUPlusOne %g, want %g", got, tc.plusOne)
			}
		})
	}
}

func TestNMS(t *testing.T) {
	box := func(x float32) [4]float32 { return [4]float32{x, 0, x + 9, 9} }
	det := func(x, score float32, phrase int, label int32) Detection {
		return Detection{Box: box(x), Score: score, Phrase: phrase, LabelID: label}
	}
	tests := []struct {
		name   string
		iou    float32
		legacy bool
		dets   []Detection
		want   []float32 // scores kept
	}{
		// IoU of boxes 1 apart: continuous 8×9/(81+81-72) = 0.8; +1
		// 9×10/(100+100-90) = 0.818.
		{"same phrase suppressed", 0.6, false, []Detection{det(0, 0.9, 0, -1), det(1, 0.8, 0, -1)}, []float32{0.9}},
		{"other phrase kept", 0.6, false, []Detection{det(0, 0.9, 0, -1), det(1, 0.8, 1, -1)}, []float32{0.9, 0.8}},
		{"same label across prompts suppressed", 0.6, false,
			[]Detection{{Box: box(0), Score: 0.9, Phrase: 0, LabelID: 7}, {Box: box(1), Score: 0.8, Prompt: 1, Phrase: 2, LabelID: 7}}, []float32{0.9}},
		{"other labels kept", 0.6, false, []Detection{det(0, 0.9, 0, 3), det(1, 0.8, 0, 4)}, []float32{0.9, 0.8}},
		// Boxes 5 apart: continuous 4×9/126 = 0.286, +1 50/150 = 0.333.
		{"legacy IoU suppresses where continuous keeps", 0.3, true, []Detection{det(0, 0.9, 0, -1), det(5, 0.8, 0, -1)}, []float32{0.9}},
		{"continuous IoU keeps", 0.3, false, []Detection{det(0, 0.9, 0, -1), det(5, 0.8, 0, -1)}, []float32{0.9, 0.8}},
		// IoU exactly at the threshold is not above it.
		{"threshold is strict", 1, false, []Detection{det(0, 0.9, 0, -1), det(0, 0.8, 0, -1)}, []float32{0.9, 0.8}},
		{"a suppressed box suppresses nothing", 0.6, false,
			[]Detection{det(0, 0.9, 0, -1), det(1, 0.8, 0, -1), det(2, 0.7, 0, -1)}, []float32{0.9}},
		{"chain", 0.45, false, []Detection{det(0, 0.9, 0, -1), det(3, 0.8, 0, -1), det(6, 0.7, 0, -1)}, []float32{0.9, 0.7}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := NMS(tc.dets, tc.iou, tc.legacy)
			if len(got) != len(tc.want) {
				t.Fatalf("kept %+v, want scores %v", got, tc.want)
			}
			for i := range got {
				if got[i].Score != tc.want[i] {
					t.Fatalf("kept %+v, want scores %v", got, tc.want)
				}
			}
		})
	}
}

func TestTopKKeepsTies(t *testing.T) {
	p := keepAll()
	p.TopK = 2
	var c Candidates
	for i, s := range []float32{0.9, 0.8, 0.8, 0.7} {
		c.list = append(c.list, cand{det: Detection{Box: [4]float32{0, 0, 10, 10}, Score: s, Query: i, Phrase: i}})
	}
	if got := Merge(Geometry{10, 10, 10, 10}, p, 4, c); len(got) != 3 {
		t.Errorf("kept %d, want 3 (the two tied with the 2nd best too)", len(got))
	}
	p.TopKLargeVocab = 1
	if got := Merge(Geometry{10, 10, 10, 10}, p, LargeVocab+1, c); len(got) != 1 {
		t.Errorf("kept %d over %d names, want TopKLargeVocab = 1", len(got), LargeVocab+1)
	}
}

func TestUnmap(t *testing.T) {
	// 640×427 becomes 1199×800 (get_size truncates 1199.06);
	// 333×500 becomes 800×1201. Padding (to 1216×800, 800×1216) is at
	// the bottom and right and changes nothing.
	g1 := Geometry{OrigW: 640, OrigH: 427, ResizedW: 1199, ResizedH: 800}
	g2 := Geometry{OrigW: 333, OrigH: 500, ResizedW: 800, ResizedH: 1201}
	tests := []struct {
		name   string
		format BoxFormat
		legacy bool
		g      Geometry
		in     [4]float32
		want   [4]float64
	}{
		// Fractions of the resized image are fractions of the original.
		{"cxcywh centre", CXCYWHNorm, false, g1, [4]float32{0.5, 0.5, 0.5, 0.5}, [4]float64{160, 106.75, 480, 320.25}},
		{"cxcywh whole image", CXCYWHNorm, false, g2, [4]float32{0.5, 0.5, 1, 1}, [4]float64{0, 0, 333, 500}},
		{"cxcywh clipped to the image", CXCYWHNorm, false, g1, [4]float32{1, 1, 0.5, 0.5}, [4]float64{480, 320.25, 640, 427}},
		// Pixels of the resized image scale by original/resized per axis:
		// 599.5 × 640/1199 = 320, 400 × 427/800 = 213.5.
		{"xyxy pixels", XYXYPixels, false, g1, [4]float32{0, 0, 599.5, 400}, [4]float64{0, 0, 320, 213.5}},
		// GLIP clips to W−1, H−1 of the resized image first:
		// 1198 × 640/1199 and 799 × 427/800.
		{"xyxy pixels, legacy clip", XYXYPixels, true, g1, [4]float32{-5, -5, 1300, 900}, [4]float64{0, 0, 1198.0 * 640 / 1199, 799.0 * 427 / 800}},
		{"xyxy pixels, continuous clip", XYXYPixels, false, g1, [4]float32{-5, -5, 1300, 900}, [4]float64{0, 0, 640, 427}},
		{"xyxy pixels, tall image", XYXYPixels, false, g2, [4]float32{400, 600.5, 800, 1201}, [4]float64{166.5, 250, 333, 500}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := keepAll()
			p.LegacyPixels = tc.legacy
			out := Output{Boxes: tc.in[:], Logits: []float32{0, 1}, Queries: 1, Tokens: 2, Format: tc.format}
			text := Text{Prompt: Prompt{Phrases: []Phrase{{LabelID: -1}}}, PhraseTokens: [][]int{{1}}, Offsets: make([][2]int, 2)}
			got := Decode(out, text, tc.g, p)
			if len(got) != 1 {
				t.Fatalf("got %d boxes", len(got))
			}
			for k := range 4 {
				if !near(float64(got[0].Box[k]), tc.want[k], 1e-4) {
					t.Fatalf("box %v, want %v", got[0].Box, tc.want)
				}
			}
		})
	}
}

func TestDegenerateBoxesDropped(t *testing.T) {
	p := keepAll()
	// Entirely left of the image: clipped to zero width.
	out := Output{Boxes: []float32{-20, 0, -10, 10, 0, 0, 10, 10}, Logits: []float32{0, 1, 0, 1}, Queries: 2, Tokens: 2, Format: XYXYPixels}
	text := Text{Prompt: Prompt{Phrases: []Phrase{{LabelID: -1}}}, PhraseTokens: [][]int{{1}}, Offsets: make([][2]int, 2)}
	got := Decode(out, text, Geometry{100, 100, 100, 100}, p)
	if len(got) != 1 || got[0].Query != 1 {
		t.Errorf("got %+v, want only query 1", got)
	}
	// Legacy: x2 − x1 + 1 < 0 removes an inverted box before NMS.
	p.LegacyPixels = true
	out.Boxes = []float32{50, 0, 40, 10, 0, 0, 10, 10}
	if c := Score(out, text, Geometry{100, 100, 100, 100}, p); c.Len() != 1 {
		t.Errorf("%d candidates, want the inverted box removed", c.Len())
	}
}

func TestScoreTokens(t *testing.T) {
	p, err := Preset(PresetGroundingDINO)
	if err != nil {
		t.Fatal(err)
	}
	// "a cat and a hot dog." : [CLS] a cat and a hot dog . [SEP]
	text := "a cat and a hot dog."
	pieces := []string{"[CLS]", "a", "cat", "and", "a", "hot", "dog", ".", "[SEP]"}
	offsets := [][2]int{{0, 0}, {0, 1}, {2, 5}, {6, 9}, {10, 11}, {12, 15}, {16, 19}, {19, 20}, {0, 0}}
	lo, hi, mid := float32(-5), float32(3), float32(-0.5) // 0.0067, 0.95, 0.38
	row := func(vals map[int]float32) []float32 {
		r := make([]float32, 9)
		for i := range r {
			r[i] = lo
		}
		for k, v := range vals {
			r[k] = v
		}
		return r
	}
	tests := []struct {
		name      string
		row       []float32
		wantText  string
		wantSpan  [2]int
		wantScore float32
		kept      bool
	}{
		{"one token", row(map[int]float32{2: hi}), "cat", [2]int{2, 5}, 0.95257413, true},
		{"two phrases in one", row(map[int]float32{5: hi, 6: mid, 2: mid}), "cat hot dog", [2]int{2, 19}, 0.95257413, true},
		{"under the box threshold", row(map[int]float32{2: -0.7}), "", [2]int{}, 0, false},
		{"max over the text threshold only", row(map[int]float32{2: mid, 6: -1.5}), "cat", [2]int{2, 5}, 0.37754068, true},
		{"period removed, span without it", row(map[int]float32{6: hi, 7: hi}), "dog", [2]int{16, 19}, 0.95257413, true},
		{"only the period: no phrase", row(map[int]float32{7: hi}), "", [2]int{}, 0, false},
		{"only [SEP]: no phrase", row(map[int]float32{8: hi}), "", [2]int{}, 0, false},
		{"[CLS] counts for the score, never the phrase", row(map[int]float32{0: hi, 2: mid}), "cat", [2]int{2, 5}, 0.95257413, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := Output{Boxes: []float32{0.5, 0.5, 0.2, 0.2}, Logits: tc.row, Queries: 1, Tokens: 9, Sigmoid: true, Format: CXCYWHNorm}
			got := Decode(out, Text{Prompt: Prompt{Text: text}, Offsets: offsets, Pieces: pieces}, Geometry{100, 100, 100, 100}, p)
			if !tc.kept {
				if len(got) != 0 {
					t.Fatalf("got %+v, want nothing", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("got %d boxes, want 1", len(got))
			}
			d := got[0]
			if d.Text != tc.wantText || d.Start != tc.wantSpan[0] || d.End != tc.wantSpan[1] || !near(float64(d.Score), float64(tc.wantScore), 1e-6) || d.LabelID != -1 {
				t.Errorf("got %q [%d,%d) %g label %d, want %q %v %g", d.Text, d.Start, d.End, d.Score, d.LabelID, tc.wantText, tc.wantSpan, tc.wantScore)
			}
		})
	}
	// Vocabulary prompt: the name of the most probable selected token.
	phrases := []Phrase{{Text: "cat", Start: 0, End: 3, LabelID: 4}, {Text: "hot dog", Start: 6, End: 13, LabelID: 9}}
	voffsets := [][2]int{{0, 0}, {0, 3}, {4, 5}, {6, 9}, {10, 13}, {14, 15}, {0, 0}} // cat . hot dog .
	vt := Text{Prompt: Prompt{Text: "cat . hot dog .", Phrases: phrases}, PhraseTokens: [][]int{{1}, {3, 4}}, Offsets: voffsets}
	out := Output{Boxes: []float32{0.5, 0.5, 0.2, 0.2, 0.5, 0.5, 0.2, 0.2}, Queries: 2, Tokens: 7, Sigmoid: true,
		Logits: []float32{lo, mid, hi, lo, 0, lo, lo /* q1: */, lo, lo, hi, lo, lo, lo, lo}}
	got := Decode(out, vt, Geometry{100, 100, 100, 100}, p)
	if len(got) != 1 || got[0].LabelID != 9 || got[0].Text != "hot dog" || got[0].Query != 0 {
		t.Errorf("vocabulary: got %+v, want query 0 as \"hot dog\" (label 9); query 1 has only a period", got)
	}
}

func TestInputSize(t *testing.T) {
	tests := []struct {
		w, h, short, max int
		ww, wh           int
	}{
		{640, 427, 800, 1333, 1199, 800}, // 800×640/427 = 1199.06, truncated
		{427, 640, 800, 1333, 800, 1199},
		{800, 600, 800, 1333, 1066, 800},   // 1066.67 truncated
		{4000, 3000, 800, 1333, 1066, 800}, // same ratio
		{1000, 1000, 800, 1333, 800, 800},
		{800, 1200, 800, 1333, 800, 1200}, // short side already 800: unchanged
		// 2:1 would make the long side 1600 > 1333: size =
		// round(1333×1000/2000) = round(666.5) = 666 (half to even).
		{2000, 1000, 800, 1333, 1332, 666},
		{1000, 2000, 800, 1333, 666, 1332},
		// round(1333×1000/3000) = round(444.33) = 444; 444×3 = 1332.
		{3000, 1000, 800, 1333, 1332, 444},
		{500, 333, 800, 0, 1201, 800}, // no cap
		{333, 500, 800, 1333, 800, 1201},
		{1, 10000, 800, 1333, 1, 1}, // GLIP would make it 0×0
	}
	for _, tc := range tests {
		if w, h := InputSize(tc.w, tc.h, tc.short, tc.max); w != tc.ww || h != tc.wh {
			t.Errorf("InputSize(%d, %d, %d, %d) = %d×%d, want %d×%d", tc.w, tc.h, tc.short, tc.max, w, h, tc.ww, tc.wh)
		}
	}
}

func TestDecodePieces(t *testing.T) {
	tests := []struct {
		name   string
		pieces []string
		want   string
	}{
		{"words", []string{"a", "red", "car"}, "a red car"},
		{"continuations", []string{"surf", "##board", "##s"}, "surfboards"},
		{"leading continuation kept", []string{"##s", "dog"}, "##s dog"},
		{"period", []string{"dog", ".", "cat"}, "dog. cat"},
		{"comma and question", []string{"a", ",", "b", "?"}, "a, b?"},
		{"apostrophe s", []string{"it", "'", "s"}, "it's"},
		{"empty", nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := DecodePieces(tc.pieces); got != tc.want {
				t.Errorf("DecodePieces(%q) = %q, want %q", tc.pieces, got, tc.want)
			}
		})
	}
}

func TestPresets(t *testing.T) {
	g, err := Preset("glip")
	if err != nil || g != DefaultParams() {
		t.Errorf("Preset(glip) = %+v, %v; want DefaultParams", g, err)
	}
	d, err := Preset("grounding-dino")
	if err != nil || d.Scoring != ScoreTokens || d.BoxThreshold != 0.35 || d.TextThreshold != 0.25 || d.NMSIoU > 0 || d.TopK != 0 {
		t.Errorf("Preset(grounding-dino) = %+v, %v", d, err)
	}
	for _, p := range []Params{g, d} {
		if err := p.Validate(); err != nil {
			t.Error(err)
		}
	}
	if _, err := Preset("yolo"); err == nil {
		t.Error("Preset(yolo) did not fail")
	}
	bad := DefaultParams()
	bad.Aggregate, bad.TopK = "median", -1
	if err := bad.Validate(); err == nil {
		t.Error("Validate accepted aggregate median and top-k -1")
	}
	if g.Hash() == d.Hash() {
		t.Error("presets hash the same")
	}
}
