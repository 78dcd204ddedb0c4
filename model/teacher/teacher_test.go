package teacher

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"math"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/glip"
	"github.com/groundbeam/groundbeam/model/tiny"
)

func open(t testing.TB, b *bundle.Bundle, opts *Options) *Teacher {
	t.Helper()
	tc, err := Open(b, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tc.Close)
	return tc
}

func tinyTeacher(t testing.TB, bo *tiny.BundleOptions, opts *Options) *Teacher {
	t.Helper()
	testenv.InitORT(t)
	dir, _ := testenv.Bundles(t, bo)
	b, err := bundle.Load(dir, bundle.KindGrounding)
	if err != nil {
		t.Fatal(err)
	}
	return open(t, b, opts)
}

// picture is a w×h image, a colour gradient with a block in it.
func picture(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), 90, 255}
			if x > w/4 && x < w/2 && y > h/3 && y < 2*h/3 {
				c = color.RGBA{230, 30, 30, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func TestDetectCaption(t *testing.T) {
	p := glip.DefaultParams()
	p.ScoreThreshold = 0.05
	tc := tinyTeacher(t, nil, &Options{Params: &p})
	caption := "🙂 A red square and a blue circle on a grey background"
	enc := tc.EncodeCaption(caption)
	if len(enc.Prompt.Phrases) != 3 || enc.Truncated || enc.Skipped != 0 {
		t.Fatalf("encoded %+v", enc)
	}
	items := []Item{{Image: picture(320, 240), Prompt: enc}, {Image: picture(200, 300), Prompt: enc}}
	dets, err := tc.Detect(context.Background(), items)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for i, ds := range dets {
		w, h := float32(items[i].Image.Rect.Dx()), float32(items[i].Image.Rect.Dy())
		for k, d := range ds {
			total++
			b := d.Box
			if b[0] < 0 || b[1] < 0 || b[2] > w || b[3] > h || b[0] >= b[2] || b[1] >= b[3] {
				t.Errorf("image %d: box %v outside %gx%g", i, b, w, h)
			}
			if d.LabelID != -1 || d.Text != string([]rune(caption)[d.Start:d.End]) || d.Score <= p.ScoreThreshold {
				t.Errorf("image %d: detection %+v", i, d)
			}
			if k > 0 && ds[k-1].Score < d.Score {
				t.Errorf("image %d: not sorted by score", i)
			}
		}
	}
	if total == 0 {
		t.Error("no detections at all")
	}
}

func TestEncodeCaptionCutsAtPhraseBoundary(t *testing.T) {
	tc := tinyTeacher(t, nil, nil)
	var b strings.Builder
	for i := range 60 {
		fmt.Fprintf(&b, "a red dog %d and a blue cat on the mat, ", i)
	}
	caption := b.String()
	full := glip.CaptionPrompt(caption)
	enc := tc.EncodeCaption(caption)
	if !enc.Truncated || enc.Dropped == 0 || len(enc.Prompt.Phrases)+enc.Dropped != len(full.Phrases) {
		t.Fatalf("truncated %v, dropped %d of %d, kept %d", enc.Truncated, enc.Dropped, len(full.Phrases), len(enc.Prompt.Phrases))
	}
	last := enc.Prompt.Phrases[len(enc.Prompt.Phrases)-1]
	if !strings.HasPrefix(caption, enc.Prompt.Text) || utf8.RuneCountInString(enc.Prompt.Text) != last.End {
		t.Errorf("prompt text %q does not end the caption's prefix at the last kept phrase %+v", enc.Prompt.Text, last)
	}
	if len(enc.IDs) > 256 || enc.Skipped != 0 {
		t.Errorf("%d ids, %d phrases skipped", len(enc.IDs), enc.Skipped)
	}
	// The next phrase would not have fit.
	next := full.Phrases[len(enc.Prompt.Phrases)]
	if !tc.tok.Encode(string([]rune(caption)[:next.End])).Truncated {
		t.Errorf("phrase %+v was dropped but fits", next)
	}
	// A caption within the limit is untouched.
	short := tc.EncodeCaption("a red dog on the mat")
	if short.Truncated || short.Dropped != 0 || short.Prompt.Text != "a red dog on the mat" {
		t.Errorf("short caption: %+v", short)
	}
}

func TestVocabulary(t *testing.T) {
	names := make([]string, 1203)
	for i := range names {
		names[i] = fmt.Sprintf("thing_%d (kind)", i)
		if i%3 == 0 {
			names[i] = fmt.Sprintf("red thing %d", i)
		}
	}
	p := glip.DefaultParams()
	p.ScoreThreshold = 0
	tc := tinyTeacher(t, nil, &Options{Params: &p, Vocab: names})
	prompts := tc.EncodeVocab()
	if len(prompts) < 2 {
		t.Fatalf("%d prompts", len(prompts))
	}
	seen := map[int32]int{}
	for i, e := range prompts {
		if e.Truncated || len(e.IDs) > 256 || e.Skipped != 0 {
			t.Errorf("prompt %d: truncated %v, %d ids, %d skipped", i, e.Truncated, len(e.IDs), e.Skipped)
		}
		for _, ph := range e.Prompt.Phrases {
			seen[ph.LabelID]++
		}
	}
	if len(seen) != len(names) {
		t.Errorf("%d names in the prompts, want %d", len(seen), len(names))
	}
	// One vocabulary image and one caption image in the same batch.
	caption := tc.EncodeCaption("a red square on a grey background")
	dets, err := tc.Detect(context.Background(), []Item{
		{Image: picture(300, 200), Prompts: prompts},
		{Image: picture(200, 200), Prompt: caption},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Like GLIP, top-K keeps every box tied with the K-th score.
	if k := p.TopKLargeVocab; len(dets[0]) == 0 || len(dets[0]) > k && dets[0][len(dets[0])-1].Score != dets[0][k-1].Score {
		t.Errorf("vocabulary image: %d boxes, want 1 to %d (1,203 names) plus ties", len(dets[0]), k)
	}
	for _, d := range dets[0] {
		if d.LabelID < 0 || int(d.LabelID) >= len(names) || d.Text != glip.CleanName(names[d.LabelID]) || d.Prompt >= len(prompts) {
			t.Errorf("vocabulary detection %+v", d)
		}
	}
	for _, d := range dets[1] {
		if d.LabelID != -1 || d.Prompt != 0 {
			t.Errorf("caption detection %+v", d)
		}
	}
}

func TestProbeInputs(t *testing.T) {
	testenv.InitORT(t)
	// GLIP's rule on a 640×427 and a 333×500 image: 1199×800 and
	// 800×1201, padded to 1216×1216.
	tc := open(t, probeBundle(t, 800, 1333), nil)
	if !tc.centerness || !tc.has(bundle.InPixelMask) || !tc.has(bundle.InTokenTypeIDs) {
		t.Fatalf("roles %v, centerness %v", tc.roles, tc.centerness)
	}
	items := []Item{
		{Image: picture(640, 427), Prompt: tc.EncodeCaption("a red square")},
		{Image: picture(333, 500), Prompt: tc.EncodeCaption("a red square on a grey background with a dog")},
	}
	imgs := tc.prepare(items)
	if imgs.pw != 1216 || imgs.ph != 1216 {
		t.Fatalf("padded to %dx%d, want 1216x1216", imgs.pw, imgs.ph)
	}
	want := []glip.Geometry{{OrigW: 640, OrigH: 427, ResizedW: 1199, ResizedH: 800}, {OrigW: 333, OrigH: 500, ResizedW: 800, ResizedH: 1201}}
	for i, g := range imgs.geo {
		if g != want[i] {
			t.Errorf("image %d geometry %+v, want %+v", i, g, want[i])
		}
	}
	// BGR, 0–255, GLIP's mean and std; zero padding.
	plane := imgs.pw * imgs.ph
	blue0 := imgs.pixels[0*plane] // channel 0 is blue: (90 − 103.53)/57.375
	if math.Abs(float64(blue0)-(90-103.53)/57.375) > 1e-4 {
		t.Errorf("pixel (0,0) channel 0 = %g, want blue normalized", blue0)
	}
	if v := imgs.pixels[3*plane+imgs.pw*1000+900]; v != 0 {
		t.Errorf("padding of image 1 holds %g", v)
	}
	outs, err := tc.run(context.Background(), imgs, []int{0, 1}, []Encoded{items[0].Prompt, items[1].Prompt})
	if err != nil {
		t.Fatal(err)
	}
	for i, o := range outs {
		g := imgs.geo[i]
		if got, want := o.Centerness[0], float32(g.ResizedW*g.ResizedH); got != want {
			t.Errorf("image %d: pixel mask sums to %g, want %g", i, got, want)
		}
		ids := items[i].Prompt.IDs
		for k := range o.Tokens {
			want := float32(0) // padding: id 0, mask 0
			if k < len(ids) {
				want = float32(ids[k]) + 0.5 // token type 0, mask 1
			}
			if got := o.Logits[2*o.Tokens+k]; got != want {
				t.Errorf("image %d token %d: echo %g, want %g", i, k, got, want)
			}
		}
	}
	// A subset round gathers the right image.
	outs, err = tc.run(context.Background(), imgs, []int{1}, []Encoded{items[1].Prompt})
	if err != nil {
		t.Fatal(err)
	}
	if got := outs[0].Centerness[0]; got != float32(800*1201) {
		t.Errorf("subset: pixel mask sums to %g", got)
	}
}

func TestOpenRejectsBadParams(t *testing.T) {
	testenv.InitORT(t)
	dir, _ := testenv.Bundles(t, nil)
	b, err := bundle.Load(dir, bundle.KindGrounding)
	if err != nil {
		t.Fatal(err)
	}
	p := glip.DefaultParams()
	p.Scoring = "votes"
	if _, err := Open(b, &Options{Params: &p}); err == nil {
		t.Error("Open accepted scoring \"votes\"")
	}
	if _, err := Open(b, &Options{Vocab: []string{"cat", ""}}); err == nil {
		t.Error("Open accepted an empty vocabulary name")
	}
}

func TestGroundingDINOPreset(t *testing.T) {
	p, err := glip.Preset(glip.PresetGroundingDINO)
	if err != nil {
		t.Fatal(err)
	}
	p.BoxThreshold, p.TextThreshold = 0.05, 0.05
	tc := tinyTeacher(t, nil, &Options{Params: &p})
	enc := tc.EncodeCaption("a red square on a grey background  ")
	if enc.Prompt.Text != "a red square on a grey background." || len(enc.Pieces) != len(enc.IDs) || enc.Pieces[0] != "[CLS]" {
		t.Fatalf("encoded %q, pieces %q", enc.Prompt.Text, enc.Pieces)
	}
	dets, err := tc.Detect(context.Background(), []Item{{Image: picture(300, 200), Prompt: enc}})
	if err != nil {
		t.Fatal(err)
	}
	if len(dets[0]) == 0 {
		t.Fatal("no detections")
	}
	for _, d := range dets[0] {
		if d.Text == "" || d.Start < 0 || d.End > 33 || d.End <= d.Start || d.LabelID != -1 {
			t.Errorf("detection %+v", d)
		}
	}
}
