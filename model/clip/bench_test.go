package clip

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
)

// benchRegions returns n boxes of a 640×480 image, sized like teacher
// boxes and proposals: 10 to 400 px a side.
func benchRegions(n int) []Region {
	img := testImage(99, 640, 480)
	r := rand.New(rand.NewPCG(5, 6))
	regions := make([]Region, n)
	for i := range regions {
		w, h := 10+r.Float32()*390, 10+r.Float32()*300
		x, y := r.Float32()*(640-w), r.Float32()*(480-h)
		regions[i] = Region{img, [4]float32{x, y, x + w, y + h}}
	}
	return regions
}

// BenchmarkRegionEmbed measures whole region embeddings (crops at 1.0× and
// 1.5× and the tower) on the CPU with the tiny towers, in regions/s.
func BenchmarkRegionEmbed(b *testing.B) {
	bd := clipBundle(b, nil)
	for _, p := range paths {
		for _, n := range []int{16, 100} {
			b.Run(fmt.Sprintf("%s/%d-boxes", p.name, n), func(b *testing.B) {
				e, err := Open(bd, &Options{CPUCrops: p.cpuCrops})
				if err != nil {
					b.Fatal(err)
				}
				defer e.Close()
				regions := benchRegions(n)
				ctx := context.Background()
				b.ResetTimer()
				for b.Loop() {
					if _, err := e.Embed(ctx, regions); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "regions/s")
			})
		}
	}
}

// BenchmarkCrops measures the CPU crop path without the tower: CropRect,
// bicubic resize to 224×224 and CLIP normalisation, in crops/s.
func BenchmarkCrops(b *testing.B) {
	bd := clipBundle(b, nil)
	e, err := Open(bd, &Options{CPUCrops: true})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	regions := benchRegions(16)
	dst := make([]float32, 3*e.size*e.size)
	b.ResetTimer()
	crops := 0
	for b.Loop() {
		for _, r := range regions {
			for _, s := range e.opts.Scales {
				e.fillCrop(dst, r, s)
				crops++
			}
		}
	}
	b.ReportMetric(float64(crops)/b.Elapsed().Seconds(), "crops/s")
}
