package glip

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/groundbeam/groundbeam/model/wordpiece"
)

// bertVocab is the real bert-base-uncased vocabulary.
var bertVocab = filepath.Join("..", "wordpiece", "testdata", "bert-base-uncased-vocab.txt")

func bert(t testing.TB, maxTokens int) *wordpiece.Tokenizer {
	t.Helper()
	tok, err := wordpiece.Load(bertVocab, &wordpiece.Options{Lowercase: true, MaxTokens: maxTokens})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestPositiveMap(t *testing.T) {
	// Offsets written out by hand: [CLS] and [SEP] are [0,0].
	cls := [2]int{0, 0}
	redCar := [][2]int{cls, {0, 1}, {2, 5}, {6, 9}, cls} // "a red car"
	// "dog, cat." : dog , cat .
	punct := [][2]int{cls, {0, 3}, {3, 4}, {5, 8}, {8, 9}, cls}
	// "surfboards" : surf ##board ##s
	pieces := [][2]int{cls, {0, 4}, {4, 9}, {9, 10}, cls}
	// "hotdog stand" : hot ##dog stand
	hotdog := [][2]int{cls, {0, 3}, {3, 6}, {7, 12}, cls}
	// "a dog and a dog" : a dog and a dog
	twice := [][2]int{cls, {0, 1}, {2, 5}, {6, 9}, {10, 11}, {12, 15}, cls}
	// "  red car   " : red car
	spaced := [][2]int{cls, {2, 5}, {6, 9}, cls}
	// "a red car and a blue" truncated after "red": a red
	truncated := [][2]int{cls, {0, 1}, {2, 5}, cls}

	tests := []struct {
		name    string
		offsets [][2]int
		spans   [][2]int
		want    [][]int
		skipped int
	}{
		{"exact words", redCar, [][2]int{{2, 9}, {0, 1}}, [][]int{{2, 3}, {1}}, 0},
		{"start on a space takes start+1", redCar, [][2]int{{1, 5}}, [][]int{{2}}, 0},
		{"end after a space takes end-2", redCar, [][2]int{{2, 6}}, [][]int{{2}}, 0},
		{"start+2 and end-3", spaced, [][2]int{{0, 11}}, [][]int{{1, 2}}, 0},
		{"start+3 is too far", spaced, [][2]int{{0, 5}, {-1, 5}}, [][]int{{1}, nil}, 1},
		{"end-4 is too far", spaced, [][2]int{{6, 12}}, [][]int{nil}, 1},
		{"punctuation inside the span is covered", punct, [][2]int{{5, 9}, {0, 4}, {0, 9}}, [][]int{{3, 4}, {1, 2}, {1, 2, 3, 4}}, 0},
		{"a span of punctuation only", punct, [][2]int{{3, 4}}, [][]int{{2}}, 0},
		{"word pieces", pieces, [][2]int{{0, 10}, {4, 9}, {9, 10}}, [][]int{{1, 2, 3}, {2}, {3}}, 0},
		{"mid-token span takes the containing tokens", pieces, [][2]int{{2, 6}}, [][]int{{1, 2}}, 0},
		{"phrases sharing tokens", hotdog, [][2]int{{0, 6}, {3, 6}, {0, 12}}, [][]int{{1, 2}, {2}, {1, 2, 3}}, 0},
		{"repeated phrase, two spans", twice, [][2]int{{0, 5}, {10, 15}}, [][]int{{1, 2}, {4, 5}}, 0},
		{"last before first is skipped", redCar, [][2]int{{6, 6}}, [][]int{nil}, 1},
		{"past a truncated prompt", truncated, [][2]int{{2, 5}, {6, 9}, {14, 20}}, [][]int{{2}, nil, nil}, 2},
		{"no tokens at all", [][2]int{cls, cls}, [][2]int{{0, 3}}, [][]int{nil}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var phrases []Phrase
			for _, s := range tc.spans {
				phrases = append(phrases, Phrase{Start: s[0], End: s[1], LabelID: -1})
			}
			got, skipped := PositiveMap(phrases, tc.offsets)
			if skipped != tc.skipped {
				t.Errorf("skipped %d, want %d", skipped, tc.skipped)
			}
			for i := range tc.want {
				if !slices.Equal(got[i], tc.want[i]) {
					t.Errorf("phrase %v: tokens %v, want %v", tc.spans[i], got[i], tc.want[i])
				}
			}
		})
	}
}

// TestPositiveMapUnicode checks spans counted in code points against the
// real BERT tokenizer, where code points and bytes differ.
func TestPositiveMapUnicode(t *testing.T) {
	tok := bert(t, 256)
	tests := []struct {
		name    string
		text    string
		offsets [][2]int // the tokenizer's, written out by hand
		phrase  [2]int   // in code points
		want    []int
	}{
		// 🙂 is one code point (four bytes) and an unknown word.
		{"emoji before the phrase", "🙂 a café", [][2]int{{0, 0}, {0, 1}, {2, 3}, {4, 8}, {0, 0}}, [2]int{2, 8}, []int{2, 3}},
		// è, û and é are one code point each; lower-casing strips the
		// accents: cr ##eme br ##ule ##e.
		{"accented words", "Crème brûlée", [][2]int{{0, 0}, {0, 2}, {2, 5}, {6, 8}, {8, 11}, {11, 12}, {0, 0}}, [2]int{6, 12}, []int{3, 4, 5}},
		// Each CJK ideograph is a token of its own.
		{"CJK", "東京 tower", [][2]int{{0, 0}, {0, 1}, {1, 2}, {3, 8}, {0, 0}}, [2]int{0, 2}, []int{1, 2}},
		// e + U+0301 (combining acute) is two code points; the accent,
		// stripped, is in no token, so the end falls back to end-2.
		{"combining accent", "cafe\u0301 au lait", [][2]int{{0, 0}, {0, 4}, {6, 8}, {9, 12}, {12, 13}, {0, 0}}, [2]int{0, 5}, []int{1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc := tok.Encode(tc.text)
			if !slices.Equal(enc.Offsets, tc.offsets) {
				t.Fatalf("tokenizer offsets %v, want %v", enc.Offsets, tc.offsets)
			}
			got, skipped := PositiveMap([]Phrase{{Start: tc.phrase[0], End: tc.phrase[1], LabelID: -1}}, enc.Offsets)
			if skipped != 0 || !slices.Equal(got[0], tc.want) {
				t.Errorf("tokens %v (skipped %d), want %v", got[0], skipped, tc.want)
			}
		})
	}
}
