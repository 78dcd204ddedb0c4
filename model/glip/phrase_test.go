package glip

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestNounPhrases(t *testing.T) {
	tests := []struct {
		caption string
		want    []string // phrase texts, in order
	}{
		{"A man riding a red bicycle down a busy city street.", []string{"A man", "a red bicycle", "a busy city street"}},
		{"Two dogs playing with a frisbee in the park", []string{"dogs", "a frisbee", "the park"}},
		{"a woman holding an umbrella in the rain", []string{"a woman", "an umbrella", "the rain"}},
		{"a yellow fire hydrant on the sidewalk", []string{"a yellow fire hydrant", "the sidewalk"}},
		{"a plate of food with broccoli and carrots", []string{"a plate", "food", "broccoli", "carrots"}},
		{"a bathroom with a toilet and a sink", []string{"a bathroom", "a toilet", "a sink"}},
		{"an airplane flying over a city skyline", []string{"an airplane", "a city skyline"}},
		{"an orange square and a red circle on a grey background", []string{"an orange square", "a red circle", "a grey background"}},
		// Repeated phrases: each occurrence once, with its own span.
		{"a dog chasing a dog", []string{"a dog", "a dog"}},
		// Punctuation: split off, never part of a phrase.
		{"Close up of a bowl of fresh fruit: apples, bananas and oranges.", []string{"a bowl", "fresh fruit", "apples", "bananas", "oranges"}},
		{"The cat’s toy is under the wooden table", []string{"The cat", "toy", "the wooden table"}},
		{"“Smiling” girl with a kite", []string{"Smiling", "girl", "a kite"}},
		// Unicode: spans count code points, not bytes.
		{"🙂 A café in Paris with outdoor seating", []string{"A café", "Paris", "outdoor seating"}},
		{"東京の夜 a red lantern", []string{"a red lantern"}},
		{"Crème brûlée on a plate", []string{"Crème brûlée", "a plate"}},
		// No noun: no phrase (GLIP grounds nothing either).
		{"running fast", nil},
		{"", nil},
		{"   \t ", nil},
	}
	for _, tc := range tests {
		t.Run(tc.caption, func(t *testing.T) {
			got := NounPhrases(tc.caption)
			var texts []string
			for _, p := range got {
				texts = append(texts, p.Text)
			}
			if !slices.Equal(texts, tc.want) {
				t.Errorf("phrases %q, want %q", texts, tc.want)
			}
			checkPhrases(t, tc.caption, got)
		})
	}
}

func TestNounPhraseSpans(t *testing.T) {
	// Hand-counted code points: the emoji is one, é is one.
	got := NounPhrases("🙂 A café, a dog.")
	want := []Phrase{{Text: "A café", Start: 2, End: 8, LabelID: -1}, {Text: "a dog", Start: 10, End: 15, LabelID: -1}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	// A run of over 100 non-space characters is not tagged (and does not
	// take quadratic time), the rest is.
	got = NounPhrases(strings.Repeat("(", 4000) + " a dog " + strings.Repeat("x", 101))
	want = []Phrase{{Text: "a dog", Start: 4001, End: 4006, LabelID: -1}}
	if !slices.Equal(got, want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
}

// checkPhrases checks what must hold of any caption's phrases: spans in
// range, in order and disjoint, the text being the caption's code points
// over the span, trimmed, LabelID -1.
func checkPhrases(t *testing.T, caption string, phrases []Phrase) {
	t.Helper()
	runes := []rune(caption)
	prev := 0
	for _, p := range phrases {
		if p.Start < prev || p.End <= p.Start || p.End > len(runes) {
			t.Fatalf("phrase %+v: bad span in %d code points (previous ends at %d)", p, len(runes), prev)
		}
		if p.Text != string(runes[p.Start:p.End]) {
			t.Fatalf("phrase %+v: text is not the caption's %q", p, string(runes[p.Start:p.End]))
		}
		first, _ := utf8.DecodeRuneInString(p.Text)
		last, _ := utf8.DecodeLastRuneInString(p.Text)
		if trimmable(first) || trimmable(last) || p.LabelID != -1 {
			t.Fatalf("phrase %+v: not trimmed, or a label", p)
		}
		prev = p.End
	}
}

func FuzzNounPhrases(f *testing.F) {
	for _, s := range []string{
		"A man riding a red bicycle down a busy city street.",
		"🙂 A café in Paris", "東京の夜 a red lantern", "“Smiling” girl", "the cat’s toy",
		"&rsquo;s dog &RSQUO; cat", "don't they'll it's", "$100 (approx.) [sic] {x}",
		"\xff\xfe a dog", "a\u0301 b\u200d c", "İstanbul ǅ ß", "-- - -a- 1999 12th",
		":-) :( <3 http://x.y/z a@b.c #tag @user", strings.Repeat("big red dog ", 50),
		"\"a\" \"b", "e.g. U.S. Mr. Dr.", "\t\n\r\v\f", "''``", "",
		strings.Repeat("(", 101) + " a dog " + strings.Repeat("é", 100),
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, caption string) {
		checkPhrases(t, caption, NounPhrases(caption))
	})
}

func TestTaggerDeterministic(t *testing.T) {
	// prose's own tagger breaks ties between classes by map order; ours
	// must give the same tags every time.
	words := strings.Fields("light 12 the an zz naïve qwop small running")
	p, err := tagger()
	if err != nil {
		t.Fatal(err)
	}
	first := p.tag(words)
	for range 20 {
		if got := p.tag(words); !slices.Equal(got, first) {
			t.Fatalf("tags %v, then %v", first, got)
		}
	}
}

func TestNormalizeWord(t *testing.T) {
	for in, want := range map[string]string{
		"Dog": "dog", "well-known": "!HYPHEN", "-x": "-x", "1999": "!YEAR", "123": "!DIGITS", "4th": "!DIGITS", "": "",
	} {
		if got := normalizeWord(in); got != want {
			t.Errorf("normalizeWord(%q) = %q, want %q", in, got, want)
		}
	}
	if got := lastRunes("brûlée", 3); got != "lée" {
		t.Errorf("lastRunes = %q", got)
	}
	if !unicode.IsPunct('“') || !trimmable('“') {
		t.Error("curly quotes are not trimmed")
	}
}
