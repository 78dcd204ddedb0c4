package clip

import (
	"context"
	"image"
	"math"

	"github.com/groundbeam/groundbeam/model/imageproc"
	"github.com/groundbeam/groundbeam/model/ort"
)

// embedRegionGraph is the region-graph path: for each distinct image, the
// full image (downscaled to RegionMaxSide if larger) and the boxes of all
// its regions at every scale, up to Batch boxes per run.
func (e *Encoder) embedRegionGraph(ctx context.Context, regions []Region, out [][]float32) error {
	for _, group := range byImage(regions) {
		if err := ctx.Err(); err != nil {
			return err
		}
		img := regions[group[0]].Image
		w, h := img.Rect.Dx(), img.Rect.Dy()
		pixels, pw, ph := e.regionImage(img)
		sx, sy := float64(pw)/float64(w), float64(ph)/float64(h)
		boxes := make([]float32, 0, 4*len(group)*len(e.opts.Scales))
		owners := make([]int, 0, len(group)*len(e.opts.Scales))
		for _, i := range group {
			for _, s := range e.opts.Scales {
				b := CropBox(regions[i].Box, s, w, h)
				boxes = append(boxes, float32(float64(b[0])*sx), float32(float64(b[1])*sy),
					float32(float64(b[2])*sx), float32(float64(b[3])*sy))
				owners = append(owners, i)
			}
		}
		for lo := 0; lo < len(owners); lo += e.opts.Batch {
			hi := min(lo+e.opts.Batch, len(owners))
			res, err := e.tower.Run(ctx, []ort.Tensor{
				pixels,
				{Shape: []int64{int64(hi - lo), 4}, F32: boxes[4*lo : 4*hi]},
			})
			if err != nil {
				return err
			}
			if err := accumulate(res[0], owners[lo:hi], out, "region graph"); err != nil {
				return err
			}
		}
	}
	return nil
}

// regionImage returns the region graph's image input and its size: the
// fullImage floats as [1,3,ph,pw] or, for a uint8 graph, the same pixels
// raw as [1,ph,pw,3] uint8 in the bundle's channel order.
func (e *Encoder) regionImage(img *image.RGBA) (in ort.Tensor, pw, ph int) {
	if !e.uint8 {
		pix, pw, ph := e.fullImage(img)
		return ort.Tensor{Shape: []int64{1, 3, int64(ph), int64(pw)}, F32: pix}, pw, ph
	}
	src, pw, ph := e.regionSource(img)
	pix := make([]uint8, 3*pw*ph)
	e.norm.FillHWC(pix, pw, ph, src)
	return ort.Tensor{Shape: []int64{1, int64(ph), int64(pw), 3}, U8: pix}, pw, ph
}

// fullImage returns the float region graph's image input, [1,3,ph,pw]
// floats normalised like the image tower's input, and its size (see
// regionSource).
func (e *Encoder) fullImage(img *image.RGBA) (pix []float32, pw, ph int) {
	src, pw, ph := e.regionSource(img)
	pix = make([]float32, 3*pw*ph)
	e.norm.Fill(pix, pw, ph, src)
	return pix, pw, ph
}

// regionSource returns the pixels the region graph receives and their
// size: img itself, or img downscaled (bicubic, antialiased) so that its
// longer side is RegionMaxSide.
func (e *Encoder) regionSource(img *image.RGBA) (src *image.RGBA, pw, ph int) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	pw, ph = regionSize(w, h, e.opts.RegionMaxSide)
	src = img
	if pw != w || ph != h {
		src = imageproc.Resize(img, pw, ph, true)
	}
	return src, pw, ph
}

// regionSize is the size a w×h image is sent to the region graph at: as
// it is when its longer side is at most maxSide (or maxSide < 0), else
// scaled so that the longer side is maxSide.
func regionSize(w, h, maxSide int) (int, int) {
	long := max(w, h)
	if maxSide < 0 || long <= maxSide {
		return w, h
	}
	s := float64(maxSide) / float64(long)
	return max(1, int(math.Round(float64(w)*s))), max(1, int(math.Round(float64(h)*s)))
}

// byImage groups region indices by image, in order of first appearance.
func byImage(regions []Region) [][]int {
	idx := map[*image.RGBA]int{}
	var groups [][]int
	for i, r := range regions {
		g, ok := idx[r.Image]
		if !ok {
			g = len(groups)
			idx[r.Image] = g
			groups = append(groups, nil)
		}
		groups[g] = append(groups[g], i)
	}
	return groups
}
