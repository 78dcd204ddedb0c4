package glip

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

var parenthesised = regexp.MustCompile(`\(.*\)`)

// CleanName is GLIP's clean_name: a parenthesised part removed (greedily,
// from the first "(" to the last ")"), "_" made a space, then every double
// space made single (one pass, as Python's re.sub does), so
// "bow_(weapon)" becomes "bow ".
func CleanName(name string) string {
	name = parenthesised.ReplaceAllString(name, "")
	name = strings.ReplaceAll(name, "_", " ")
	return strings.ReplaceAll(name, "  ", " ")
}

// VocabPrompts builds the prompts of vocabulary mode, as GLIP's
// create_queries_and_maps does for each chunk of a dataset's names: the
// names (cleaned by [CleanName] when p.CleanNames) joined by
// p.VocabSeparator and followed by p.VocabTerminator, each name a phrase
// whose LabelID is its index in names. With GLIP's defaults a prompt reads
// "person. bicycle. traffic light": ". " between names and nothing after the
// last one (GLIP's configs set DATASETS.SEPARATION_TOKENS to ". "; its
// demo's " . " with a trailing " . " and Grounding DINO's
// "person . bicycle . traffic light ." are other settings of the same two
// fields).
//
// Names are packed in order, as many per prompt as fit (and at most
// p.MaxNamesPerPrompt when set); fits reports whether a prompt text
// tokenizes within the model's token limit, special tokens included (nil:
// no limit). A name is never split across prompts, so every name is in
// exactly one prompt. An empty name, or one that does not fit a prompt on
// its own, is an error.
func VocabPrompts(names []string, p Params, fits func(text string) bool) ([]Prompt, error) {
	clean := make([]string, len(names))
	for i, n := range names {
		if p.CleanNames {
			n = CleanName(n)
		}
		if strings.TrimSpace(n) == "" {
			return nil, fmt.Errorf("glip: vocabulary name %d (%q) is empty", i, names[i])
		}
		clean[i] = n
	}
	build := func(idx []int) Prompt {
		var b strings.Builder
		pr := Prompt{Phrases: make([]Phrase, 0, len(idx))}
		at := 0 // code points written
		for k, i := range idx {
			if k > 0 {
				b.WriteString(p.VocabSeparator)
				at += utf8.RuneCountInString(p.VocabSeparator)
			}
			n := utf8.RuneCountInString(clean[i])
			pr.Phrases = append(pr.Phrases, Phrase{Text: clean[i], Start: at, End: at + n, LabelID: int32(i)})
			b.WriteString(clean[i])
			at += n
		}
		b.WriteString(p.VocabTerminator)
		pr.Text = b.String()
		return pr
	}
	ok := func(pr Prompt) bool { return fits == nil || fits(pr.Text) }
	var out []Prompt
	var cur []int
	var curPrompt Prompt
	for i := range clean {
		if len(cur) > 0 && (p.MaxNamesPerPrompt == 0 || len(cur) < p.MaxNamesPerPrompt) {
			if next := build(append(cur, i)); ok(next) {
				cur, curPrompt = append(cur, i), next
				continue
			}
		}
		if len(cur) > 0 {
			out = append(out, curPrompt)
		}
		cur = []int{i}
		if curPrompt = build(cur); !ok(curPrompt) {
			return nil, fmt.Errorf("glip: vocabulary name %d (%q) does not fit the token limit on its own", i, names[i])
		}
	}
	if len(cur) > 0 {
		out = append(out, curPrompt)
	}
	return out, nil
}
