package glip

import (
	"fmt"
	"strings"
	"testing"
)

// lvisLikeNames makes n distinct, plausible class names: single nouns,
// adjective + noun and noun + noun pairs, some LVIS-style with
// underscores and a parenthesised sense.
func lvisLikeNames(n int) []string {
	nouns := strings.Fields(`person bicycle car motorcycle airplane bus train truck boat bench bird cat dog horse sheep cow
		elephant bear zebra giraffe backpack umbrella handbag tie suitcase frisbee skis snowboard ball kite bat glove
		skateboard surfboard racket bottle glass cup fork knife spoon bowl banana apple sandwich orange broccoli carrot
		pizza donut cake chair couch plant bed table toilet television laptop mouse remote keyboard phone microwave oven
		toaster sink refrigerator book clock vase scissors toothbrush hydrant sign meter lamp curtain pillow blanket
		towel mirror shelf drawer cabinet door window fence pole wheel helmet jacket shirt hat boot shoe sock scarf
		bag basket box barrel bucket candle cone crate flag flower fountain jar kettle ladder lantern lock magnet mask
		mug napkin necklace pan pen pencil piano plate pot purse radio rope saddle shovel skirt soap spatula statue
		stool stove sunglasses tablecloth teapot tent tray trophy vest wallet whistle wig wreath yacht zucchini`)
	adjs := strings.Fields(`red blue green yellow black white small large wooden metal plastic paper glass leather wet
		dry old new striped folding electric toy baby wild`)
	senses := []string{"animal", "sports", "weapon", "furniture", "food", "clothing"}
	seen := map[string]bool{}
	var out []string
	add := func(s string) {
		if !seen[s] && len(out) < n {
			seen[s] = true
			out = append(out, s)
		}
	}
	for _, w := range nouns {
		add(w)
	}
	for i, w := range nouns {
		add(fmt.Sprintf("%s_(%s)", w, senses[i%len(senses)]))
	}
	for _, a := range adjs {
		for _, w := range nouns {
			add(a + " " + w)
		}
	}
	for _, a := range nouns {
		for _, b := range nouns {
			add(a + "_" + b)
		}
	}
	return out
}

func TestVocabPrompts1203(t *testing.T) {
	const maxTokens = 256
	names := lvisLikeNames(1203)
	if len(names) != 1203 {
		t.Fatalf("%d names", len(names))
	}
	tok := bert(t, maxTokens)
	unlimited := bert(t, 0)
	fits := func(s string) bool { return !tok.Encode(s).Truncated }
	p := DefaultParams()
	prompts, err := VocabPrompts(names, p, fits)
	if err != nil {
		t.Fatal(err)
	}
	if len(prompts) < 2 {
		t.Fatalf("%d prompts for 1,203 names", len(prompts))
	}
	seen := make([]int, len(names))
	for i, pr := range prompts {
		enc := unlimited.Encode(pr.Text)
		if len(enc.IDs) > maxTokens {
			t.Errorf("prompt %d has %d tokens, over %d", i, len(enc.IDs), maxTokens)
		}
		var clean []string
		for _, ph := range pr.Phrases {
			seen[ph.LabelID]++
			clean = append(clean, CleanName(names[ph.LabelID]))
			if ph.Text != CleanName(names[ph.LabelID]) || string([]rune(pr.Text)[ph.Start:ph.End]) != ph.Text {
				t.Errorf("prompt %d: phrase %+v is not name %d %q at its span", i, ph, ph.LabelID, names[ph.LabelID])
			}
		}
		// GLIP's text: the cleaned names joined by ". ", nothing after.
		if want := strings.Join(clean, ". "); pr.Text != want {
			t.Errorf("prompt %d text %q, want %q", i, pr.Text, want)
		}
		toks, skipped := PositiveMap(pr.Phrases, enc.Offsets)
		if skipped != 0 {
			t.Errorf("prompt %d: %d names map to no token", i, skipped)
		}
		for j, tt := range toks {
			if len(tt) == 0 || tt[len(tt)-1] >= len(enc.IDs)-1 {
				t.Errorf("prompt %d: name %q maps to tokens %v", i, pr.Phrases[j].Text, tt)
			}
		}
		// Packed greedily: the next name would not have fit.
		if i+1 < len(prompts) {
			next := prompts[i+1].Phrases[0]
			if fits(pr.Text + p.VocabSeparator + next.Text) {
				t.Errorf("prompt %d (%d names) had room for %q", i, len(pr.Phrases), next.Text)
			}
		}
	}
	for i, n := range seen {
		if n != 1 {
			t.Errorf("name %d %q is in %d prompts", i, names[i], n)
		}
	}
	t.Logf("1,203 names in %d prompts", len(prompts))
}

func TestVocabPromptsSettings(t *testing.T) {
	names := []string{"person", "bow_(weapon)", "traffic light", "teddy_bear"}
	dino, _ := Preset(PresetGroundingDINO)
	tests := []struct {
		name string
		p    func() Params
		want []string
	}{
		{"glip", DefaultParams, []string{"person. bow . traffic light. teddy bear"}},
		{"grounding dino", func() Params { return dino }, []string{"person . bow_(weapon) . traffic light . teddy_bear ."}},
		{"glip, two names per prompt", func() Params { p := DefaultParams(); p.MaxNamesPerPrompt = 2; return p },
			[]string{"person. bow ", "traffic light. teddy bear"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			prompts, err := VocabPrompts(names, tc.p(), nil)
			if err != nil {
				t.Fatal(err)
			}
			var texts []string
			for _, pr := range prompts {
				texts = append(texts, pr.Text)
			}
			if strings.Join(texts, "|") != strings.Join(tc.want, "|") {
				t.Errorf("prompts %q, want %q", texts, tc.want)
			}
		})
	}
	if _, err := VocabPrompts([]string{"cat", " "}, DefaultParams(), nil); err == nil {
		t.Error("an empty name was accepted")
	}
	tok := bert(t, 6)
	if _, err := VocabPrompts([]string{"cat", "a very very long name indeed"}, DefaultParams(), func(s string) bool { return !tok.Encode(s).Truncated }); err == nil {
		t.Error("a name over the token limit was accepted")
	}
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{
		"bow_(weapon)":         "bow ",
		"teddy_bear":           "teddy bear",
		"a__b":                 "a b",
		"x___y":                "x  y", // one pass of "  " -> " ", as re.sub
		"(a) b (c)":            "",     // greedy: from the first ( to the last )
		"bat_(animal)_(sport)": "bat ",
		"person":               "person",
	} {
		if got := CleanName(in); got != want {
			t.Errorf("CleanName(%q) = %q, want %q", in, got, want)
		}
	}
}
