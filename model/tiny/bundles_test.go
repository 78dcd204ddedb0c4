package tiny

import (
	"os"
	"strings"
	"testing"

	"github.com/groundbeam/groundbeam/model/bpe"
	"github.com/groundbeam/groundbeam/model/bundle"
)

func TestWriteBundlesCLIP(t *testing.T) {
	_, c, err := WriteBundles(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	m := c.Manifest
	checks := []struct {
		name      string
		got, want any
	}{
		{"text_onnx", m.TextONNX, "text.onnx"},
		{"region_onnx", m.RegionONNX, "region.onnx"},
		{"tokenizer", m.Text.Tokenizer, "clip_bpe"},
		{"vocab", m.Text.Vocab, "bpe_simple_vocab_16e6.txt.gz"},
		{"context_length", m.Text.ContextLength, 77},
		{"input_ids role", m.Inputs[bundle.InInputIDs], "input_ids"},
		{"text_embeds role", m.Outputs[bundle.OutTextEmbeds], "text_embeds"},
		{"licence listed", m.Files[bpe.LicenseFile] != "", true},
	}
	for _, tc := range checks {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %v, want %v", tc.got, tc.want)
			}
		})
	}
	t.Run("vocab matches the tokenizer", func(t *testing.T) {
		tok, err := bpe.Load(c.Path(m.Text.Vocab))
		if err != nil {
			t.Fatal(err)
		}
		// The tiny text tower's end-of-text id is VocabSize-1.
		if tok.VocabSize() != DefaultCLIPVocabSize {
			t.Errorf("tokenizer vocab size %d, text tower has %d rows", tok.VocabSize(), DefaultCLIPVocabSize)
		}
		ids := tok.Encode("a cat")
		if eot := ids[len(ids)-1]; eot != DefaultCLIPVocabSize-1 {
			t.Errorf("tokenizer end-of-text id %d, text tower expects %d", eot, DefaultCLIPVocabSize-1)
		}
	})
}

func TestWriteBundlesCLIPSeed(t *testing.T) {
	write := func(seed uint64) *bundle.Bundle {
		t.Helper()
		_, c, err := WriteBundles(t.TempDir(), &BundleOptions{CLIP: &CLIPOptions{Seed: seed}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, a2, b := write(1), write(1), write(2)
	if a.Identity != a2.Identity {
		t.Errorf("same seed: identities %s and %s differ", a.Identity, a2.Identity)
	}
	if a.Identity == b.Identity {
		t.Errorf("seeds 1 and 2 share identity %s", a.Identity)
	}
	if !strings.HasPrefix(b.Identity, CLIPName+"@") {
		t.Errorf("identity %s lacks the %s@ prefix", b.Identity, CLIPName)
	}
	tests := []struct {
		name, file, in, out string
		feed                feed
	}{
		{"image", "image.onnx", "pixel_values", "image_embeds",
			feed{name: "pixel_values", shape: []int64{1, 3, 224, 224}, f32: randImage(3, 1, 224, 224)}},
		{"text", "text.onnx", "input_ids", "text_embeds",
			feed{name: "input_ids", shape: []int64{1, CLIPContextLength}, i64: append([]int64{49406, 2368, 49407}, make([]int64, CLIPContextLength-3)...)}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := func(c *bundle.Bundle) []float32 {
				raw, err := os.ReadFile(c.Path(tc.file))
				if err != nil {
					t.Fatal(err)
				}
				return newSession(t, raw, []string{tc.in}, []string{tc.out}).run(t, tc.feed)[0].data
			}
			ea, eb := run(a), run(b)
			if d := maxAbsDiff(ea, eb); d < 1e-3 {
				t.Errorf("seeds 1 and 2 embed alike (max |Δ| %g)", d)
			}
		})
	}
}

func TestWriteBundlesVocabSize(t *testing.T) {
	tests := []struct {
		name    string
		vocab   int
		wantErr bool
	}{
		{"default", 0, false},
		{"clip size", DefaultCLIPVocabSize, false},
		{"too small", 1000, true},
		{"too large", DefaultCLIPVocabSize + 1, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := WriteBundles(t.TempDir(), &BundleOptions{CLIP: &CLIPOptions{VocabSize: tc.vocab}})
			if (err != nil) != tc.wantErr {
				t.Errorf("err = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}
