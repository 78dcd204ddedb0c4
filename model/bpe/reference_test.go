package bpe

import (
	"bufio"
	"encoding/json"
	"os"
	"slices"
	"sync"
	"testing"
)

const mergesPath = "vocab/bpe_simple_vocab_16e6.txt.gz"

// reference is one line of testdata/reference-ids.jsonl.
type reference struct {
	Text    string  `json:"text"`
	CLIPIDs []int64 `json:"clip_ids"`
}

func loadReferences(tb testing.TB) []reference {
	tb.Helper()
	f, err := os.Open("testdata/reference-ids.jsonl")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	var refs []reference
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r reference
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			tb.Fatalf("parse reference line %d: %v", len(refs)+1, err)
		}
		refs = append(refs, r)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return refs
}

var (
	clipOnce sync.Once
	clipTok  *Tokenizer
	clipErr  error
)

// loadCLIP returns a tokenizer for the real merges file shared by the tests;
// it is safe to share because Tokenizer is safe for concurrent use.
func loadCLIP(tb testing.TB) *Tokenizer {
	tb.Helper()
	clipOnce.Do(func() { clipTok, clipErr = Load(mergesPath) })
	if clipErr != nil {
		tb.Fatal(clipErr)
	}
	return clipTok
}

func TestReference(t *testing.T) {
	tok := loadCLIP(t)
	refs := loadReferences(t)
	if len(refs) != 40 {
		t.Fatalf("got %d reference lines, want 40", len(refs))
	}
	for i, ref := range refs {
		t.Run(ref.Text, func(t *testing.T) {
			if got := tok.Encode(ref.Text); !slices.Equal(got, ref.CLIPIDs) {
				t.Errorf("line %d %q:\nids  %v\nwant %v", i+1, ref.Text, got, ref.CLIPIDs)
			}
		})
	}
}
