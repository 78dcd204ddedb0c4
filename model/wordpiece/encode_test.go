package wordpiece

import (
	"slices"
	"strings"
	"sync"
	"testing"
)

// tokens converts ids back to vocabulary strings for readable failures.
func tokens(t *testing.T, tok *Tokenizer, ids []int64) []string {
	t.Helper()
	inv := make(map[int64]string, tok.VocabSize())
	for s, id := range tok.vocab {
		inv[id] = s
	}
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = inv[id]
	}
	return out
}

func TestEncodeCases(t *testing.T) {
	tok := loadBERT(t)
	aaa := append([]string{"[CLS]", "aaa"}, slices.Repeat([]string{"##aa"}, 48)...)
	aaaOffsets := [][2]int{{0, 0}, {0, 3}}
	for i := 3; i < 99; i += 2 {
		aaaOffsets = append(aaaOffsets, [2]int{i, i + 2})
	}
	tests := []struct {
		name    string
		text    string
		tokens  []string
		offsets [][2]int
	}{
		{"empty", "", []string{"[CLS]", "[SEP]"}, [][2]int{{0, 0}, {0, 0}}},
		{"only whitespace", " \t\n\u3000\u00a0\u2028 ", []string{"[CLS]", "[SEP]"}, [][2]int{{0, 0}, {0, 0}}},
		{"precomposed accent", "Café", []string{"[CLS]", "cafe", "[SEP]"}, [][2]int{{0, 0}, {0, 4}, {0, 0}}},
		{"combining accent", "Cafe\u0301", []string{"[CLS]", "cafe", "[SEP]"}, [][2]int{{0, 0}, {0, 4}, {0, 0}}},
		{"accents and ligature", "ÆNIGMATIC naïve",
			[]string{"[CLS]", "æ", "##nig", "##matic", "naive", "[SEP]"},
			[][2]int{{0, 0}, {0, 1}, {1, 4}, {4, 9}, {10, 15}, {0, 0}}},
		{"dotted capital I", "İstanbul", []string{"[CLS]", "istanbul", "[SEP]"}, [][2]int{{0, 0}, {0, 8}, {0, 0}}},
		{"CJK ideographs and kana", "東京タワー",
			[]string{"[CLS]", "東", "京", "タ", "##ワ", "##ー", "[SEP]"},
			[][2]int{{0, 0}, {0, 1}, {1, 2}, {2, 3}, {3, 4}, {4, 5}, {0, 0}}},
		{"hangul decomposes to jamo", "한국",
			[]string{"[CLS]", "ᄒ", "##ᅡ", "##ᆫ", "##ᄀ", "##ᅮ", "##ᆨ", "[SEP]"},
			[][2]int{{0, 0}, {0, 1}, {0, 1}, {0, 1}, {1, 2}, {1, 2}, {1, 2}, {0, 0}}},
		{"emoji", "🎂 cake 🕯️",
			[]string{"[CLS]", "[UNK]", "cake", "[UNK]", "[SEP]"},
			[][2]int{{0, 0}, {0, 1}, {2, 6}, {7, 8}, {0, 0}}},
		{"100-rune word is split", strings.Repeat("a", 100),
			append(aaa, "##a", "[SEP]"), append(aaaOffsets, [2]int{99, 100}, [2]int{0, 0})},
		{"101-rune word is unknown", strings.Repeat("a", 101),
			[]string{"[CLS]", "[UNK]", "[SEP]"}, [][2]int{{0, 0}, {0, 101}, {0, 0}}},
		{"huge word is unknown", "x " + strings.Repeat("é", 100000) + " y",
			[]string{"[CLS]", "x", "[UNK]", "y", "[SEP]"}, [][2]int{{0, 0}, {0, 1}, {2, 100002}, {100003, 100004}, {0, 0}}},
		{"punctuation", "don't stop!",
			[]string{"[CLS]", "don", "'", "t", "stop", "!", "[SEP]"},
			[][2]int{{0, 0}, {0, 3}, {3, 4}, {4, 5}, {6, 10}, {10, 11}, {0, 0}}},
		{"upper case and dots", "HELLO,WORLD...",
			[]string{"[CLS]", "hello", ",", "world", ".", ".", ".", "[SEP]"},
			[][2]int{{0, 0}, {0, 5}, {5, 6}, {6, 11}, {11, 12}, {12, 13}, {13, 14}, {0, 0}}},
		{"special tokens are case-sensitive", "a [MASK] b [mask]",
			[]string{"[CLS]", "a", "[MASK]", "b", "[", "mask", "]", "[SEP]"},
			[][2]int{{0, 0}, {0, 1}, {2, 8}, {9, 10}, {11, 12}, {12, 16}, {16, 17}, {0, 0}}},
		{"controls, NUL and U+FFFD are dropped", "a\u200bb\x00c\ufffdd",
			[]string{"[CLS]", "abc", "##d", "[SEP]"}, [][2]int{{0, 0}, {0, 5}, {6, 7}, {0, 0}}},
		{"invalid UTF-8 is dropped", "ca\xfffe\xc3",
			[]string{"[CLS]", "cafe", "[SEP]"}, [][2]int{{0, 0}, {0, 5}, {0, 0}}},
		{"decomposes to punctuation", "x\u1fefy",
			[]string{"[CLS]", "x", "`", "y", "[SEP]"}, [][2]int{{0, 0}, {0, 1}, {1, 2}, {2, 3}, {0, 0}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tok.Encode(tc.text)
			if toks := tokens(t, tok, got.IDs); !slices.Equal(toks, tc.tokens) {
				t.Errorf("Encode(%q) tokens\n got %q\nwant %q", tc.text, toks, tc.tokens)
			}
			if !slices.Equal(got.Offsets, tc.offsets) {
				t.Errorf("Encode(%q) offsets\n got %v\nwant %v", tc.text, got.Offsets, tc.offsets)
			}
			if got.Truncated {
				t.Errorf("Encode(%q) Truncated without MaxTokens", tc.text)
			}
		})
	}
}

func TestTruncation(t *testing.T) {
	tests := []struct {
		name      string
		maxTokens int
		text      string
		tokens    []string
		truncated bool
	}{
		{"no limit", 0, "a b c d", []string{"[CLS]", "a", "b", "c", "d", "[SEP]"}, false},
		{"exact fit", 6, "a b c d", []string{"[CLS]", "a", "b", "c", "d", "[SEP]"}, false},
		{"cut words", 4, "a b c d", []string{"[CLS]", "a", "b", "[SEP]"}, true},
		{"word-pieces fit", 4, "aaaaa", []string{"[CLS]", "aaa", "##aa", "[SEP]"}, false},
		{"cut word-pieces", 3, "aaaaa", []string{"[CLS]", "aaa", "[SEP]"}, true},
		{"only specials", 2, "a", []string{"[CLS]", "[SEP]"}, true},
		{"empty text", 2, "", []string{"[CLS]", "[SEP]"}, false},
	}
	vocab := loadBERT(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Load(vocabPath, &Options{Lowercase: true, MaxTokens: tc.maxTokens})
			if err != nil {
				t.Fatal(err)
			}
			got := tok.Encode(tc.text)
			if toks := tokens(t, vocab, got.IDs); !slices.Equal(toks, tc.tokens) {
				t.Errorf("tokens %q, want %q", toks, tc.tokens)
			}
			if got.Truncated != tc.truncated {
				t.Errorf("Truncated = %v, want %v", got.Truncated, tc.truncated)
			}
			if len(got.Offsets) != len(got.IDs) {
				t.Errorf("%d offsets for %d ids", len(got.Offsets), len(got.IDs))
			}
			if tc.maxTokens > 0 && len(got.IDs) > tc.maxTokens {
				t.Errorf("%d ids, above MaxTokens %d", len(got.IDs), tc.maxTokens)
			}
		})
	}
}

func TestCased(t *testing.T) {
	vocab := []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "Café", "cafe", "##s", "!"}
	tests := []struct {
		name string
		opts *Options
		text string
		want []int64
	}{
		{"nil options lower-case", nil, "Café!", []int64{2, 5, 7, 3}},
		{"explicit lower-case", &Options{Lowercase: true}, "CAFÉs", []int64{2, 5, 6, 3}},
		{"cased keeps accents", &Options{Lowercase: false}, "Café!", []int64{2, 4, 7, 3}},
		{"cased unknown", &Options{Lowercase: false}, "cafÉ", []int64{2, 1, 3}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := New(vocab, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.Encode(tc.text).IDs; !slices.Equal(got, tc.want) {
				t.Errorf("Encode(%q) = %v, want %v", tc.text, got, tc.want)
			}
		})
	}
}

func TestVocab(t *testing.T) {
	tok := loadBERT(t)
	if got := tok.VocabSize(); got != 30522 {
		t.Errorf("VocabSize() = %d, want 30522", got)
	}
	tests := []struct {
		name  string
		token string
		id    int64
		ok    bool
	}{
		{"pad", "[PAD]", 0, true},
		{"unk", "[UNK]", 100, true},
		{"cls", "[CLS]", 101, true},
		{"sep", "[SEP]", 102, true},
		{"word", "cafe", 7668, true},
		{"continuation", "##aa", 11057, true},
		{"missing", "not-a-token", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			id, ok := tok.ID(tc.token)
			if id != tc.id || ok != tc.ok {
				t.Errorf("ID(%q) = %d, %v; want %d, %v", tc.token, id, ok, tc.id, tc.ok)
			}
		})
	}
}

func TestConcurrentEncode(t *testing.T) {
	tok := loadBERT(t)
	refs := loadReferences(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				ref := refs[(g+i)%len(refs)]
				if got := tok.Encode(ref.Text); !slices.Equal(got.IDs, ref.BertIDs) {
					t.Errorf("concurrent Encode(%q) = %v, want %v", ref.Text, got.IDs, ref.BertIDs)
					return
				}
			}
		})
	}
	wg.Wait()
}
