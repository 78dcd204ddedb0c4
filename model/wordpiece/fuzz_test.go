package wordpiece

import (
	"testing"
	"unicode/utf8"
)

func FuzzEncode(f *testing.F) {
	for _, ref := range loadReferences(f) {
		f.Add(ref.Text, 0)
	}
	f.Add("a [MASK] b\x00\xff\u0301", 5)
	tok := loadBERT(f)
	f.Fuzz(func(t *testing.T, text string, maxTokens int) {
		check(t, tok, text, tok.Encode(text))
		if maxTokens < 2 || maxTokens > 64 {
			return
		}
		limited := *tok // shares the read-only vocabulary
		limited.maxTokens = maxTokens
		full := tok.Encode(text)
		got := limited.Encode(text)
		check(t, &limited, text, got)
		if len(got.IDs) > maxTokens {
			t.Fatalf("%d ids above MaxTokens %d", len(got.IDs), maxTokens)
		}
		if want := len(full.IDs) > maxTokens; got.Truncated != want {
			t.Fatalf("Truncated = %v with %d untruncated ids and MaxTokens %d", got.Truncated, len(full.IDs), maxTokens)
		}
		n := len(got.IDs) - 1
		for i := 1; i < n; i++ {
			if got.IDs[i] != full.IDs[i] || got.Offsets[i] != full.Offsets[i] {
				t.Fatalf("truncated encoding differs from the full one at %d", i)
			}
		}
	})
}

// check verifies the invariants of any encoding.
func check(t *testing.T, tok *Tokenizer, text string, enc Encoding) {
	t.Helper()
	n := len(enc.IDs)
	if n < 2 || len(enc.Offsets) != n {
		t.Fatalf("%d ids and %d offsets", n, len(enc.Offsets))
	}
	if enc.IDs[0] != tok.cls || enc.IDs[n-1] != tok.sep {
		t.Fatalf("encoding not wrapped in [CLS] ... [SEP]: %v", enc.IDs)
	}
	if enc.Offsets[0] != [2]int{} || enc.Offsets[n-1] != [2]int{} {
		t.Fatalf("special offsets %v and %v, want [0 0]", enc.Offsets[0], enc.Offsets[n-1])
	}
	runes := utf8.RuneCountInString(text)
	prev := 0
	for i := 1; i < n-1; i++ {
		id, off := enc.IDs[i], enc.Offsets[i]
		if id < 0 || id >= int64(tok.VocabSize()) {
			t.Fatalf("id %d out of range", id)
		}
		if off[0] < 0 || off[0] >= off[1] || off[1] > runes {
			t.Fatalf("offset %v outside [0, %d]", off, runes)
		}
		if off[0] < prev {
			t.Fatalf("offset start %d before previous start %d", off[0], prev)
		}
		prev = off[0]
	}
}
