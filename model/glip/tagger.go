package glip

import (
	"bytes"
	"encoding/gob"
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/jdkato/prose/v2"
)

// perceptron is an averaged-perceptron part-of-speech tagger: NLTK's
// PerceptronTagger decision procedure over prose's trained English model
// (Penn Treebank tags). It is immutable once loaded.
type perceptron struct {
	classes []string          // sorted, so that a tie goes to the larger label as in NLTK
	tagdict map[string]string // words with one unambiguous tag
	weights map[string][]classWeight
}

type classWeight struct {
	class int32
	w     float64
}

// model is the process's tagger, loaded on first use. It is read-only
// after loading, so sharing it needs no lock.
var model struct {
	once sync.Once
	p    *perceptron
	err  error
}

// tagger returns the process's tagger, loading it on first use.
func tagger() (*perceptron, error) {
	model.once.Do(func() { model.p, model.err = loadPerceptron() })
	return model.p, model.err
}

func loadPerceptron() (*perceptron, error) {
	var classes []string
	var tags map[string]string
	var weights map[string]map[string]float64
	for _, a := range []struct {
		name string
		dst  any
	}{{"classes", &classes}, {"tags", &tags}, {"weights", &weights}} {
		raw, err := prose.Asset("model/AveragedPerceptron/" + a.name + ".gob")
		if err != nil {
			return nil, fmt.Errorf("glip: tagger model: %w", err)
		}
		if err := gob.NewDecoder(bytes.NewReader(raw)).Decode(a.dst); err != nil {
			return nil, fmt.Errorf("glip: tagger model %s: %w", a.name, err)
		}
	}
	sort.Strings(classes)
	index := make(map[string]int32, len(classes))
	for i, c := range classes {
		index[c] = int32(i)
	}
	p := &perceptron{classes: classes, tagdict: tags, weights: make(map[string][]classWeight, len(weights))}
	for feat, ws := range weights {
		cw := make([]classWeight, 0, len(ws))
		for c, w := range ws {
			i, ok := index[c]
			if !ok {
				return nil, fmt.Errorf("glip: tagger model: feature %q weighs unknown class %q", feat, c)
			}
			cw = append(cw, classWeight{i, w})
		}
		p.weights[feat] = cw
	}
	return p, nil
}

// Context padding of NLTK's PerceptronTagger.
const (
	start1, start2 = "-START-", "-START2-"
	end1, end2     = "-END-", "-END2-"
)

// tag returns the Penn Treebank tag of each word, as NLTK's
// PerceptronTagger.tag does: a word of the tag dictionary takes its tag,
// any other is predicted from NLTK's 14 features with the previous two
// tags; the best-scoring class wins, ties going to the larger label.
func (p *perceptron) tag(words []string) []string {
	ctx := make([]string, 0, len(words)+4)
	ctx = append(ctx, start1, start2)
	for _, w := range words {
		ctx = append(ctx, normalizeWord(w))
	}
	ctx = append(ctx, end1, end2)
	tags := make([]string, len(words))
	scores := make([]float64, len(p.classes))
	var key []byte
	prev, prev2 := start1, start2
	for i, w := range words {
		t, ok := p.tagdict[w]
		if !ok || t == "" {
			clear(scores)
			c := i + 2
			feature := func(parts ...string) {
				key = key[:0]
				for j, s := range parts {
					if j > 0 {
						key = append(key, ' ')
					}
					key = append(key, s...)
				}
				for _, cw := range p.weights[string(key)] {
					scores[cw.class] += cw.w
				}
			}
			// NLTK's _get_features, in its order (the order of the sums).
			feature("bias")
			feature("i suffix", lastRunes(w, 3))
			feature("i pref1", firstRune(w))
			feature("i-1 tag", prev)
			feature("i-2 tag", prev2)
			feature("i tag+i-2 tag", prev, prev2)
			feature("i word", ctx[c])
			feature("i-1 tag+i word", prev, ctx[c])
			feature("i-1 word", ctx[c-1])
			feature("i-1 suffix", lastRunes(ctx[c-1], 3))
			feature("i-2 word", ctx[c-2])
			feature("i+1 word", ctx[c+1])
			feature("i+1 suffix", lastRunes(ctx[c+1], 3))
			feature("i+2 word", ctx[c+2])
			best := 0
			for k := 1; k < len(scores); k++ {
				if scores[k] >= scores[best] { // classes are sorted: >= prefers the larger label
					best = k
				}
			}
			t = p.classes[best]
		}
		tags[i] = t
		prev2, prev = prev, t
	}
	return tags
}

// normalizeWord is NLTK's PerceptronTagger.normalize.
func normalizeWord(w string) string {
	first, _ := utf8.DecodeRuneInString(w)
	switch {
	case strings.Contains(w, "-") && first != '-':
		return "!HYPHEN"
	case w != "" && allDigits(w) && utf8.RuneCountInString(w) == 4:
		return "!YEAR"
	case w != "" && unicode.IsDigit(first):
		return "!DIGITS"
	}
	return strings.ToLower(w)
}

func allDigits(s string) bool {
	for _, r := range s {
		if !unicode.IsDigit(r) {
			return false
		}
	}
	return true
}

// lastRunes is Python's s[-n:].
func lastRunes(s string, n int) string {
	i := len(s)
	for k := 0; k < n && i > 0; k++ {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	return s[i:]
}

// firstRune is Python's s[0] ("" for "").
func firstRune(s string) string {
	if s == "" {
		return ""
	}
	_, size := utf8.DecodeRuneInString(s)
	return s[:size]
}
