package clip

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/groundbeam/groundbeam/model/bpe"
	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/ort"
	"github.com/groundbeam/groundbeam/model/tiny"
)

func openText(t *testing.T, b *bundle.Bundle, opts *TextOptions) *TextEncoder {
	t.Helper()
	e, err := OpenText(b, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func TestEmbedNames(t *testing.T) {
	b := clipBundle(t, nil)
	e := openText(t, b, nil)
	names := []string{"cat", "dog", "traffic_light", "elephant", "dog"}
	embs, err := e.EmbedNames(context.Background(), names, ViLDTemplates())
	if err != nil {
		t.Fatal(err)
	}
	if len(embs) != len(names) {
		t.Fatalf("%d embeddings for %d names", len(embs), len(names))
	}
	for i, v := range embs {
		if len(v) != e.Dim() {
			t.Fatalf("%s: dim %d, want %d", names[i], len(v), e.Dim())
		}
		if n := norm(v); n < 1-1e-5 || n > 1+1e-5 {
			t.Errorf("%s: norm %v", names[i], n)
		}
	}
	for i := range 4 {
		for j := i + 1; j < 4; j++ {
			if c := cosine(embs[i], embs[j]); c > 0.9999 {
				t.Errorf("%s and %s embed alike (cos %v)", names[i], names[j], c)
			}
		}
	}
	if d := maxAbsDiff(embs[1], embs[4]); d != 0 {
		t.Errorf("the same name twice differs by %g", d)
	}
	if e.Truncated() != 0 {
		t.Errorf("%d prompts truncated", e.Truncated())
	}
}

// Averaging two templates equals the hand computation: each prompt
// tokenized with the bundle's BPE file, run through the text tower
// directly, normalised, averaged, normalised.
func TestEmbedNamesTemplateAverage(t *testing.T) {
	b := clipBundle(t, nil)
	m := b.Manifest
	tok, err := bpe.Load(b.Path(m.Text.Vocab))
	if err != nil {
		t.Fatal(err)
	}
	s, err := ort.Acquire(ort.Key{Identity: "hand/text", Path: b.Path(m.TextONNX)}, []string{"input_ids"}, []string{"text_embeds"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	ctx := context.Background()
	d := m.EmbeddingDim
	embedOne := func(text string) []float32 {
		ids, _ := tok.EncodePadded(text, 77)
		res, err := s.Run(ctx, []ort.Tensor{{Shape: []int64{1, 77}, I64: ids}})
		if err != nil {
			t.Fatal(err)
		}
		v := append([]float32(nil), res[0].F32[:d]...)
		Normalize(v)
		return v
	}
	tests := []struct {
		name      string
		class     string
		templates []string
		prompts   []string // the templates filled in by hand
		opts      *TextOptions
	}{
		{"two templates", "apple", []string{"a photo of {article} {}.", "the toy {}."},
			[]string{"a photo of an apple.", "the toy apple."}, nil},
		{"lvis name", "traffic_light", []string{"There is {article} {} in the scene.", "a blurry photo of the {}."},
			[]string{"There is a traffic light in the scene.", "a blurry photo of the traffic light."}, nil},
		{"this is", "cat", []string{"There is {article} {} in the scene.", "a photo of {article} {}."},
			[]string{"There is a cat in the scene.", "This is a photo of a cat."}, &TextOptions{ThisIs: true}},
		{"small batch", "zebra", []string{"itap of {article} {}.", "a plastic {}."},
			[]string{"itap of a zebra.", "a plastic zebra."}, &TextOptions{Batch: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := openText(t, b, tc.opts)
			got, err := e.EmbedNames(ctx, []string{"dog", tc.class}, tc.templates)
			if err != nil {
				t.Fatal(err)
			}
			a, c := embedOne(tc.prompts[0]), embedOne(tc.prompts[1])
			want := make([]float32, d)
			for i := range want {
				want[i] = (a[i] + c[i]) / 2
			}
			Normalize(want)
			if diff := maxAbsDiff(got[1], want); diff > 1e-5 {
				t.Errorf("max |Δ| = %g from the hand-computed average", diff)
			}
			if cs := cosine(got[1], a); cs > 0.99999 {
				t.Errorf("average equals the first prompt's embedding (cos %v)", cs)
			}
		})
	}
}

// The encoder feeds the tower CLIP's real BPE ids.
func TestTextTokenIDs(t *testing.T) {
	b := clipBundle(t, nil)
	e := openText(t, b, nil)
	ref, err := bpe.Default()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, text string
		want       []int64 // OpenAI CLIP's ids, from model/bpe's reference file; nil: bpe.Encode's
	}{
		{"reference caption", "A man riding a wave on top of a surfboard.",
			[]int64{49406, 320, 786, 6765, 320, 4535, 525, 1253, 539, 320, 10176, 1972, 269, 49407}},
		{"prompt", Prompt("a photo of {article} {}.", "traffic_light"), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			if want == nil {
				want = ref.Encode(tc.text)
			}
			if !slices.Equal(want, ref.Encode(tc.text)) {
				t.Fatalf("bpe.Encode gives %v, want %v", ref.Encode(tc.text), want)
			}
			got, cut := e.tok.EncodePadded(tc.text, e.ctxLen)
			if cut || len(got) != 77 || !slices.Equal(got[:len(want)], want) || slices.ContainsFunc(got[len(want):], func(id int64) bool { return id != 0 }) {
				t.Errorf("encoder ids %v, want %v padded with zeros to 77", got, want)
			}
		})
	}
}

func TestTextTruncation(t *testing.T) {
	b := clipBundle(t, nil)
	e := openText(t, b, nil)
	long := strings.Repeat("very ", 100) + "long name"
	templates := []string{"a photo of {article} {}.", "the {}."}
	embs, err := e.EmbedNames(context.Background(), []string{"cat", long}, templates)
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Truncated(); got != int64(len(templates)) {
		t.Errorf("Truncated() = %d, want %d", got, len(templates))
	}
	if n := norm(embs[1]); n < 1-1e-5 || n > 1+1e-5 {
		t.Errorf("truncated name: norm %v", n)
	}
}

func TestTextErrors(t *testing.T) {
	b := clipBundle(t, nil)
	// A clip bundle without a text tower.
	dir := t.TempDir()
	img, err := os.ReadFile(b.Path(b.Manifest.ImageONNX))
	if err != nil {
		t.Fatal(err)
	}
	m := b.Manifest
	m.TextONNX, m.RegionONNX, m.Text, m.Fixtures = "", "", bundle.TextSpec{}, ""
	noText, err := bundle.Write(filepath.Join(dir, "notext"), m, map[string][]byte{m.ImageONNX: img})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("no text tower", func(t *testing.T) {
		if _, err := OpenText(noText, nil); err == nil || !strings.Contains(err.Error(), "no text tower") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("no templates", func(t *testing.T) {
		e := openText(t, b, nil)
		if _, err := e.EmbedNames(context.Background(), []string{"cat"}, nil); err == nil {
			t.Error("want error")
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		e := openText(t, b, nil)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := e.EmbedTexts(ctx, []string{"cat"}); !errors.Is(err, context.Canceled) {
			t.Errorf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("image-only encoder still opens", func(t *testing.T) {
		e, err := Open(noText, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		if e.RegionGraph() {
			t.Error("RegionGraph() true for a bundle without region_onnx")
		}
	})
}

// Seeds give different text towers, so different vocabulary embeddings.
func TestTextSeed(t *testing.T) {
	embed := func(seed uint64) []float32 {
		b := clipBundle(t, &tiny.BundleOptions{CLIP: &tiny.CLIPOptions{Seed: seed}})
		e := openText(t, b, nil)
		v, err := e.EmbedNames(context.Background(), []string{"cat"}, []string{"a photo of {article} {}."})
		if err != nil {
			t.Fatal(err)
		}
		return v[0]
	}
	if c := cosine(embed(1), embed(2)); c > 0.999 {
		t.Errorf("seeds 1 and 2 embed text alike (cos %v)", c)
	}
}
