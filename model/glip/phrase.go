package glip

import (
	"strings"
	"unicode"
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
	Text    string
	Phrases []Phrase
}

// closed-class words that end or never start a noun phrase.
var stop = map[string]bool{
	"and": true, "or": true, "but": true, "nor": true, "with": true, "without": true, "on": true, "in": true,
	"at": true, "of": true, "to": true, "from": true, "by": true, "for": true, "over": true, "under": true,
	"near": true, "next": true, "behind": true, "beside": true, "between": true, "into": true, "onto": true,
	"is": true, "are": true, "was": true, "were": true, "be": true, "being": true, "has": true, "have": true,
	"it": true, "its": true, "he": true, "she": true, "they": true, "them": true, "his": true, "her": true,
	"their": true, "while": true, "as": true, "that": true, "which": true, "who": true, "there": true,
	"this": true, "these": true, "those": true, "up": true, "down": true, "top": true, "front": true,
	"sitting": true, "standing": true, "riding": true, "playing": true, "holding": true, "walking": true,
	"looking": true, "lying": true, "eating": true, "flying": true, "parked": true, "along": true, "across": true,
}

var determiners = map[string]bool{"a": true, "an": true, "the": true, "some": true, "two": true, "three": true, "several": true, "many": true}

// CaptionPrompt returns the prompt for caption mode: the caption itself,
// grounded on its noun phrases. A caption with no phrase grounds on
// itself as a whole.
func CaptionPrompt(caption string) Prompt {
	p := Prompt{Text: caption, Phrases: NounPhrases(caption)}
	if len(p.Phrases) == 0 {
		if t := strings.TrimSpace(caption); t != "" {
			r := []rune(caption)
			s, e := 0, len(r)
			for s < e && unicode.IsSpace(r[s]) {
				s++
			}
			for e > s && unicode.IsSpace(r[e-1]) {
				e--
			}
			p.Phrases = []Phrase{{Text: string(r[s:e]), Start: s, End: e, LabelID: -1}}
		}
	}
	return p
}

// NounPhrases finds noun-phrase-like spans: runs of words between
// function words and punctuation, an optional leading determiner kept.
func NounPhrases(text string) []Phrase {
	type word struct {
		s, e int
		w    string
	}
	r := []rune(text)
	var words []word
	for i := 0; i < len(r); {
		if !isWordRune(r[i]) {
			words = append(words, word{i, i + 1, ""}) // a break
			i++
			continue
		}
		j := i
		for j < len(r) && (isWordRune(r[j]) || (r[j] == '-' || r[j] == '\'') && j+1 < len(r) && isWordRune(r[j+1])) {
			j++
		}
		words = append(words, word{i, j, strings.ToLower(string(r[i:j]))})
		i = j
	}
	var out []Phrase
	start, end := -1, -1
	flush := func() {
		if start >= 0 {
			out = append(out, Phrase{Text: string(r[start:end]), Start: start, End: end, LabelID: -1})
		}
		start, end = -1, -1
	}
	for _, w := range words {
		switch {
		case w.w == "":
			if !unicode.IsSpace(r[w.s]) {
				flush()
			}
		case stop[w.w]:
			flush()
		case determiners[w.w]:
			flush()
			start, end = w.s, w.e
		default:
			if start < 0 {
				start = w.s
			}
			end = w.e
		}
	}
	flush()
	// A phrase that is only a determiner is no phrase.
	kept := out[:0]
	for _, p := range out {
		if !determiners[strings.ToLower(p.Text)] {
			kept = append(kept, p)
		}
	}
	return kept
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsNumber(r) }
