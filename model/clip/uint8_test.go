package clip

import (
	"context"
	"slices"
	"testing"

	"github.com/groundbeam/groundbeam/model/tiny"
)

// TestEmbedUInt8MatchesFloat: the tiny CLIP bundle taking uint8 NHWC
// pixels embeds mixedRegions as the float one does, on each path.
//
// The region graph gets the very pixels the float path normalises, so
// only float rounding differs: measured 1.2e-7 at most per component of
// the unit embeddings, as it is and downscaled. CPU crops are rounded to
// whole levels after the bicubic resize (up to 0.5/255/0.26 ≈ 0.0075 per
// normalised value): measured 8.3e-5 at most, lowest cosine 0.99999996.
// The bounds leave a margin of about 5×. The tiny tower averages 28×28
// patches, which evens the rounding out; a real CLIP tower will differ
// more on CPU crops.
func TestEmbedUInt8MatchesFloat(t *testing.T) {
	fb := clipBundle(t, nil)
	ub := clipBundle(t, &tiny.BundleOptions{UInt8Input: true})
	regions := mixedRegions()
	tests := []struct {
		name string
		opts Options
		tol  float64
	}{
		{"cpu crops", Options{CPUCrops: true}, 4e-4},
		{"cpu crops, small batches", Options{CPUCrops: true, Batch: 3}, 4e-4},
		{"region graph", Options{}, 1e-6},
		{"region graph, downscaled image", Options{RegionMaxSide: 150}, 1e-6},
	}
	ctx := context.Background()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fe, err := Open(fb, &tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer fe.Close()
			ue, err := Open(ub, &tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer ue.Close()
			if fe.uint8 || !ue.uint8 || ue.RegionGraph() != fe.RegionGraph() {
				t.Fatalf("uint8 %v and %v, region graph %v and %v", fe.uint8, ue.uint8, fe.RegionGraph(), ue.RegionGraph())
			}
			want, err := fe.Embed(ctx, regions)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ue.Embed(ctx, regions)
			if err != nil {
				t.Fatal(err)
			}
			worst, worstCos := 0.0, 1.0
			for i := range want {
				worst = max(worst, maxAbsDiff(got[i], want[i]))
				worstCos = min(worstCos, cosine(got[i], want[i]))
			}
			t.Logf("%d regions: max abs difference %.3g, lowest cosine %.9f", len(regions), worst, worstCos)
			if worst > tt.tol {
				t.Errorf("max abs difference %.3g from the float bundle, want ≤ %g", worst, tt.tol)
			}
		})
	}
}

// TestUInt8Tensors: a uint8 encoder sends the same pixels in a quarter of
// the bytes: the region graph's image as [1,H,W,3] and the tower's crops
// as [N,S,S,3].
func TestUInt8Tensors(t *testing.T) {
	fb := clipBundle(t, nil)
	ub := clipBundle(t, &tiny.BundleOptions{UInt8Input: true})
	fe, err := Open(fb, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fe.Close()
	ue, err := Open(ub, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ue.Close()
	img := testImage(4, 300, 200)
	f, fw, fh := fe.regionImage(img)
	u, uw, uh := ue.regionImage(img)
	if fw != uw || fh != uh || f.U8 != nil || u.F32 != nil {
		t.Fatalf("sizes %dx%d and %dx%d", fw, fh, uw, uh)
	}
	if want := []int64{1, 200, 300, 3}; !slices.Equal(u.Shape, want) || !slices.Equal(f.Shape, []int64{1, 3, 200, 300}) {
		t.Errorf("shapes %v (float) and %v (uint8), want [1 3 200 300] and %v", f.Shape, u.Shape, want)
	}
	if ub, fb := len(u.U8), 4*len(f.F32); 4*ub != fb || ub != 3*300*200 {
		t.Errorf("uint8 image of %d bytes, float of %d", ub, fb)
	}
	// The same pixel, raw and normalised.
	x, y := 120, 77
	raw := img.Pix[img.PixOffset(x, y)+1] // green
	if got := u.U8[(y*300+x)*3+1]; got != raw {
		t.Errorf("green at (%d,%d) is %d, image has %d", x, y, got, raw)
	}
	crop := make([]uint8, 3*ue.size*ue.size)
	ue.fillCropHWC(crop, Region{Image: img, Box: [4]float32{10, 10, 110, 60}}, 1)
	floats := make([]float32, 3*fe.size*fe.size)
	fe.fillCrop(floats, Region{Image: img, Box: [4]float32{10, 10, 110, 60}}, 1)
	t.Logf("one crop: float32 %d bytes, uint8 %d bytes", 4*len(floats), len(crop))
	if ub, fb := len(crop), 4*len(floats); 4*ub != fb {
		t.Errorf("crop of %d bytes, float crop of %d", ub, fb)
	}
}
