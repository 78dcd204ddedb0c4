package bpe

import (
	"slices"
	"testing"
)

func FuzzEncode(f *testing.F) {
	for _, ref := range loadReferences(f) {
		f.Add(ref.Text)
	}
	f.Add("&amp;amp; &#0; &nLt; <|endoftext|> ΟΔΟΣ İ\xff\x1c\u0345")
	tok := loadCLIP(f)
	f.Fuzz(func(t *testing.T, text string) {
		cleaned := clean(text)
		if want, got := clipPattern.FindAllStringIndex(cleaned, -1), pretokens(cleaned); !slices.EqualFunc(want, got, slices.Equal) {
			t.Fatalf("pre-tokens of %q: %v, regexp gives %v", cleaned, got, want)
		}
		ids := tok.Encode(text)
		n := len(ids)
		if n < 2 || ids[0] != tok.sot || ids[n-1] != tok.eot {
			t.Fatalf("Encode(%q) = %v, not wrapped in start and end tokens", text, ids)
		}
		for _, id := range ids {
			if id < 0 || id >= int64(tok.VocabSize()) {
				t.Fatalf("Encode(%q): id %d out of range", text, id)
			}
		}
		if again := tok.Encode(text); !slices.Equal(again, ids) {
			t.Fatalf("Encode(%q) not deterministic (cache): %v then %v", text, ids, again)
		}
		padded, truncated := tok.EncodePadded(text, 16)
		if len(padded) != 16 || truncated != (n > 16) {
			t.Fatalf("EncodePadded gave %d ids, truncated %v, for %d ids", len(padded), truncated, n)
		}
		if truncated && padded[15] != tok.eot {
			t.Fatalf("truncated EncodePadded does not end with the end token: %v", padded)
		}
	})
}
