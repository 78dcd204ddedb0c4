package bpe

import (
	"regexp"
	"slices"
	"testing"
)

// clipPattern is CLIP's pre-tokenizer as a Go regular expression, the
// definition nextPretoken must agree with: (?i) only on the literal
// alternatives (the text is already lower-cased), Python's regex-module \s,
// and U+0345 left unmatched as in Python's regex module under IGNORECASE.
var clipPattern = regexp.MustCompile(
	`(?i:<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d)` +
		`|\p{L}+|\p{N}` +
		`|[^\t\n\x0b\f\r \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}\p{L}\p{N}\x{345}]+`)

// pretokens returns the spans nextPretoken finds in s.
func pretokens(s string) [][]int {
	var spans [][]int
	for start, end := nextPretoken(s, 0); start >= 0; start, end = nextPretoken(s, end) {
		spans = append(spans, []int{start, end})
	}
	return spans
}

func TestPretokens(t *testing.T) {
	tests := []struct {
		name string
		text string
		want []string
	}{
		{"empty", "", nil},
		{"words", "a man riding", []string{"a", "man", "riding"}},
		{"contractions", "it's we're i'll you'd 'x", []string{"it", "'s", "we", "'re", "i", "'ll", "you", "'d", "'", "x"}},
		{"contraction needs no boundary", "'sauce", []string{"'s", "auce"}},
		{"long s folds to s", "x'ſ", []string{"x", "'ſ"}},
		{"digits one by one", "2019", []string{"2", "0", "1", "9"}},
		{"punctuation runs", "wow!!! ...ok", []string{"wow", "!!!", "...", "ok"}},
		{"special tokens", "<|startoftext|>a<|endoftext|>", []string{"<|startoftext|>", "a", "<|endoftext|>"}},
		{"broken special", "<|start", []string{"<|", "start"}},
		{"U+0345 skipped", "a\u0345b\u0345", []string{"a", "b"}},
		{"file separator is not whitespace", "a\x1cb", []string{"a", "\x1c", "b"}},
		{"letters", "東京 café", []string{"東京", "café"}},
		{"combining mark is not a letter", "cafe\u0301s", []string{"cafe", "\u0301", "s"}},
		{"emoji", "🎂🕯️", []string{"🎂🕯️"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, sp := range pretokens(tc.text) {
				got = append(got, tc.text[sp[0]:sp[1]])
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("pretokens(%q) = %q, want %q", tc.text, got, tc.want)
			}
			if re := clipPattern.FindAllStringIndex(tc.text, -1); !slices.EqualFunc(re, pretokens(tc.text), slices.Equal) {
				t.Errorf("pretokens(%q) = %v, regexp gives %v", tc.text, pretokens(tc.text), re)
			}
		})
	}
}
