package wordpiece

import (
	"bufio"
	"encoding/json"
	"os"
	"slices"
	"sync"
	"testing"
)

const vocabPath = "testdata/bert-base-uncased-vocab.txt"

// reference is one line of testdata/reference-ids.jsonl.
type reference struct {
	Text        string   `json:"text"`
	BertIDs     []int64  `json:"bert_ids"`
	BertOffsets [][2]int `json:"bert_offsets"`
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
	bertOnce sync.Once
	bertTok  *Tokenizer
	bertErr  error
)

// loadBERT returns the shared uncased tokenizer (read-only, so sharing it
// between tests is safe).
func loadBERT(tb testing.TB) *Tokenizer {
	tb.Helper()
	bertOnce.Do(func() { bertTok, bertErr = Load(vocabPath, nil) })
	if bertErr != nil {
		tb.Fatal(bertErr)
	}
	return bertTok
}

func TestReference(t *testing.T) {
	tok := loadBERT(t)
	refs := loadReferences(t)
	if len(refs) != 40 {
		t.Fatalf("got %d reference lines, want 40", len(refs))
	}
	for i, ref := range refs {
		t.Run(ref.Text, func(t *testing.T) {
			got := tok.Encode(ref.Text)
			if !slices.Equal(got.IDs, ref.BertIDs) {
				t.Errorf("line %d %q:\nids  %v\nwant %v", i+1, ref.Text, got.IDs, ref.BertIDs)
			}
			if !slices.Equal(got.Offsets, ref.BertOffsets) {
				t.Errorf("line %d %q:\noffsets %v\nwant    %v", i+1, ref.Text, got.Offsets, ref.BertOffsets)
			}
			if got.Truncated {
				t.Errorf("line %d %q: Truncated set without MaxTokens", i+1, ref.Text)
			}
		})
	}
}
