package teacher

import (
	"context"
	"math"
	"testing"

	"github.com/groundbeam/groundbeam/model/glip"
	"github.com/groundbeam/groundbeam/model/tiny"
)

// uint8Items are images of several sizes (so that most are padded), one of
// them run against two prompts so that the second round is a subset of the
// batch.
func uint8Items(tc *Teacher) []Item {
	a := tc.EncodeCaption("a red square and a blue circle on a grey background")
	b := tc.EncodeCaption("a green field with a dog")
	return []Item{
		{Image: picture(320, 240), Prompt: a},
		{Image: picture(200, 300), Prompts: []Encoded{a, b}},
		{Image: picture(640, 480), Prompt: b},
		{Image: picture(257, 256), Prompt: a},
	}
}

// TestDetectUInt8MatchesFloat: the tiny teacher taking uint8 NHWC pixels
// finds the detections the float one does (same query, phrase and label,
// boxes within 1 px, scores within a bound), from an image tensor of a
// quarter of the bytes.
//
// The graphs see the same resized pixels; what differs is float rounding
// and the padding, which the uint8 path fills with the mean colour rounded
// to whole levels (normalised: up to 0.5/57 ≈ 0.009 instead of 0). The
// tiny teacher pools over the whole padded tensor, so the padding moves
// its scores. Measured: an unpadded image 1.2e-7; the padded batch 2.6e-3
// (the 320×240 image in a 352×384 slot), boxes 0.30 px. The bounds leave
// a margin of about 4×; a real detector's receptive fields see less of
// the padding.
func TestDetectUInt8MatchesFloat(t *testing.T) {
	p := glip.DefaultParams()
	p.ScoreThreshold = 0.05
	ft := tinyTeacher(t, nil, &Options{Params: &p})
	ut := tinyTeacher(t, &tiny.BundleOptions{UInt8Input: true}, &Options{Params: &p})
	if ft.uint8 || !ut.uint8 {
		t.Fatalf("uint8: float teacher %v, uint8 teacher %v", ft.uint8, ut.uint8)
	}
	tests := []struct {
		name     string
		items    []Item
		scoreTol float64
	}{
		{"unpadded 256x256", []Item{{Image: picture(256, 256), Prompt: ft.EncodeCaption("a red square on a grey background")}}, 1e-5},
		{"padded batch", uint8Items(ft), 0.01},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			items := tt.items
			fi, ui := ft.prepare(items), ut.prepare(items)
			if len(fi.u8) != 0 || len(ui.pixels) != 0 || len(ui.u8) != len(fi.pixels) || 4*ui.bytes() != fi.bytes() {
				t.Fatalf("image tensors: float %d floats %d bytes, uint8 %d bytes", len(fi.pixels), fi.bytes(), ui.bytes())
			}
			t.Logf("image tensor of %d items: float32 %d bytes, uint8 %d bytes", len(items), fi.bytes(), ui.bytes())

			ctx := context.Background()
			fd, err := ft.Detect(ctx, items)
			if err != nil {
				t.Fatal(err)
			}
			ud, err := ut.Detect(ctx, items)
			if err != nil {
				t.Fatal(err)
			}
			type key struct{ prompt, query, phrase int }
			var worstScore, worstBox float64
			total := 0
			for i := range items {
				byKey := map[key]glip.Detection{}
				for _, d := range ud[i] {
					byKey[key{d.Prompt, d.Query, d.Phrase}] = d
				}
				if len(ud[i]) != len(fd[i]) {
					t.Errorf("image %d: %d detections from uint8, %d from float", i, len(ud[i]), len(fd[i]))
				}
				for _, f := range fd[i] {
					total++
					u, ok := byKey[key{f.Prompt, f.Query, f.Phrase}]
					if !ok {
						t.Errorf("image %d: float detection %+v has no uint8 counterpart", i, f)
						continue
					}
					if u.LabelID != f.LabelID || u.Text != f.Text || u.Start != f.Start || u.End != f.End {
						t.Errorf("image %d: label %d %q [%d,%d), float %d %q [%d,%d)", i, u.LabelID, u.Text, u.Start, u.End, f.LabelID, f.Text, f.Start, f.End)
					}
					worstScore = max(worstScore, math.Abs(float64(u.Score-f.Score)))
					for c := range 4 {
						worstBox = max(worstBox, math.Abs(float64(u.Box[c]-f.Box[c])))
					}
				}
			}
			t.Logf("%d detections: scores differ by at most %.3g, box coordinates by %.3g px", total, worstScore, worstBox)
			if total == 0 {
				t.Fatal("no detections to compare")
			}
			if worstScore > tt.scoreTol {
				t.Errorf("scores differ by %.3g, want ≤ %g", worstScore, tt.scoreTol)
			}
			if worstBox > 1 {
				t.Errorf("boxes differ by %.3g px, want ≤ 1", worstBox)
			}
		})
	}
}

// TestPrepareUInt8: the uint8 tensor holds each resized image's pixels in
// the bundle's channel order at the top-left of its [ph,pw,3] slot and the
// mean colour elsewhere.
func TestPrepareUInt8(t *testing.T) {
	ut := tinyTeacher(t, &tiny.BundleOptions{UInt8Input: true}, nil)
	items := uint8Items(ut)
	imgs := ut.prepare(items)
	// Image 0 (320×240 → 341×256) in a subset of the batch, padded to
	// 352×384 by image 1 (200×300 → 256×384).
	const i = 0
	in, _ := ut.inputs(imgs, []int{i}, []Encoded{items[i].Prompt})
	if got := in[0].Shape; len(got) != 4 || got[0] != 1 || got[1] != int64(imgs.ph) || got[2] != int64(imgs.pw) || got[3] != 3 || in[0].F32 != nil {
		t.Fatalf("image input shape %v (float data %v), want [1 %d %d 3] uint8", got, in[0].F32 != nil, imgs.ph, imgs.pw)
	}
	slot := 3 * imgs.pw * imgs.ph
	got := in[0].U8
	if want := imgs.u8[i*slot : (i+1)*slot]; string(got) != string(want) {
		t.Fatalf("the subset's slot is not image %d", i)
	}
	mean := ut.norm.MeanPixel() // RGB 123.675, 116.28, 103.53
	if mean != [3]uint8{124, 116, 104} {
		t.Errorf("mean pixel %v", mean)
	}
	g := imgs.geo[i]
	if g.ResizedW >= imgs.pw || g.ResizedH >= imgs.ph {
		t.Fatalf("image %d is %dx%d in a %dx%d slot: no padding to check", i, g.ResizedW, g.ResizedH, imgs.pw, imgs.ph)
	}
	px := func(x, y int) [3]uint8 { o := (y*imgs.pw + x) * 3; return [3]uint8{got[o], got[o+1], got[o+2]} }
	for _, c := range []struct {
		name string
		x, y int
	}{{"right", g.ResizedW, 0}, {"bottom", 0, g.ResizedH}, {"corner", imgs.pw - 1, imgs.ph - 1}} {
		if p := px(c.x, c.y); p != mean {
			t.Errorf("%s padding %v, want %v", c.name, p, mean)
		}
	}
	// picture's blue channel is 90 outside its red block.
	if p := px(0, 0); p[2] != 90 {
		t.Errorf("pixel (0,0) %v, want blue 90", p)
	}
}
