package glip

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// goldenFile is written by testdata/golden/make_golden.py, a pure-Python
// implementation of GLIP's and Grounding DINO's post-processing made
// independently of this package.
var goldenFile = filepath.Join("testdata", "golden", "golden.json")

type goldenCase struct {
	Name     string `json:"name"`
	Seed     int    `json:"seed"`
	Params   Params `json:"params"`
	Geometry struct {
		OrigW    int `json:"orig_w"`
		OrigH    int `json:"orig_h"`
		ResizedW int `json:"resized_w"`
		ResizedH int `json:"resized_h"`
	} `json:"geometry"`
	Names   int `json:"names"`
	Prompts []struct {
		Text    string   `json:"text"`
		Pieces  []string `json:"pieces"`
		Offsets [][2]int `json:"offsets"`
		Phrases []struct {
			Text  string `json:"text"`
			Start int    `json:"start"`
			End   int    `json:"end"`
			Label int32  `json:"label"`
		} `json:"phrases"`
		PhraseTokens [][]int `json:"phrase_tokens"`
		Output       struct {
			Queries    int       `json:"queries"`
			Tokens     int       `json:"tokens"`
			Sigmoid    bool      `json:"sigmoid"`
			Format     string    `json:"format"`
			Boxes      []float32 `json:"boxes"`
			Logits     []float32 `json:"logits"`
			Centerness []float32 `json:"centerness"`
			Levels     []int     `json:"levels"`
		} `json:"output"`
	} `json:"prompts"`
	Expected []struct {
		Box    [4]float64 `json:"box"`
		Score  float64    `json:"score"`
		Prompt int        `json:"prompt"`
		Query  int        `json:"query"`
		Phrase int        `json:"phrase"`
		Label  int32      `json:"label"`
		Text   string     `json:"text"`
		Start  int        `json:"start"`
		End    int        `json:"end"`
	} `json:"expected"`
}

func TestGolden(t *testing.T) {
	raw, err := os.ReadFile(goldenFile)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []goldenCase `json:"cases"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	if len(file.Cases) < 5 {
		t.Fatalf("%d golden cases, want 5", len(file.Cases))
	}
	const tol = 1e-5
	for _, c := range file.Cases {
		t.Run(c.Name, func(t *testing.T) {
			g := Geometry{OrigW: c.Geometry.OrigW, OrigH: c.Geometry.OrigH, ResizedW: c.Geometry.ResizedW, ResizedH: c.Geometry.ResizedH}
			var cands []Candidates
			for i, pr := range c.Prompts {
				var phrases []Phrase
				for _, ph := range pr.Phrases {
					phrases = append(phrases, Phrase{Text: ph.Text, Start: ph.Start, End: ph.End, LabelID: ph.Label})
				}
				toks, _ := PositiveMap(phrases, pr.Offsets)
				for j := range toks {
					if !slices.Equal(toks[j], pr.PhraseTokens[j]) && (len(toks[j]) > 0 || len(pr.PhraseTokens[j]) > 0) {
						t.Errorf("prompt %d phrase %d: tokens %v, golden %v", i, j, toks[j], pr.PhraseTokens[j])
					}
				}
				o := pr.Output
				format := CXCYWHNorm
				if o.Format == "xyxy_pixels" {
					format = XYXYPixels
				}
				out := Output{Boxes: o.Boxes, Logits: o.Logits, Centerness: o.Centerness, Queries: o.Queries, Tokens: o.Tokens,
					Sigmoid: o.Sigmoid, Format: format, Levels: o.Levels}
				text := Text{Prompt: Prompt{Text: pr.Text, Phrases: phrases}, PhraseTokens: toks, Offsets: pr.Offsets, Pieces: pr.Pieces}
				cands = append(cands, Score(out, text, g, c.Params))
			}
			got := Merge(g, c.Params, c.Names, cands...)
			if len(got) != len(c.Expected) {
				t.Errorf("%d detections, golden %d", len(got), len(c.Expected))
			}
			for i := range min(len(got), len(c.Expected)) {
				d, e := got[i], c.Expected[i]
				same := d.Prompt == e.Prompt && d.Query == e.Query && d.Phrase == e.Phrase && d.LabelID == e.Label &&
					d.Text == e.Text && d.Start == e.Start && d.End == e.End && math.Abs(float64(d.Score)-e.Score) <= tol
				for k := range 4 {
					same = same && math.Abs(float64(d.Box[k])-e.Box[k]) <= tol*max(1, math.Abs(e.Box[k]))
				}
				if !same {
					t.Errorf("detection %d:\n got    %+v\n golden %+v", i, d, e)
				}
			}
		})
	}
}
