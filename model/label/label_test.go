package label

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/clip"
	"github.com/groundbeam/groundbeam/model/glip"
	"github.com/groundbeam/groundbeam/model/teacher"
	"github.com/groundbeam/groundbeam/sampleset"
	"github.com/groundbeam/groundbeam/schemas"
)

func models(t *testing.T, topts *teacher.Options) (*teacher.Teacher, *clip.Encoder) {
	t.Helper()
	testenv.InitORT(t)
	td, cd := testenv.Bundles(t, nil)
	tb, err := bundle.Load(td, bundle.KindGrounding)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := bundle.Load(cd, bundle.KindCLIP)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := teacher.Open(tb, topts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	c, err := clip.Open(cb, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return tc, c
}

func samplePairs(t *testing.T, n int) []Pair {
	t.Helper()
	sp, err := sampleset.Pairs(&sampleset.Options{Pairs: n})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]Pair, len(sp))
	for i, p := range sp {
		out[i] = Pair{Key: p.Key, Source: "test", Shard: "s", Image: p.Image, Caption: p.Caption}
	}
	return out
}

// lowParams keep more boxes than the defaults, but few per image (CLIP
// embeds each): 5, or 12 over 1,000 names.
func lowParams() *glip.Params {
	p := glip.DefaultParams()
	p.ScoreThreshold, p.TopK, p.TopKLargeVocab = 0.05, 5, 12
	return &p
}

func TestLabelCaptions(t *testing.T) {
	tc, c := models(t, &teacher.Options{Params: lowParams()})
	pairs := samplePairs(t, 4)
	long := strings.Repeat("a red dog and a blue cat on the mat, ", 60)
	pairs = append(pairs,
		Pair{Key: "long", Image: pairs[0].Image, Caption: long},
		Pair{Key: "nonoun", Image: pairs[0].Image, Caption: "running fast"},
		Pair{Key: "empty", Image: pairs[0].Image, Caption: "  "},
		Pair{Key: "badimage", Image: []byte("not an image"), Caption: "a dog"},
		Pair{Key: "badutf8", Image: pairs[0].Image, Caption: "a \xff dog"},
	)
	outs, st, err := New(tc, c, nil).Label(context.Background(), pairs)
	if err != nil {
		t.Fatal(err)
	}
	wantErr := map[string]string{"nonoun": schemas.StageTokenize, "empty": schemas.StageTokenize,
		"badimage": schemas.StageDecode, "badutf8": schemas.StageTokenize}
	boxes := 0
	for i, o := range outs {
		p := pairs[i]
		if stage, bad := wantErr[p.Key]; bad {
			if o.Err == nil || o.Err.Stage != stage || o.Row != nil {
				t.Errorf("%s: outcome %+v, want a %s error", p.Key, o, stage)
			}
			continue
		}
		if o.Row == nil || o.Err != nil {
			t.Fatalf("%s: outcome %+v", p.Key, o)
		}
		runes := []rune(p.Caption)
		for _, b := range o.Row.Boxes {
			boxes++
			if b.LabelID != -1 || b.CharStart < 0 || int(b.CharEnd) > len(runes) || b.Phrase != string(runes[b.CharStart:b.CharEnd]) {
				t.Errorf("%s: box %+v does not point into %q", p.Key, b, p.Caption)
			}
			if b.Score <= 0.05 || len(b.Embedding) == 0 {
				t.Errorf("%s: box score %g, %d-dim embedding", p.Key, b.Score, len(b.Embedding))
			}
		}
	}
	if boxes == 0 || st.Boxes != boxes {
		t.Errorf("stats %+v, counted %d boxes", st, boxes)
	}
	if st.Truncated != 1 || st.DroppedPhrases == 0 {
		t.Errorf("stats %+v: want the long caption truncated with phrases dropped", st)
	}
	if outs[5].Err != nil && !strings.Contains(outs[5].Err.Reason, "no noun phrase") {
		t.Errorf("no-noun caption rejected for %q", outs[5].Err.Reason)
	}
}

func TestLabelVocabulary(t *testing.T) {
	names := []string{"red square", "blue circle", "green triangle", "grey background", "bow_(weapon)", "yellow star"}
	for i := range 1000 { // over 1,000 names: TopKLargeVocab
		names = append(names, fmt.Sprintf("object %d", i))
	}
	tc, c := models(t, &teacher.Options{Params: lowParams(), Vocab: names})
	pairs := samplePairs(t, 1)
	pairs = append(pairs, Pair{Key: "nocaption", Image: pairs[0].Image, Caption: ""})
	for _, opts := range []*Options{
		{Vocab: names}, // the teacher's prompts, reused
		{Vocab: names[:6]},
	} {
		t.Run(fmt.Sprintf("%d names", len(opts.Vocab)), func(t *testing.T) {
			outs, st, err := New(tc, c, opts).Label(context.Background(), pairs)
			if err != nil {
				t.Fatal(err)
			}
			boxes := 0
			for i, o := range outs {
				if o.Row == nil {
					t.Fatalf("%s: %+v", pairs[i].Key, o.Err)
				}
				k := 5
				if len(opts.Vocab) > glip.LargeVocab {
					k = 12
				}
				// Boxes tied with the K-th best are kept too, as in GLIP.
				if bs := o.Row.Boxes; len(bs) > k && bs[len(bs)-1].Score != bs[k-1].Score {
					t.Errorf("%s: %d boxes, top-K %d", pairs[i].Key, len(bs), k)
				} else if len(opts.Vocab) > glip.LargeVocab && len(bs) <= 5 {
					t.Errorf("%s: %d boxes over %d names, want TopKLargeVocab's 12", pairs[i].Key, len(bs), len(opts.Vocab))
				}
				for _, b := range o.Row.Boxes {
					boxes++
					if b.LabelID < 0 || int(b.LabelID) >= len(opts.Vocab) || b.Phrase != opts.Vocab[b.LabelID] || b.CharStart != -1 || b.CharEnd != -1 {
						t.Errorf("%s: box %+v", pairs[i].Key, b)
					}
				}
			}
			if boxes == 0 || st.Boxes != boxes || st.Truncated != 0 {
				t.Errorf("stats %+v, %d boxes", st, boxes)
			}
		})
	}
	_, _, err := New(tc, c, &Options{Vocab: []string{"cat", ""}}).Label(context.Background(), pairs)
	if err == nil || !strings.Contains(err.Error(), "vocabulary") {
		t.Errorf("an empty name: error %v", err)
	}
}

func TestCheckCaption(t *testing.T) {
	long := strings.Repeat("a", 10)
	for _, tc := range []struct {
		caption string
		vocab   bool
		bad     bool
	}{
		{"a dog", false, false}, {"", false, true}, {" ", false, true}, {long, false, true},
		{"\xff", false, true}, {"", true, false}, {long, true, false}, {"\xff", true, true},
	} {
		if got := checkCaption(tc.caption, 9, tc.vocab) != ""; got != tc.bad {
			t.Errorf("checkCaption(%q, vocab %v) rejects %v, want %v", tc.caption, tc.vocab, got, tc.bad)
		}
	}
}

// TestLargeJPEG checks a JPEG decoded smaller in the DCT domain still gives
// its full size and boxes in full-size pixels, close to a full decode's.
func TestLargeJPEG(t *testing.T) {
	tt, c := models(t, &teacher.Options{Params: lowParams()})
	pairs, err := sampleset.Pairs(&sampleset.Options{Pairs: 1, Width: 2400, Height: 1800, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	p := Pair{Key: "big", Image: pairs[0].Image, Caption: pairs[0].Caption}
	if pairs[0].Ext != "jpg" {
		t.Fatalf("sample is %s, want a JPEG", pairs[0].Ext)
	}
	outs, _, err := New(tt, c, nil).Label(context.Background(), []Pair{p})
	if err != nil {
		t.Fatal(err)
	}
	row := outs[0].Row
	if row == nil {
		t.Fatalf("rejected: %+v", outs[0].Err)
	}
	if row.Width != 2400 || row.Height != 1800 {
		t.Errorf("size %dx%d, want the full 2400x1800", row.Width, row.Height)
	}
	if len(row.Boxes) == 0 {
		t.Fatal("no boxes")
	}
	var maxX float32
	for _, b := range row.Boxes {
		maxX = max(maxX, b.XYXY[2])
		if b.XYXY[2] > 2400 || b.XYXY[3] > 1800 {
			t.Errorf("box %v outside the full image", b.XYXY)
		}
	}
	if maxX < 600 {
		t.Errorf("boxes reach only x=%g: still in decoded-image pixels?", maxX)
	}
}

// TestEXIFRotatedJPEG checks a JPEG decoded by libjpeg-turbo is turned as
// its EXIF orientation says: orientation 6 (rotate 90°) swaps its size.
func TestEXIFRotatedJPEG(t *testing.T) {
	tt, c := models(t, &teacher.Options{Params: lowParams()})
	pairs, err := sampleset.Pairs(&sampleset.Options{Pairs: 1, Width: 320, Height: 200, Seed: 6})
	if err != nil {
		t.Fatal(err)
	}
	jpg := pairs[0].Image
	// APP1 "Exif" with a little-endian TIFF IFD0 holding Orientation = 6.
	tiff := []byte("II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00\x00")
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := append([]byte{0xFF, 0xE1, byte((len(seg) + 2) >> 8), byte(len(seg) + 2)}, seg...)
	rotated := append(append(append([]byte{}, jpg[:2]...), app1...), jpg[2:]...)
	tests := []struct {
		name string
		data []byte
		w, h int32
	}{
		{"upright", jpg, 320, 200},
		{"orientation 6", rotated, 200, 320},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			outs, _, err := New(tt, c, nil).Label(context.Background(), []Pair{{Key: "k", Image: tc.data, Caption: pairs[0].Caption}})
			if err != nil {
				t.Fatal(err)
			}
			if outs[0].Row == nil {
				t.Fatalf("rejected: %+v", outs[0].Err)
			}
			if r := outs[0].Row; r.Width != tc.w || r.Height != tc.h {
				t.Errorf("size %dx%d, want %dx%d", r.Width, r.Height, tc.w, tc.h)
			}
		})
	}
}
