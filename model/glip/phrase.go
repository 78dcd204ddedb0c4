package glip

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/jdkato/prose/v2"
)

// Phrase is a span of the prompt text that boxes are grounded to.
type Phrase struct {
	// Text is the phrase as it appears in the prompt.
	Text string
	// Start and End are its span in the prompt, in code points, [Start, End).
	Start, End int
	// LabelID is the class index in vocabulary mode, -1 for caption phrases.
	LabelID int32
}

// Prompt is one text given to the teacher with the phrases it grounds.
type Prompt struct {
	// Text is what the tokenizer reads.
	Text string
	// Phrases are the spans of Text that boxes are grounded to.
	Phrases []Phrase
}

// CaptionPrompt returns the prompt for caption mode: the caption itself,
// grounded on its noun phrases ([NounPhrases]). Like GLIP, a caption with
// no noun phrase has no phrase to ground.
func CaptionPrompt(caption string) Prompt {
	return Prompt{Text: caption, Phrases: NounPhrases(caption)}
}

// glipPunct is the punctuation GLIP's remove_punctuation deletes from a
// noun phrase.
const glipPunct = "|:;@()[]{}^'\"’`?$%#!&*+,."

// NounPhrases finds the noun phrases of a caption as GLIP's
// find_noun_phrases does: the caption is lower-cased, tokenized and
// part-of-speech tagged, and chunked with NLTK's grammar
//
//	NP: {<DT>?<JJ.*>*<NN.*>+}
//
// (an optional determiner, any adjectives, one or more nouns; leftmost,
// longest, non-overlapping). Each phrase keeps its span in the original
// caption, in code points, trimmed of spaces, of the punctuation GLIP's
// remove_punctuation deletes and of any other Unicode punctuation (such as
// curly quotes); a phrase left empty is dropped. See the
// package documentation for the tagger and for where this departs from
// GLIP. NounPhrases never fails: it returns no phrase for any text it
// cannot tag.
func NounPhrases(text string) []Phrase {
	p, err := tagger()
	if err != nil || text == "" {
		return nil
	}
	runes := []rune(text) // an invalid byte becomes one U+FFFD, as the tokenizer counts it
	s, pos := foldCaption(runes)
	doc, err := prose.NewDocument(s, prose.WithTagging(false), prose.WithSegmentation(false), prose.WithExtraction(false))
	if err != nil {
		return nil
	}
	toks := doc.Tokens()
	words := make([]string, len(toks))
	spans := make([][2]int, len(toks)) // byte spans in s; [-1,-1] when not found
	cursor := 0
	for i, t := range toks {
		words[i] = t.Text
		spans[i] = [2]int{-1, -1}
		j := strings.Index(s[cursor:], t.Text)
		if t.Text == "" || j < 0 || strings.TrimSpace(s[cursor:cursor+j]) != "" {
			continue // not where it should be: no span, and the cursor stays
		}
		spans[i] = [2]int{cursor + j, cursor + j + len(t.Text)}
		cursor += j + len(t.Text)
	}
	// NLTK's tokenizer turns a double quote into `` (opening: at the
	// start or after a space or an opening bracket) or '' (closing), the
	// forms its tagger knows.
	for i, w := range words {
		if w == `"` {
			words[i] = "''"
			if a := spans[i][0]; a == 0 || a > 0 && strings.ContainsRune(" \t\n\r\f\v([{<", rune(s[a-1])) {
				words[i] = "``"
			}
		}
	}
	tags := p.tag(words)
	var out []Phrase
	for _, c := range chunkNP(tags) {
		a, b := spans[c[0]][0], spans[c[1]-1][1]
		if a < 0 || b < 0 {
			continue
		}
		start, end := pos[a], pos[b]
		for start < end && trimmable(runes[start]) {
			start++
		}
		for end > start && trimmable(runes[end-1]) {
			end--
		}
		if start == end {
			continue
		}
		out = append(out, Phrase{Text: string(runes[start:end]), Start: start, End: end, LabelID: -1})
	}
	return out
}

func trimmable(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsPunct(r) || strings.ContainsRune(glipPunct, r)
}

// maxRun is the longest run of non-space characters that is tagged:
// BERT turns a longer word into [UNK] anyway, and prose's tokenizer takes
// time quadratic in a run's length.
const maxRun = 100

// foldCaption lower-cases runes one by one (so code points stay aligned)
// and applies prose's own input sanitizer (curly quotes to straight ones,
// "&rsquo;" to "'") ahead of it, so that prose's tokens are substrings of
// the result. Runs of more than maxRun non-space characters become spaces.
// pos maps each byte offset of s, and len(s), to the index of the original
// rune it came from.
func foldCaption(runes []rune) (s string, pos []int) {
	var b strings.Builder
	b.Grow(len(runes) + 8)
	pos = make([]int, 0, len(runes)+8)
	put := func(r rune, orig int) {
		n := utf8.RuneLen(r)
		if n < 0 {
			r, n = utf8.RuneError, 3
		}
		b.WriteRune(r)
		for range n {
			pos = append(pos, orig)
		}
	}
	runEnd := -1 // runes before it are in a run to blank out
	for i := 0; i < len(runes); i++ {
		r := runes[i]
		if i >= runEnd && !unicode.IsSpace(r) && (i == 0 || unicode.IsSpace(runes[i-1])) {
			j := i
			for j < len(runes) && !unicode.IsSpace(runes[j]) {
				j++
			}
			if j-i > maxRun {
				runEnd = j
			}
		}
		if i < runEnd {
			put(' ', i)
			continue
		}
		switch r {
		case '\u201c', '\u201d':
			put('"', i)
			continue
		case '\u2018', '\u2019':
			put('\'', i)
			continue
		case '&':
			if hasRunes(runes[i:], "&rsquo;") {
				put('\'', i)
				i += len("&rsquo;") - 1
				continue
			}
		}
		put(unicode.ToLower(r), i)
	}
	pos = append(pos, len(runes))
	return b.String(), pos
}

func hasRunes(rs []rune, lit string) bool {
	i := 0
	for _, r := range lit {
		if i >= len(rs) || unicode.ToLower(rs[i]) != r {
			return false
		}
		i++
	}
	return true
}

// chunkNP returns the [first, last+1) token ranges that NLTK's
// RegexpParser finds with the grammar NP: {<DT>?<JJ.*>*<NN.*>+}: scanning
// left to right, the longest match at the leftmost position, then on
// after it.
func chunkNP(tags []string) [][2]int {
	var out [][2]int
	for i := 0; i < len(tags); {
		j := i
		if tags[j] == "DT" {
			j++
		}
		for j < len(tags) && strings.HasPrefix(tags[j], "JJ") {
			j++
		}
		k := j
		for k < len(tags) && strings.HasPrefix(tags[k], "NN") {
			k++
		}
		if k == j { // no noun: no chunk starts here
			i++
			continue
		}
		out = append(out, [2]int{i, k})
		i = k
	}
	return out
}
