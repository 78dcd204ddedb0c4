package bpe

import (
	"bufio"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

const (
	// numMerges is how many merge lines CLIP uses: lines[1 : 49152-256-2+1].
	numMerges = 49152 - 256 - 2
	// Special tokens, appended after the merges.
	startToken = "<|startoftext|>"
	endToken   = "<|endoftext|>"
	endOfWord  = "</w>"
)

// pair is two adjacent symbol ids.
type pair [2]int32

// merge is the outcome of merging a pair: its rank (lower merges first) and
// the id of the merged symbol.
type merge struct {
	rank int32
	id   int32
}

// Tokenizer is CLIP's byte-level BPE tokenizer. It is safe for concurrent
// use; its only mutable part is an internal, size-bounded cache.
type Tokenizer struct {
	byteID    [256]int32 // id of each byte's stand-in character
	byteEndID [256]int32 // the same followed by "</w>"
	merges    map[pair]merge
	size      int
	sot, eot  int64
	cache     *cache
}

// Load reads a gzip-compressed CLIP merges file (bpe_simple_vocab_16e6.txt.gz)
// and builds the tokenizer. Like CLIP it skips the version header and uses
// the next 49152-256-2 = 48894 lines (or all of them in a shorter file); each
// must hold two symbols separated by one space.
func Load(path string) (*Tokenizer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("bpe: open merges: %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("bpe: read merges %s: %w", path, err)
	}
	defer zr.Close()
	t, err := parse(zr)
	if err != nil {
		return nil, fmt.Errorf("bpe: load %s: %w", path, err)
	}
	return t, nil
}

// parse reads the uncompressed merges text.
func parse(r io.Reader) (*Tokenizer, error) {
	merges, err := readMerges(r)
	if err != nil {
		return nil, err
	}
	order, char := bytesToUnicode()
	vocab := make([]string, 0, 2*256+len(merges)+2)
	for _, c := range char {
		vocab = append(vocab, string(c))
	}
	for _, c := range char {
		vocab = append(vocab, string(c)+endOfWord)
	}
	for _, m := range merges {
		vocab = append(vocab, m[0]+m[1])
	}
	vocab = append(vocab, startToken, endToken)
	// Like CLIP's dict(zip(vocab, range(len(vocab)))), a repeated entry
	// keeps its last id.
	encoder := make(map[string]int32, len(vocab))
	for i, v := range vocab {
		encoder[v] = int32(i)
	}
	t := &Tokenizer{
		merges: make(map[pair]merge, len(merges)),
		size:   len(vocab),
		sot:    int64(encoder[startToken]),
		eot:    int64(encoder[endToken]),
		cache:  newCache(cacheEntries),
	}
	for i, b := range order {
		t.byteID[b] = encoder[string(char[i])]
		t.byteEndID[b] = encoder[string(char[i])+endOfWord]
	}
	for rank, m := range merges {
		a, okA := encoder[m[0]]
		b, okB := encoder[m[1]]
		if !okA || !okB {
			continue // can never apply: every symbol is a vocabulary entry
		}
		t.merges[pair{a, b}] = merge{rank: int32(rank), id: encoder[m[0]+m[1]]}
	}
	return t, nil
}

// readMerges returns the merge pairs CLIP uses from the merges text.
func readMerges(r io.Reader) ([][2]string, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	if !sc.Scan() {
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("read header: %w", err)
		}
		return nil, errors.New("empty merges file")
	}
	var merges [][2]string
	for line := 2; len(merges) < numMerges && sc.Scan(); line++ {
		text := strings.TrimSuffix(sc.Text(), "\r")
		if text == "" {
			// Only a final empty line (a trailing newline) is allowed.
			if sc.Scan() {
				return nil, fmt.Errorf("line %d: empty merge", line)
			}
			break
		}
		f := strings.Split(text, " ")
		if len(f) != 2 || f[0] == "" || f[1] == "" {
			return nil, fmt.Errorf("line %d: merge %q is not two space-separated symbols", line, text)
		}
		merges = append(merges, [2]string{f[0], f[1]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read merges: %w", err)
	}
	return merges, nil
}

// VocabSize returns the number of vocabulary entries (49408 for CLIP's file);
// every id produced by Encode is in [0, VocabSize()).
func (t *Tokenizer) VocabSize() int { return t.size }
