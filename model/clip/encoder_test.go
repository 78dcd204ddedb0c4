package clip

import (
	"context"
	"errors"
	"image"
	"math"
	"strings"
	"testing"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/imageproc"
	"github.com/groundbeam/groundbeam/model/ort"
	"github.com/groundbeam/groundbeam/model/tiny"
)

// paths are the two ways Embed can go.
var paths = []struct {
	name     string
	cpuCrops bool
}{
	{"cpu crops", true},
	{"region graph", false},
}

// mixedRegions are teacher boxes and proposals of two images, interleaved,
// with border, tiny, degenerate and outside boxes among them. The second
// image has a non-zero origin.
func mixedRegions() []Region {
	a := testImage(1, 320, 240)
	big := testImage(2, 500, 400)
	b := big.SubImage(image.Rect(60, 40, 460, 340)).(*image.RGBA) // 400×300 at (60,40)
	return []Region{
		{a, [4]float32{40, 30, 200, 180}},
		{b, [4]float32{10.5, 20.25, 150.75, 290}},
		{a, [4]float32{0, 0, 320, 240}},
		{a, [4]float32{280, 200, 320, 240}}, // on the corner: 1.5× is clipped
		{b, [4]float32{199.6, 100.2, 199.9, 100.4}},
		{a, [4]float32{100, 100, 100, 100}}, // degenerate
		{b, [4]float32{-40, -30, 30, 20}},   // partly outside
		{b, [4]float32{390, 290, 420, 330}}, // mostly outside
	}
}

func TestEmbedUnitNorms(t *testing.T) {
	b := clipBundle(t, nil)
	regions := mixedRegions()
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			e, err := Open(b, &Options{CPUCrops: p.cpuCrops})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			if e.RegionGraph() == p.cpuCrops {
				t.Errorf("RegionGraph() = %v with CPUCrops %v", e.RegionGraph(), p.cpuCrops)
			}
			embs, err := e.Embed(context.Background(), regions)
			if err != nil {
				t.Fatal(err)
			}
			if len(embs) != len(regions) {
				t.Fatalf("%d embeddings for %d regions", len(embs), len(regions))
			}
			for i, v := range embs {
				if len(v) != e.Dim() {
					t.Fatalf("region %d: dim %d, want %d", i, len(v), e.Dim())
				}
				if n := norm(v); math.Abs(n-1) > 1e-5 {
					t.Errorf("region %d (box %v): norm %v", i, regions[i].Box, n)
				}
			}
			for i := 1; i < len(embs); i++ {
				if c := cosine(embs[0], embs[i]); c > 0.99999 {
					t.Errorf("regions 0 and %d embed alike (cos %v)", i, c)
				}
			}
			if embs, err := e.Embed(context.Background(), nil); err != nil || len(embs) != 0 {
				t.Errorf("no regions: %d embeddings, err %v", len(embs), err)
			}
		})
	}
}

// The two-scale ensemble equals a combination computed by hand: crops
// written out, run through the graph's session directly, each normalised,
// summed and normalised.
func TestTwoScaleEnsemble(t *testing.T) {
	b := clipBundle(t, nil)
	m := b.Manifest
	img := testImage(3, 200, 160)
	tests := []struct {
		name string
		box  [4]float32
		// rects are the crops at 1.0× and 1.5×, worked out by hand: the
		// box enlarged about its centre, clipped to 200×160, rounded out.
		rects [2]image.Rectangle
		// boxes are the same without rounding, for the region graph.
		boxes [2][4]float32
	}{
		{"inside", [4]float32{60, 40, 140, 100},
			[2]image.Rectangle{image.Rect(60, 40, 140, 100), image.Rect(40, 25, 160, 115)},
			[2][4]float32{{60, 40, 140, 100}, {40, 25, 160, 115}}},
		{"clipped at the left", [4]float32{0, 50, 40, 90},
			[2]image.Rectangle{image.Rect(0, 50, 40, 90), image.Rect(0, 40, 50, 100)},
			[2][4]float32{{0, 50, 40, 90}, {0, 40, 50, 100}}},
		{"fractional, clipped at the bottom right", [4]float32{170.5, 130.5, 199.5, 159.5},
			[2]image.Rectangle{image.Rect(170, 130, 200, 160), image.Rect(163, 123, 200, 160)},
			[2][4]float32{{170.5, 130.5, 199.5, 159.5}, {163.25, 123.25, 200, 160}}},
	}
	norm := imageproc.Norm{Scale: m.Image.Scale, Mean: m.Image.Mean, Std: m.Image.Std}
	combine := func(a, b []float32) []float32 {
		a, b = append([]float32(nil), a...), append([]float32(nil), b...)
		Normalize(a)
		Normalize(b)
		s := make([]float32, len(a))
		for i := range s {
			s[i] = a[i] + b[i]
		}
		Normalize(s)
		return s
	}
	ctx := context.Background()
	d := m.EmbeddingDim

	t.Run("cpu crops", func(t *testing.T) {
		s, err := ort.Acquire(ort.Key{Identity: "hand/image", Path: b.Path(m.ImageONNX)}, []string{"pixel_values"}, []string{"image_embeds"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Release()
		e, err := Open(b, &Options{CPUCrops: true})
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				px := make([]float32, 2*3*224*224)
				for k, r := range tc.rects {
					// the bicubic resize itself is checked against
					// x/image/draw in package imageproc
					norm.ResizeNorm(px[k*3*224*224:(k+1)*3*224*224], img, r, 224)
				}
				res, err := s.Run(ctx, []ort.Tensor{{Shape: []int64{2, 3, 224, 224}, F32: px}})
				if err != nil {
					t.Fatal(err)
				}
				want := combine(res[0].F32[:d], res[0].F32[d:2*d])
				got, err := e.Embed(ctx, []Region{{img, tc.box}})
				if err != nil {
					t.Fatal(err)
				}
				if diff := maxAbsDiff(got[0], want); diff > 1e-5 {
					t.Errorf("max |Δ| = %g from the hand-computed ensemble", diff)
				}
				// Both scales matter.
				single := append([]float32(nil), res[0].F32[:d]...)
				Normalize(single)
				if c := cosine(got[0], single); c > 0.99999 {
					t.Errorf("ensemble equals the 1.0× embedding (cos %v)", c)
				}
			})
		}
	})

	t.Run("region graph", func(t *testing.T) {
		s, err := ort.Acquire(ort.Key{Identity: "hand/region", Path: b.Path(m.RegionONNX)},
			[]string{"pixel_values", "boxes"}, []string{"region_embeds"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Release()
		e, err := Open(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		full := make([]float32, 3*200*160)
		norm.Fill(full, 200, 160, img)
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				boxes := append(tc.boxes[0][:], tc.boxes[1][:]...)
				res, err := s.Run(ctx, []ort.Tensor{{Shape: []int64{1, 3, 160, 200}, F32: full}, {Shape: []int64{2, 4}, F32: boxes}})
				if err != nil {
					t.Fatal(err)
				}
				want := combine(res[0].F32[:d], res[0].F32[d:2*d])
				got, err := e.Embed(ctx, []Region{{img, tc.box}})
				if err != nil {
					t.Fatal(err)
				}
				if diff := maxAbsDiff(got[0], want); diff > 1e-5 {
					t.Errorf("max |Δ| = %g from the hand-computed ensemble", diff)
				}
			})
		}
	})
}

// Bounds between the CPU crop path (bicubic resize of integer crops) and
// the region graph (RoiAlign: bilinear, 2×2 samples averaged per output
// pixel, float boxes) for the same region on the tiny towers: the least
// cosine similarity and the largest element difference of the unit
// embeddings. Measured: worst cosine 0.9979 and max |Δ| 1.9e-2, both on a
// degenerate box (a 1-pixel crop, which RoiAlign blends with its
// neighbours); boxes of 10 px and more stay above 0.998.
const (
	cpuVsRegionCosine  = 0.99
	cpuVsRegionMaxDiff = 0.05
)

func TestCPUCropsVsRegionGraph(t *testing.T) {
	b := clipBundle(t, nil)
	cpu, err := Open(b, &Options{CPUCrops: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cpu.Close()
	reg, err := Open(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	boxes := func(w, h float32) [][4]float32 {
		return [][4]float32{
			{0, 0, w, h},                                      // whole image
			{0.1 * w, 0.2 * h, 0.6 * w, 0.9 * h},              // large
			{0.4 * w, 0.4 * h, 0.5 * w, 0.47 * h},             // small, upsampled
			{0.9 * w, 0.85 * h, w, h},                         // corner, clipped at 1.5×
			{0.3*w + 0.3, 0.6 * h, 0.3*w + 12.7, 0.6*h + 9.2}, // ~12×9 px
			{0.2 * w, 0.1 * h, 0.8 * w, 0.1*h + 6},            // thin strip
			{50, 50, 50, 50},                                  // degenerate
		}
	}
	tests := []struct {
		name string
		w, h int
	}{
		{"320x240", 320, 240},
		{"640x480", 640, 480},
		{"480x640 portrait", 480, 640},
		{"1600x1200 downscaled for the region graph", 1600, 1200},
	}
	ctx := context.Background()
	worst, worstDiff := 1.0, 0.0
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() && max(tc.w, tc.h) > 1000 {
				t.Skip("large image in -short mode")
			}
			img := testImage(uint64(10+i), tc.w, tc.h)
			var regions []Region
			for _, bx := range boxes(float32(tc.w), float32(tc.h)) {
				regions = append(regions, Region{img, bx})
			}
			a, err := cpu.Embed(ctx, regions)
			if err != nil {
				t.Fatal(err)
			}
			g, err := reg.Embed(ctx, regions)
			if err != nil {
				t.Fatal(err)
			}
			for k := range regions {
				c, d := cosine(a[k], g[k]), maxAbsDiff(a[k], g[k])
				worst, worstDiff = math.Min(worst, c), math.Max(worstDiff, d)
				t.Logf("box %v: cosine %.6f, max |Δ| %.2e", regions[k].Box, c, d)
				if c < cpuVsRegionCosine || d > cpuVsRegionMaxDiff {
					t.Errorf("box %v: cosine %.6f, max |Δ| %.2e; want ≥ %v and ≤ %v", regions[k].Box, c, d, cpuVsRegionCosine, cpuVsRegionMaxDiff)
				}
			}
		})
	}
	t.Logf("worst cosine %.6f, worst max |Δ| %.2e (bounds: cosine ≥ %v, max |Δ| ≤ %v)", worst, worstDiff, cpuVsRegionCosine, cpuVsRegionMaxDiff)
}

// Proposals are just more regions: the result per region does not depend
// on what else is in the call, nor on the batch size.
func TestEmbedIndependentOfBatching(t *testing.T) {
	b := clipBundle(t, nil)
	regions := mixedRegions()
	ctx := context.Background()
	for _, p := range paths {
		t.Run(p.name, func(t *testing.T) {
			ref, err := Open(b, &Options{CPUCrops: p.cpuCrops})
			if err != nil {
				t.Fatal(err)
			}
			defer ref.Close()
			all, err := ref.Embed(ctx, regions)
			if err != nil {
				t.Fatal(err)
			}
			small, err := Open(b, &Options{CPUCrops: p.cpuCrops, Batch: 3})
			if err != nil {
				t.Fatal(err)
			}
			defer small.Close()
			batched, err := small.Embed(ctx, regions)
			if err != nil {
				t.Fatal(err)
			}
			for i, r := range regions {
				one, err := ref.Embed(ctx, []Region{r})
				if err != nil {
					t.Fatal(err)
				}
				if d := maxAbsDiff(one[0], all[i]); d > 1e-5 {
					t.Errorf("region %d: alone vs with the others differ by %g", i, d)
				}
				if d := maxAbsDiff(batched[i], all[i]); d > 1e-5 {
					t.Errorf("region %d: batch 3 vs default differ by %g", i, d)
				}
			}
		})
	}
}

func TestSeedChangesBundle(t *testing.T) {
	a := clipBundle(t, &tiny.BundleOptions{CLIP: &tiny.CLIPOptions{Seed: 1}})
	b := clipBundle(t, &tiny.BundleOptions{CLIP: &tiny.CLIPOptions{Seed: 2}})
	if a.Identity == b.Identity {
		t.Fatalf("seeds 1 and 2 share identity %s", a.Identity)
	}
	r := []Region{{testImage(4, 100, 80), [4]float32{10, 10, 60, 50}}}
	embed := func(bd *bundle.Bundle) []float32 {
		e, err := Open(bd, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		v, err := e.Embed(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		return v[0]
	}
	if c := cosine(embed(a), embed(b)); c > 0.999 {
		t.Errorf("seeds 1 and 2 embed alike (cos %v)", c)
	}
}

func TestOpenAndEmbedErrors(t *testing.T) {
	testenv.InitORT(t)
	teacherDir, clipDir := testenv.Bundles(t, nil)
	teacher, err := bundle.Load(teacherDir, "")
	if err != nil {
		t.Fatal(err)
	}
	cb, err := bundle.Load(clipDir, bundle.KindCLIP)
	if err != nil {
		t.Fatal(err)
	}
	opens := []struct {
		name string
		b    *bundle.Bundle
		opts *Options
		want string
	}{
		{"grounding bundle", teacher, nil, "not clip"},
		{"zero scale", cb, &Options{Scales: []float64{1, 0}}, "scale"},
		{"negative scale", cb, &Options{Scales: []float64{-1}}, "scale"},
		{"NaN scale", cb, &Options{Scales: []float64{math.NaN()}}, "scale"},
		{"infinite scale", cb, &Options{Scales: []float64{math.Inf(1)}}, "scale"},
	}
	for _, tc := range opens {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Open(tc.b, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Open: err = %v, want one mentioning %q", err, tc.want)
			}
		})
	}
	e, err := Open(cb, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	img := testImage(5, 64, 48)
	t.Run("region without an image", func(t *testing.T) {
		if _, err := e.Embed(context.Background(), []Region{{img, [4]float32{0, 0, 5, 5}}, {nil, [4]float32{0, 0, 5, 5}}}); err == nil {
			t.Error("want error")
		}
	})
	t.Run("empty image", func(t *testing.T) {
		if _, err := e.Embed(context.Background(), []Region{{image.NewRGBA(image.Rect(0, 0, 0, 0)), [4]float32{}}}); err == nil {
			t.Error("want error")
		}
	})
	for _, p := range paths {
		t.Run("cancelled/"+p.name, func(t *testing.T) {
			e, err := Open(cb, &Options{CPUCrops: p.cpuCrops})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			if _, err := e.Embed(ctx, []Region{{img, [4]float32{0, 0, 5, 5}}}); !errors.Is(err, context.Canceled) {
				t.Errorf("err = %v, want context.Canceled", err)
			}
		})
	}
}
