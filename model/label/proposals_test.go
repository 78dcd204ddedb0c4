package label

import (
	"context"
	"math"
	"testing"

	"github.com/groundbeam/groundbeam/model/clip"
	"github.com/groundbeam/groundbeam/model/teacher"
	"github.com/groundbeam/groundbeam/schemas"
)

func TestCleanProposals(t *testing.T) {
	nan := float32(math.NaN())
	got := cleanProposals([][4]float32{
		{-5, -5, 20, 30},   // clipped to 0,0,20,30
		{90, 40, 200, 300}, // clipped to 90,40,100,50
		{10, 10, 10, 20},   // zero width
		{120, 10, 130, 20}, // outside: empty after clipping
		{nan, 0, 10, 10},   // not finite
		{1, 2, 3, 4},       // kept
		{5, 5, 9, 9},       // over the limit
	}, 100, 50, 3)
	want := [][4]float32{{0, 0, 20, 30}, {90, 40, 100, 50}, {1, 2, 3, 4}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("box %d: got %v, want %v", i, got[i], want[i])
		}
	}
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

func TestLabelProposals(t *testing.T) {
	tc, c := models(t, &teacher.Options{Params: lowParams()})
	pairs := samplePairs(t, 3)
	// the first pair gets proposals, some out of bounds or degenerate
	pairs[0].Proposals = [][4]float32{{-10, -10, 40, 40}, {5, 5, 5, 30}, {10, 10, 1e6, 1e6}, {0, 0, 20, 20}, {3, 3, 30, 30}}
	pairs[2].Proposals = [][4]float32{{1, 1, 25, 25}}
	const maxProps = 2
	ctx := context.Background()

	check := func(t *testing.T, opts *Options, wantTeacher bool) []Outcome {
		t.Helper()
		outs, st, err := New(tc, c, opts).Label(ctx, pairs)
		if err != nil {
			t.Fatal(err)
		}
		props, teach := 0, 0
		for i, o := range outs {
			if o.Row == nil {
				t.Fatalf("%s: %+v", pairs[i].Key, o.Err)
			}
			np := 0
			for _, b := range o.Row.Boxes {
				x := b.XYXY
				if x[0] < 0 || x[1] < 0 || x[2] > float32(o.Row.Width) || x[3] > float32(o.Row.Height) || x[2] <= x[0] || x[3] <= x[1] {
					t.Errorf("%s: box %v not inside %dx%d", o.Row.Key, x, o.Row.Width, o.Row.Height)
				}
				e := b.Embedding
				if opts.Float16 {
					if len(b.Embedding) != 0 {
						t.Errorf("%s: float16 run wrote a float32 embedding", o.Row.Key)
					}
					e = clip.FromFloat16(b.EmbeddingF16)
				} else if len(b.EmbeddingF16) != 0 {
					t.Errorf("%s: float32 run wrote a float16 embedding", o.Row.Key)
				}
				if len(e) == 0 || math.Abs(norm(e)-1) > 1e-2 {
					t.Errorf("%s: embedding of %d dims, norm %g", o.Row.Key, len(e), norm(e))
				}
				switch b.Kind {
				case schemas.KindProposal:
					np++
					if b.Score != 0 || b.Phrase != "" || b.LabelID != -1 || b.CharStart != -1 || b.CharEnd != -1 {
						t.Errorf("%s: proposal %+v", o.Row.Key, b)
					}
				case schemas.KindTeacher:
					if np > 0 {
						t.Errorf("%s: teacher box after a proposal", o.Row.Key)
					}
					teach++
				default:
					t.Errorf("%s: kind %q", o.Row.Key, b.Kind)
				}
			}
			want := min(len(cleanProposals(pairs[i].Proposals, int(o.Row.Width), int(o.Row.Height), 1<<30)), maxProps)
			if np != want || np > maxProps {
				t.Errorf("%s: %d proposals, want %d", o.Row.Key, np, want)
			}
			props += np
		}
		if props != st.Proposals || props == 0 {
			t.Errorf("stats %+v, counted %d proposals", st, props)
		}
		if (teach > 0) != wantTeacher {
			t.Errorf("%d teacher boxes, want some: %v", teach, wantTeacher)
		}
		return outs
	}

	var f32 []Outcome
	t.Run("float32", func(t *testing.T) {
		f32 = check(t, &Options{MaxProposals: maxProps}, true)
		// the first proposal of pair 0 was clipped
		for _, b := range f32[0].Row.Boxes {
			if b.Kind == schemas.KindProposal {
				if b.XYXY[0] != 0 || b.XYXY[1] != 0 || b.XYXY[2] != 40 || b.XYXY[3] != 40 {
					t.Errorf("first proposal %v, want clipped to [0 0 40 40]", b.XYXY)
				}
				break
			}
		}
	})
	t.Run("float16", func(t *testing.T) {
		f16 := check(t, &Options{MaxProposals: maxProps, Float16: true}, true)
		if f32 == nil {
			t.Skip("float32 run failed")
		}
		for i := range f16 {
			a, b := f32[i].Row.Boxes, f16[i].Row.Boxes
			if len(a) != len(b) {
				t.Fatalf("%s: %d boxes in float32, %d in float16", pairs[i].Key, len(a), len(b))
			}
			for j := range a {
				want := clip.ToFloat16(a[j].Embedding)
				back := clip.FromFloat16(b[j].EmbeddingF16)
				for d := range want {
					if math.Abs(float64(back[d]-a[j].Embedding[d])) > 1e-3 {
						t.Fatalf("%s box %d dim %d: float16 %g (bits %#x, want %#x), float32 %g",
							pairs[i].Key, j, d, back[d], b[j].EmbeddingF16[d], want[d], a[j].Embedding[d])
					}
				}
			}
		}
	})
	t.Run("no-teacher", func(t *testing.T) {
		outs := check(t, &Options{MaxProposals: maxProps, NoTeacherBoxes: true}, false)
		if n := len(outs[1].Row.Boxes); n != 0 {
			t.Errorf("pair without proposals has %d boxes", n)
		}
	})
}
