package bpe

import (
	"bytes"
	"compress/gzip"
	_ "embed" // for the embedded merges file
	"fmt"
)

// VocabFile is the file name of CLIP's merges file, the name a CLIP
// bundle's manifest uses for it.
const VocabFile = "bpe_simple_vocab_16e6.txt.gz"

// LicenseFile is the file name of the MIT licence covering VocabFile.
const LicenseFile = "LICENSE-clip-bpe"

var (
	//go:embed vocab/bpe_simple_vocab_16e6.txt.gz
	defaultVocab []byte
	//go:embed vocab/LICENSE-clip-bpe
	defaultLicense []byte
)

// DefaultVocab returns a copy of OpenAI CLIP's gzip-compressed merges file
// (bpe_simple_vocab_16e6.txt.gz, MIT licence: see DefaultVocabLicense), as
// embedded in this package. Load and Default read this format.
func DefaultVocab() []byte { return bytes.Clone(defaultVocab) }

// DefaultVocabLicense returns OpenAI CLIP's MIT licence text, which must
// travel with copies of DefaultVocab.
func DefaultVocabLicense() []byte { return bytes.Clone(defaultLicense) }

// Default builds the tokenizer from the embedded merges file
// (DefaultVocab), giving CLIP's 49408-entry vocabulary.
func Default() (*Tokenizer, error) {
	zr, err := gzip.NewReader(bytes.NewReader(defaultVocab))
	if err != nil {
		return nil, fmt.Errorf("bpe: read embedded merges: %w", err)
	}
	defer zr.Close()
	t, err := parse(zr)
	if err != nil {
		return nil, fmt.Errorf("bpe: load embedded merges: %w", err)
	}
	return t, nil
}
