package bpe

import (
	"slices"
	"strings"
	"sync"
	"testing"
)

func TestEncodeCases(t *testing.T) {
	tok := loadCLIP(t)
	const sot, eot = 49406, 49407
	// Expected ids come from OpenAI's SimpleTokenizer (without ftfy).
	tests := []struct {
		name string
		text string
		want []int64
	}{
		{"empty", "", []int64{sot, eot}},
		{"only whitespace", " \t\n\u3000\u00a0\x1c ", []int64{sot, eot}},
		{"words", "A man riding a wave", []int64{sot, 320, 786, 6765, 320, 4535, eot}},
		{"accents", "naïve café", []int64{sot, 1097, 35689, 563, 15304, eot}},
		{"CJK", "东京塔", []int64{sot, 19759, 250, 21078, 105, 161, 94, 498, eot}},
		{"emoji", "🎂 🕯️", []int64{sot, 10392, 7692, 107, 1001, eot}},
		{"contraction", "The cat's toy", []int64{sot, 518, 2368, 568, 5988, eot}},
		{"html entities, twice", "fish &amp;amp; chips", []int64{sot, 2759, 261, 8855, eot}},
		{"numeric entity", "&#39;s &#x27;s", []int64{sot, 568, 568, eot}},
		{"special token text", "a <|endoftext|> b", []int64{sot, 320, eot, 321, eot}},
		{"special token any case", "<|STARTOFTEXT|>", []int64{sot, sot, eot}},
		{"final sigma", "ΟΔΟΣ", []int64{sot, 138, 123, 138, 112, 138, 123, 139, 480, eot}},
		{"dotted capital I", "İ", []int64{sot, 328, 16384, eot}},
		{"long s contraction", "x'ſ", []int64{sot, 343, 6, 129, 379, eot}},
		{"invalid UTF-8", "a\xffb", []int64{sot, 320, 39802, 321, eot}},
		{"U+0345 is skipped", "\u0345", []int64{sot, eot}},
		{"interior \\x1c is kept", "a\x1cb", []int64{sot, 320, 472, 321, eot}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tok.Encode(tc.text); !slices.Equal(got, tc.want) {
				t.Errorf("Encode(%q)\n got %v\nwant %v", tc.text, got, tc.want)
			}
		})
	}
}

func TestEncodePadded(t *testing.T) {
	tok := loadCLIP(t)
	long := strings.Repeat("dog ", 100)
	tests := []struct {
		name      string
		text      string
		ctx       int
		wantLen   int
		truncated bool
	}{
		{"short caption", "a dog", 77, 77, false},
		{"exactly full", strings.Repeat("dog ", 75), 77, 77, false},
		{"one too many", strings.Repeat("dog ", 76), 77, 77, true},
		{"long caption", long, 77, 77, true},
		{"tiny context", "a dog", 1, 1, true},
		{"zero context", "a dog", 0, 0, true},
		{"negative context", "a dog", -3, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ids, truncated := tok.EncodePadded(tc.text, tc.ctx)
			if len(ids) != tc.wantLen || truncated != tc.truncated {
				t.Fatalf("EncodePadded(%d) gave %d ids, truncated %v; want %d, %v",
					tc.ctx, len(ids), truncated, tc.wantLen, tc.truncated)
			}
			if tc.wantLen == 0 {
				return
			}
			full := tok.Encode(tc.text)
			if truncated {
				if ids[len(ids)-1] != tok.eot {
					t.Errorf("last id %d, want end token", ids[len(ids)-1])
				}
				if !slices.Equal(ids[:len(ids)-1], full[:len(ids)-1]) {
					t.Errorf("truncated ids are not a prefix of Encode")
				}
				return
			}
			if !slices.Equal(ids[:len(full)], full) {
				t.Errorf("ids %v do not start with Encode %v", ids, full)
			}
			for _, id := range ids[len(full):] {
				if id != 0 {
					t.Fatalf("padding %v is not zero", ids[len(full):])
				}
			}
		})
	}
}

func TestVocabSize(t *testing.T) {
	tok := loadCLIP(t)
	if got := tok.VocabSize(); got != 49408 {
		t.Errorf("VocabSize() = %d, want 49408", got)
	}
	if tok.sot != 49406 || tok.eot != 49407 {
		t.Errorf("special ids %d, %d; want 49406, 49407", tok.sot, tok.eot)
	}
}

func TestConcurrentEncode(t *testing.T) {
	tok := loadCLIP(t)
	refs := loadReferences(t)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				ref := refs[(g+i)%len(refs)]
				if got := tok.Encode(ref.Text); !slices.Equal(got, ref.CLIPIDs) {
					t.Errorf("concurrent Encode(%q) = %v, want %v", ref.Text, got, ref.CLIPIDs)
					return
				}
			}
		})
	}
	wg.Wait()
}
