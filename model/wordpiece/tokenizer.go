package wordpiece

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
)

// Special tokens of the BERT vocabulary. [CLS], [SEP] and [UNK] must be in
// the vocabulary; any of them found verbatim (case-sensitive) in the input
// text is kept as a single token, as Hugging Face does for added special
// tokens.
const (
	clsToken  = "[CLS]"
	sepToken  = "[SEP]"
	unkToken  = "[UNK]"
	padToken  = "[PAD]"
	maskToken = "[MASK]"
)

// maxInputCharsPerWord is BERT's limit: longer words become [UNK].
const maxInputCharsPerWord = 100

// Options configures a Tokenizer.
type Options struct {
	// Lowercase lower-cases the text and strips accents (NFD, then dropping
	// non-spacing marks), as the uncased BERT models expect. A nil *Options
	// means Lowercase is true; a non-nil *Options is used as given, so set
	// Lowercase explicitly when passing options.
	Lowercase bool
	// MaxTokens limits the length of an encoding, counting [CLS] and [SEP].
	// Zero means no limit; otherwise it must be at least 2.
	MaxTokens int
}

// Tokenizer is a BERT WordPiece tokenizer. Its vocabulary and options are
// fixed at construction; it is safe for concurrent use.
type Tokenizer struct {
	vocab     map[string]int64
	size      int
	maxKeyLen int // longest vocabulary entry in bytes
	lowercase bool
	maxTokens int
	cls       int64
	sep       int64
	unk       int64
	specials  []special  // special tokens matched verbatim in the input
	scratch   *sync.Pool // of *scratch, reused across Encode calls
}

// special is a special token recognised verbatim in the input text.
type special struct {
	text string
	id   int64
}

// Load reads a vocabulary file with one token per line (the line number,
// counting from zero, is the token id) and returns a Tokenizer for it.
func Load(path string, opts *Options) (*Tokenizer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("wordpiece: read vocab: %w", err)
	}
	text := strings.TrimSuffix(string(data), "\n")
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimSuffix(l, "\r")
	}
	t, err := New(lines, opts)
	if err != nil {
		return nil, fmt.Errorf("wordpiece: load %s: %w", path, err)
	}
	return t, nil
}

// New returns a Tokenizer for vocab, where vocab[i] is the token with id i.
// The vocabulary must contain [CLS], [SEP] and [UNK] and no duplicates.
func New(vocab []string, opts *Options) (*Tokenizer, error) {
	o := Options{Lowercase: true}
	if opts != nil {
		o = *opts
	}
	if o.MaxTokens < 0 || o.MaxTokens == 1 {
		return nil, fmt.Errorf("wordpiece: MaxTokens is %d, want 0 (no limit) or at least 2", o.MaxTokens)
	}
	if len(vocab) == 0 {
		return nil, errors.New("wordpiece: empty vocabulary")
	}
	t := &Tokenizer{
		vocab:     make(map[string]int64, len(vocab)),
		size:      len(vocab),
		lowercase: o.Lowercase,
		maxTokens: o.MaxTokens,
		scratch:   &sync.Pool{New: func() any { return new(scratch) }},
	}
	for i, tok := range vocab {
		if prev, dup := t.vocab[tok]; dup {
			return nil, fmt.Errorf("wordpiece: token %q appears at ids %d and %d", tok, prev, i)
		}
		t.vocab[tok] = int64(i)
		t.maxKeyLen = max(t.maxKeyLen, len(tok))
	}
	for _, req := range []struct {
		name string
		dst  *int64
	}{{clsToken, &t.cls}, {sepToken, &t.sep}, {unkToken, &t.unk}} {
		id, ok := t.vocab[req.name]
		if !ok {
			return nil, fmt.Errorf("wordpiece: vocabulary lacks %s", req.name)
		}
		*req.dst = id
	}
	for _, s := range []string{padToken, unkToken, clsToken, sepToken, maskToken} {
		if id, ok := t.vocab[s]; ok {
			t.specials = append(t.specials, special{text: s, id: id})
		}
	}
	return t, nil
}

// VocabSize returns the number of tokens in the vocabulary; every id produced
// by Encode is in [0, VocabSize()).
func (t *Tokenizer) VocabSize() int { return t.size }

// ID returns the id of token and whether it is in the vocabulary.
func (t *Tokenizer) ID(token string) (int64, bool) {
	id, ok := t.vocab[token]
	return id, ok
}
