package clip

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"

	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/imageproc"
	"github.com/groundbeam/groundbeam/model/ort"
)

// Defaults of Options.
const (
	// DefaultBatch is the most crops per image-tower run (CPU crops).
	DefaultBatch = 64
	// DefaultRegionBatch is the most boxes per region-graph run.
	DefaultRegionBatch = 256
	// DefaultRegionMaxSide bounds the longer side of the full image sent to
	// the region graph.
	DefaultRegionMaxSide = 1333
)

// DefaultScales returns ViLD's crop enlargements, 1.0 and 1.5: the
// default of Options.Scales.
func DefaultScales() []float64 { return []float64{1.0, 1.5} }

// Options configure an Encoder; nil means defaults.
type Options struct {
	// Scales are the crop enlargements whose embeddings are summed
	// (default ViLD's 1.0 and 1.5). Each must be positive and finite.
	Scales []float64
	// Batch is the most crops (CPU crops, default DefaultBatch) or boxes
	// (region graph, default DefaultRegionBatch) sent in one run. A run
	// holds Batch×3×224×224 floats of crops: 154 MB at 256.
	Batch int
	// CPUCrops forces the CPU path (crop, bicubic resize to the tower's
	// input, image tower) even when the bundle has a region graph. By
	// default a bundle's region graph is used when it has one.
	CPUCrops bool
	// RegionMaxSide bounds the longer side of the full image the region
	// graph receives (default DefaultRegionMaxSide; negative: never
	// resize). A larger image is downscaled once (bicubic, antialiased)
	// and its boxes scaled to match; a smaller one goes as it is, so
	// RoiAlign samples the original pixels. The cap bounds the upload and
	// the CPU work of normalising it at 1333×1000×3 floats (16 MB) per
	// image; a GLIP teacher sees at most 1333 px a side too, and RoiAlign
	// takes only 2×2 samples per output pixel, so it would alias a box
	// much larger than its 224 output anyway.
	RegionMaxSide int
	// Session are the ONNX Runtime settings.
	Session ort.Options
}

func (o *Options) withDefaults() (Options, error) {
	var r Options
	if o != nil {
		r = *o
	}
	if len(r.Scales) == 0 {
		r.Scales = DefaultScales()
	}
	for _, s := range r.Scales {
		if !(s > 0) || math.IsInf(s, 0) {
			return r, fmt.Errorf("clip encoder: crop scale %v must be positive and finite", s)
		}
	}
	r.Scales = append([]float64(nil), r.Scales...)
	if r.RegionMaxSide == 0 {
		r.RegionMaxSide = DefaultRegionMaxSide
	}
	return r, nil
}

// Encoder embeds image regions with a CLIP bundle, through its region
// graph when it has one (unless Options.CPUCrops) or else through CPU crops
// and its image tower. It is safe for concurrent use.
type Encoder struct {
	b      *bundle.Bundle
	tower  *ort.Session // the image tower, or the region graph when region
	region bool
	opts   Options
	size   int
	norm   imageproc.Norm
	uint8  bool // the graph takes uint8 NHWC pixels
}

// Open acquires from the process's session cache the graph the encoder
// uses: the bundle's region graph, or its image tower when the bundle has
// no region graph or opts.CPUCrops is set.
func Open(b *bundle.Bundle, opts *Options) (*Encoder, error) {
	m := b.Manifest
	if m.Kind != bundle.KindCLIP {
		return nil, fmt.Errorf("clip encoder: bundle %s is %q, not clip", b.Identity, m.Kind)
	}
	if m.EmbeddingDim <= 0 {
		return nil, fmt.Errorf("clip encoder: bundle %s has embedding_dim %d", b.Identity, m.EmbeddingDim)
	}
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	e := &Encoder{b: b, opts: o, size: m.Image.Size, region: m.RegionONNX != "" && !o.CPUCrops,
		norm:  imageproc.Norm{BGR: m.Image.ChannelOrder == "BGR", Scale: m.Image.Scale, Mean: m.Image.Mean, Std: m.Image.Std},
		uint8: m.Image.UInt8()}
	if e.size <= 0 {
		e.size = 224
	}
	var key ort.Key
	var ins, outs []string
	if e.region {
		key = ort.Key{Identity: b.Identity + "/region", Path: b.Path(m.RegionONNX), Options: o.Session}
		ins, outs = []string{m.Inputs[bundle.InImage], m.Inputs[bundle.InBoxes]}, []string{m.Outputs[bundle.OutRegionEmbeds]}
		if e.opts.Batch <= 0 {
			e.opts.Batch = DefaultRegionBatch
		}
	} else {
		key = ort.Key{Identity: b.Identity + "/image", Path: b.Path(m.ImageONNX), Options: o.Session}
		ins, outs = []string{m.Inputs[bundle.InImage]}, []string{m.Outputs[bundle.OutImageEmbeds]}
		if e.opts.Batch <= 0 {
			e.opts.Batch = DefaultBatch
		}
	}
	if e.tower, err = ort.Acquire(key, ins, outs); err != nil {
		return nil, fmt.Errorf("clip encoder: %w", err)
	}
	return e, nil
}

// Close releases the encoder's session.
func (e *Encoder) Close() { e.tower.Release() }

// Identity is the CLIP bundle's identity.
func (e *Encoder) Identity() string { return e.b.Identity }

// Dim is the embedding size.
func (e *Encoder) Dim() int { return e.b.Manifest.EmbeddingDim }

// RegionGraph reports whether Embed uses the bundle's region graph (true)
// or CPU crops and the image tower (false). The two agree closely but not
// bit for bit, so callers should record it with the embeddings.
func (e *Encoder) RegionGraph() bool { return e.region }

// Scales are the crop enlargements in use.
func (e *Encoder) Scales() []float64 { return append([]float64(nil), e.opts.Scales...) }

// Region is one box of one image to embed: a kept teacher box or an extra
// proposal alike. Regions of the same image should share the same *Image,
// so that the region graph receives it once.
type Region struct {
	Image *image.RGBA
	// Box is x1, y1, x2, y2 in the image's pixels.
	Box [4]float32
}

// Embed returns one L2-normalised embedding per region, in order: the
// embeddings of the region's crops at every scale (CropRect for CPU crops,
// CropBox for the region graph), each L2-normalised, summed and normalised
// again.
func (e *Encoder) Embed(ctx context.Context, regions []Region) ([][]float32, error) {
	for i, r := range regions {
		if r.Image == nil || r.Image.Rect.Empty() {
			return nil, fmt.Errorf("clip encoder: region %d has no image pixels", i)
		}
	}
	dim := e.Dim()
	out := make([][]float32, len(regions))
	flat := make([]float32, len(regions)*dim)
	for i := range out {
		out[i] = flat[i*dim : (i+1)*dim : (i+1)*dim]
	}
	var err error
	if e.region {
		err = e.embedRegionGraph(ctx, regions, out)
	} else {
		err = e.embedCrops(ctx, regions, out)
	}
	if err != nil {
		return nil, fmt.Errorf("clip encoder %s: %w", e.b.Identity, err)
	}
	for _, v := range out {
		Normalize(v)
	}
	return out, nil
}

// fillCrop writes the tower input of region r's crop at scale into dst
// (3·size·size floats): CropRect, antialiased bicubic resize to
// size×size, CLIP normalisation, in one pass over the crop's pixels.
func (e *Encoder) fillCrop(dst []float32, r Region, scale float64) {
	img := r.Image
	rect := CropRect(r.Box, scale, img.Rect.Dx(), img.Rect.Dy()).Add(img.Rect.Min)
	e.norm.ResizeNorm(dst, img, rect, e.size)
}

// fillCropHWC is fillCrop for a uint8 tower: the same crop and resize,
// rounded to whole levels, written HWC in the bundle's channel order into
// dst (3·size·size bytes).
func (e *Encoder) fillCropHWC(dst []uint8, r Region, scale float64) {
	img := r.Image
	rect := CropRect(r.Box, scale, img.Rect.Dx(), img.Rect.Dy()).Add(img.Rect.Min)
	e.norm.ResizeHWC(dst, img, rect, e.size)
}

// embedCrops is the CPU path: crops of up to Batch at a time through the
// image tower, each embedding normalised and added to its region's sum.
func (e *Encoder) embedCrops(ctx context.Context, regions []Region, out [][]float32) error {
	px := 3 * e.size * e.size
	n := len(regions) * len(e.opts.Scales)
	var buf []float32 // [N,3,size,size], or for a uint8 tower
	var buf8 []uint8  // [N,size,size,3]
	if e.uint8 {
		buf8 = make([]uint8, min(n, e.opts.Batch)*px)
	} else {
		buf = make([]float32, min(n, e.opts.Batch)*px)
	}
	owners := make([]int, 0, min(n, e.opts.Batch))
	flush := func() error {
		if len(owners) == 0 {
			return nil
		}
		k := len(owners)
		s := int64(e.size)
		var in ort.Tensor
		if e.uint8 {
			in = ort.Tensor{Shape: []int64{int64(k), s, s, 3}, U8: buf8[:k*px]}
		} else {
			in = ort.Tensor{Shape: []int64{int64(k), 3, s, s}, F32: buf[:k*px]}
		}
		res, err := e.tower.Run(ctx, []ort.Tensor{in})
		if err != nil {
			return err
		}
		if err := accumulate(res[0], owners, out, "image tower"); err != nil {
			return err
		}
		owners = owners[:0]
		return nil
	}
	for i, r := range regions {
		if err := ctx.Err(); err != nil {
			return err
		}
		for _, s := range e.opts.Scales {
			k := len(owners)
			if e.uint8 {
				e.fillCropHWC(buf8[k*px:(k+1)*px], r, s)
			} else {
				e.fillCrop(buf[k*px:(k+1)*px], r, s)
			}
			owners = append(owners, i)
			if len(owners) == e.opts.Batch {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	return flush()
}

// accumulate checks that emb is [len(owners), D], normalises each row and
// adds row k to out[owners[k]].
func accumulate(emb ort.Tensor, owners []int, out [][]float32, graph string) error {
	if len(out) == 0 {
		return errors.New("no regions")
	}
	dim := len(out[0])
	if len(emb.Shape) != 2 || int(emb.Shape[0]) != len(owners) || int(emb.Shape[1]) != dim || len(emb.F32) != len(owners)*dim {
		return fmt.Errorf("%s returned shape %v, want [%d %d]", graph, emb.Shape, len(owners), dim)
	}
	for k, i := range owners {
		v := emb.F32[k*dim : (k+1)*dim]
		Normalize(v)
		dst := out[i]
		for d, x := range v {
			dst[d] += x
		}
	}
	return nil
}
