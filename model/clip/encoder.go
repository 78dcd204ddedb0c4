package clip

import (
	"context"
	"errors"
	"fmt"
	"image"

	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/imageproc"
	"github.com/groundbeam/groundbeam/model/ort"
)

// Options configure an Encoder; nil means defaults.
type Options struct {
	// Scales are the crop enlargements whose embeddings are summed
	// (ViLD: 1.0 and 1.5).
	Scales []float64
	// Batch is the most crops sent to the image tower at once (default 64).
	Batch int
	// Session are the ONNX Runtime settings.
	Session ort.Options
}

func (o *Options) withDefaults() Options {
	var r Options
	if o != nil {
		r = *o
	}
	if len(r.Scales) == 0 {
		r.Scales = []float64{1.0, 1.5}
	}
	if r.Batch <= 0 {
		r.Batch = 64
	}
	return r
}

// Encoder embeds image regions with a CLIP bundle's image tower.
type Encoder struct {
	b     *bundle.Bundle
	image *ort.Session
	opts  Options
	size  int
	norm  imageproc.Norm
}

// Open acquires the bundle's image tower from the process's session cache.
func Open(b *bundle.Bundle, opts *Options) (*Encoder, error) {
	m := b.Manifest
	if m.Kind != bundle.KindCLIP {
		return nil, fmt.Errorf("clip encoder: bundle %s is %q, not clip", b.Identity, m.Kind)
	}
	o := opts.withDefaults()
	s, err := ort.Acquire(ort.Key{Identity: b.Identity + "/image", Path: b.Path(m.ImageONNX), Options: o.Session},
		[]string{m.Inputs[bundle.InImage]}, []string{m.Outputs[bundle.OutImageEmbeds]})
	if err != nil {
		return nil, fmt.Errorf("clip encoder: %w", err)
	}
	size := m.Image.Size
	if size <= 0 {
		size = 224
	}
	return &Encoder{b: b, image: s, opts: o, size: size, norm: imageproc.Norm{
		BGR: m.Image.ChannelOrder == "BGR", Scale: m.Image.Scale, Mean: m.Image.Mean, Std: m.Image.Std}}, nil
}

// Close releases the encoder's sessions.
func (e *Encoder) Close() { e.image.Release() }

// Identity is the CLIP bundle's identity.
func (e *Encoder) Identity() string { return e.b.Identity }

// Dim is the embedding size.
func (e *Encoder) Dim() int { return e.b.Manifest.EmbeddingDim }

// Region is one box of one image to embed.
type Region struct {
	Image *image.RGBA
	Box   [4]float32
}

// Embed returns one L2-normalised embedding per region: the image tower's
// embeddings of the region's crops at every scale, each normalised,
// summed and normalised again.
func (e *Encoder) Embed(ctx context.Context, regions []Region) ([][]float32, error) {
	out := make([][]float32, len(regions))
	dim := e.Dim()
	for i := range out {
		out[i] = make([]float32, dim)
	}
	type job struct{ region int }
	var pending []job
	px := e.size * e.size * 3
	buf := make([]float32, 0, e.opts.Batch*px)
	flush := func() error {
		if len(pending) == 0 {
			return nil
		}
		res, err := e.image.Run(ctx, []ort.Tensor{{Shape: []int64{int64(len(pending)), 3, int64(e.size), int64(e.size)}, F32: buf}})
		if err != nil {
			return err
		}
		emb := res[0]
		if len(emb.Shape) != 2 || int(emb.Shape[0]) != len(pending) || int(emb.Shape[1]) != dim {
			return fmt.Errorf("clip image tower returned shape %v, want [%d %d]", emb.Shape, len(pending), dim)
		}
		for k, j := range pending {
			v := emb.F32[k*dim : (k+1)*dim]
			Normalize(v)
			for d := range dim {
				out[j.region][d] += v[d]
			}
		}
		pending = pending[:0]
		buf = buf[:0]
		return nil
	}
	for i, r := range regions {
		for _, s := range e.opts.Scales {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			rect := CropRect(r.Box, s, r.Image.Rect.Dx(), r.Image.Rect.Dy())
			crop := imageproc.Resize(r.Image.SubImage(rect), e.size, e.size, true)
			n := len(buf)
			buf = append(buf, make([]float32, px)...)
			e.norm.Fill(buf[n:], e.size, e.size, crop)
			pending = append(pending, job{i})
			if len(pending) == e.opts.Batch {
				if err := flush(); err != nil {
					return nil, err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	for _, v := range out {
		Normalize(v)
	}
	if len(regions) > 0 && len(out[0]) == 0 {
		return nil, errors.New("clip encoder: zero embedding size")
	}
	return out, nil
}
