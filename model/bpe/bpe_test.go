package bpe

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// naiveBPE is a direct transcription of CLIP's SimpleTokenizer.bpe on
// strings, used to check the priority-queue implementation.
func naiveBPE(ranks map[[2]string]int, token string) []string {
	order, char := bytesToUnicode()
	enc := map[byte]string{}
	for i, b := range order {
		enc[b] = string(char[i])
	}
	var word []string
	for i := 0; i < len(token); i++ {
		word = append(word, enc[token[i]])
	}
	word[len(word)-1] += endOfWord
	for len(word) > 1 {
		best, bestRank := [2]string{}, -1
		for i := 0; i+1 < len(word); i++ {
			p := [2]string{word[i], word[i+1]}
			if r, ok := ranks[p]; ok && (bestRank < 0 || r < bestRank) {
				best, bestRank = p, r
			}
		}
		if bestRank < 0 {
			break
		}
		var next []string
		for i := 0; i < len(word); {
			if i+1 < len(word) && word[i] == best[0] && word[i+1] == best[1] {
				next = append(next, best[0]+best[1])
				i += 2
				continue
			}
			next = append(next, word[i])
			i++
		}
		word = next
	}
	return word
}

// randomMerges builds a merges file over the letters "abc": each merge joins
// two symbols that exist by then. shuffle swaps some lines so that a merge
// can rank before the merge creating its symbols, as a malformed file might.
func randomMerges(rng *rand.Rand, n int, shuffle bool) [][2]string {
	var starts, ends []string
	for _, c := range "abc" {
		starts = append(starts, string(c))
		ends = append(ends, string(c)+endOfWord)
	}
	var merges [][2]string
	seen := map[[2]string]bool{}
	for len(merges) < n {
		a := starts[rng.IntN(len(starts))]
		var b string
		end := rng.IntN(2) == 0
		if end {
			b = ends[rng.IntN(len(ends))]
		} else {
			b = starts[rng.IntN(len(starts))]
		}
		m := [2]string{a, b}
		if seen[m] {
			continue
		}
		seen[m] = true
		merges = append(merges, m)
		if end {
			ends = append(ends, a+b)
		} else {
			starts = append(starts, a+b)
		}
	}
	if shuffle {
		rng.Shuffle(len(merges), func(i, j int) { merges[i], merges[j] = merges[j], merges[i] })
	}
	return merges
}

func mergesText(merges [][2]string) string {
	var b strings.Builder
	b.WriteString("#version: test\n")
	for _, m := range merges {
		fmt.Fprintf(&b, "%s %s\n", m[0], m[1])
	}
	return b.String()
}

func TestBPEMatchesNaive(t *testing.T) {
	tests := []struct {
		name    string
		merges  [][2]string // fixed merges; nil means random ones
		words   []string    // fixed words; nil means random ones
		random  int
		shuffle bool
	}{
		{
			// Merging the first "a b" creates "ab a", ranked lower; CLIP
			// still merges the second "a b" in the same round.
			name:   "pair created mid-round ranks lower",
			merges: [][2]string{{"ab", "a"}, {"a", "b"}},
			words:  []string{"ababc", "abab", "ababab", "aab", "ba"},
		},
		{name: "few merges", random: 10},
		{name: "many merges", random: 120},
		{name: "out-of-order merges", random: 120, shuffle: true},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(i), 42))
			merges := tc.merges
			if merges == nil {
				merges = randomMerges(rng, tc.random, tc.shuffle)
			}
			tok, err := parse(strings.NewReader(mergesText(merges)))
			if err != nil {
				t.Fatal(err)
			}
			// The vocabulary exactly as CLIP builds it, later entries winning.
			_, char := bytesToUnicode()
			var vocab []string
			for _, c := range char {
				vocab = append(vocab, string(c))
			}
			for _, c := range char {
				vocab = append(vocab, string(c)+endOfWord)
			}
			ranks := map[[2]string]int{}
			for r, m := range merges {
				vocab = append(vocab, m[0]+m[1])
				ranks[m] = r
			}
			encoder := map[string]int64{}
			for id, v := range vocab {
				encoder[v] = int64(id)
			}
			words := tc.words
			if words == nil {
				for range 3000 {
					var w strings.Builder
					for range 1 + rng.IntN(40) {
						w.WriteByte("abc"[rng.IntN(3)])
					}
					words = append(words, w.String())
				}
			}
			for _, word := range words {
				var want []int64
				for _, s := range naiveBPE(ranks, word) {
					want = append(want, encoder[s])
				}
				if got := tok.bpe(nil, word); !slices.Equal(got, want) {
					t.Fatalf("bpe(%q) = %v, want %v", word, got, want)
				}
			}
		})
	}
}
func TestLongToken(t *testing.T) {
	tok := loadCLIP(t)
	word := strings.Repeat("abcdefghij", 10000) // 100 kB: needs O(n log n) merging
	ids := tok.Encode(word)
	if len(ids) < 3 || ids[0] != tok.sot || ids[len(ids)-1] != tok.eot {
		t.Fatalf("Encode of a long word gave %d ids", len(ids))
	}
	if n := tok.cache.len(); n > cacheEntries {
		t.Errorf("cache holds %d entries, above %d", n, cacheEntries)
	}
}

func TestCacheBounded(t *testing.T) {
	tests := []struct {
		name     string
		capacity int
		adds     int
	}{
		{"under capacity", 16, 10},
		{"over capacity", 16, 1000},
		{"capacity one", 1, 50},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := newCache(tc.capacity)
			for i := range tc.adds {
				key := fmt.Sprint("tok", i)
				c.add(key, []int64{int64(i)})
				if ids, ok := c.get(key); !ok || ids[0] != int64(i) {
					t.Fatalf("get(%q) = %v, %v right after add", key, ids, ok)
				}
				if n := c.len(); n > max(tc.capacity, 2) {
					t.Fatalf("cache holds %d entries, above capacity %d", n, tc.capacity)
				}
			}
			if _, ok := c.get(strings.Repeat("x", maxCachedLen+1)); ok {
				t.Error("over-long token found in cache")
			}
		})
	}
}

func TestCacheSkipsLongTokens(t *testing.T) {
	c := newCache(8)
	long := strings.Repeat("x", maxCachedLen+1)
	c.add(long, []int64{1})
	if c.len() != 0 {
		t.Errorf("over-long token was cached")
	}
}
