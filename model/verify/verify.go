// Package verify checks a model bundle against its fixtures
// (bundle.Fixtures): reference tokenizations and graph outputs recorded
// where the bundle was made, by PyTorch for an exported bundle.
//
// Each token fixture's text goes through the Go tokenizer the bundle
// names (model/wordpiece, without a token limit, or model/bpe), and its ids
// must equal the reference exactly. Each case goes through the code the
// jobs run: its text through the same tokenization (a grounding caption
// through the teacher's caption prompt encoding), its image through the
// same preparation (model/teacher, model/clip: normalisation or uint8
// layout, channel order, NCHW or NHWC), and the graph through an ONNX
// Runtime session from the process's cache, with the provider and device
// of Options.Session. The output the case names must have the reference's
// shape, and every value must be within the case's tolerance of the
// reference.
//
// A fixture image is stored at a size the preparation leaves unchanged
// (a fixed point of its resize), so that the check covers everything but
// resampling; Verify refuses one that is not, with ErrNotFixedPoint:
//
//   - image cases: the tower's input size, image.size × image.size
//     (224 when unset);
//   - region cases: any size with neither side over
//     clip.DefaultRegionMaxSide;
//   - grounding cases: a size that glip.InputSize maps to itself under
//     image.shortest_edge and image.max_size, with both sides multiples of
//     image.pad_multiple (no padding).
package verify

import (
	"context"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/groundbeam/groundbeam/model/bpe"
	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/clip"
	"github.com/groundbeam/groundbeam/model/glip"
	"github.com/groundbeam/groundbeam/model/imageproc"
	"github.com/groundbeam/groundbeam/model/ort"
	"github.com/groundbeam/groundbeam/model/teacher"
	"github.com/groundbeam/groundbeam/model/wordpiece"
)

// ErrNotFixedPoint marks a fixture image whose size the graph's
// preparation would change: its reference cannot be compared.
var ErrNotFixedPoint = errors.New("fixture image is not at a size the preprocessing leaves unchanged")

// Options configure Verify; nil means defaults.
type Options struct {
	// Session are the ONNX Runtime settings (provider, device, threads)
	// the cases run with.
	Session ort.Options
}

// TokenResult is the outcome of one token fixture.
type TokenResult struct {
	Text string
	// Want are the reference ids, Got the Go tokenizer's.
	Want, Got []int64
	// Position is the first position where Got and Want differ (where
	// the shorter ends, when one is a prefix of the other), -1 when they
	// are equal.
	Position int
	OK       bool
}

// CaseResult is the outcome of one case.
type CaseResult struct {
	Name, Graph, Output string
	// Shape is the output's shape as the graph returned it.
	Shape []int64
	// MaxAbsDiff is the largest absolute difference between an output
	// value and its reference: +Inf when the shapes differ or a value is
	// NaN on one side only.
	MaxAbsDiff float64
	// At is the flat index of that difference (-1 when the shapes differ).
	At int
	// Tolerance is the largest difference the case accepts.
	Tolerance float64
	OK        bool
	// Problem says why the case failed when it is not the difference
	// alone (a shape mismatch).
	Problem string
}

// Report is the outcome of Verify.
type Report struct {
	// Identity is the bundle's identity.
	Identity string
	// Source and Parity are the fixtures' own: where the references come
	// from, and the export-time difference between the ONNX graph and the
	// original model per output role.
	Source string
	Parity map[string]float64
	Tokens []TokenResult
	Cases  []CaseResult
}

// Failed counts the token fixtures and cases that failed.
func (r *Report) Failed() int {
	n := 0
	for _, t := range r.Tokens {
		if !t.OK {
			n++
		}
	}
	for _, c := range r.Cases {
		if !c.OK {
			n++
		}
	}
	return n
}

// OK reports whether every fixture passed.
func (r *Report) OK() bool { return r.Failed() == 0 }

// Summary is one line: how many fixtures passed, and which failed.
func (r *Report) Summary() string {
	total := len(r.Tokens) + len(r.Cases)
	if r.OK() {
		return fmt.Sprintf("%s: all %d fixtures ok (%d token, %d output)", r.Identity, total, len(r.Tokens), len(r.Cases))
	}
	var failed []string
	for _, t := range r.Tokens {
		if !t.OK {
			failed = append(failed, fmt.Sprintf("tokens %q", t.Text))
		}
	}
	for _, c := range r.Cases {
		if !c.OK {
			failed = append(failed, c.Name)
		}
	}
	return fmt.Sprintf("%s: %d of %d fixtures failed: %s", r.Identity, len(failed), total, strings.Join(failed, ", "))
}

// Verify checks bundle b against its fixtures (see the package
// documentation). A fixture that does not match is a failure in the
// report; an error means the bundle could not be checked: no or invalid
// fixtures, an undecodable fixture image or one at the wrong size
// (ErrNotFixedPoint), a graph that does not run. The process's ONNX
// Runtime environment must exist (ort.Init) when there are cases.
func Verify(ctx context.Context, b *bundle.Bundle, opts *Options) (*Report, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	f, err := bundle.LoadFixtures(b)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	r := &Report{Identity: b.Identity, Source: f.Source, Parity: f.Parity}
	if len(f.Tokens) > 0 {
		encode, err := tokenizer(b)
		if err != nil {
			return nil, fmt.Errorf("verify %s: %w", b.Identity, err)
		}
		for _, t := range f.Tokens {
			got := encode(t.Text)
			pos := firstDiff(got, t.IDs)
			r.Tokens = append(r.Tokens, TokenResult{Text: t.Text, Want: t.IDs, Got: got, Position: pos, OK: pos < 0})
		}
	}
	if len(f.Cases) == 0 {
		return r, nil
	}
	rn := &runner{b: b, session: o.Session, images: map[string]*image.RGBA{}}
	defer rn.close()
	for _, c := range f.Cases {
		out, err := rn.run(ctx, c)
		if err != nil {
			return nil, fmt.Errorf("verify %s: case %q: %w", b.Identity, c.Name, err)
		}
		r.Cases = append(r.Cases, compare(c, f.CaseTolerance(c), out))
	}
	return r, nil
}

// tokenizer returns the bundle's tokenizer as a token fixture is checked
// against: the full output, special tokens included, no padding or limit.
func tokenizer(b *bundle.Bundle) (func(string) []int64, error) {
	m := b.Manifest
	if m.Text.Vocab == "" {
		return nil, errors.New("token fixtures, but model.json names no text.vocab")
	}
	switch m.Text.Tokenizer {
	case "wordpiece":
		tok, err := wordpiece.Load(b.Path(m.Text.Vocab), &wordpiece.Options{Lowercase: m.Text.Lowercase})
		if err != nil {
			return nil, err
		}
		return func(s string) []int64 { return tok.Encode(s).IDs }, nil
	case "clip_bpe":
		tok, err := bpe.Load(b.Path(m.Text.Vocab))
		if err != nil {
			return nil, err
		}
		return tok.Encode, nil
	}
	return nil, fmt.Errorf("token fixtures, but text.tokenizer %q is not wordpiece or clip_bpe", m.Text.Tokenizer)
}

// firstDiff is the first position where a and b differ, -1 if equal.
func firstDiff(a, b []int64) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// compare measures an output against a case's reference.
func compare(c bundle.Case, tol float64, out ort.Tensor) CaseResult {
	res := CaseResult{Name: c.Name, Graph: c.Graph, Output: c.Output, Shape: out.Shape, Tolerance: tol, At: -1}
	if !slices.Equal(out.Shape, c.Shape) || len(out.F32) != len(c.Values) {
		res.MaxAbsDiff = math.Inf(1)
		res.Problem = fmt.Sprintf("output shape %v, reference %v", out.Shape, c.Shape)
		return res
	}
	for i, v := range out.F32 {
		d := math.Abs(float64(v) - float64(c.Values[i]))
		if math.IsNaN(d) {
			if math.IsNaN(float64(v)) && math.IsNaN(float64(c.Values[i])) {
				continue
			}
			d = math.Inf(1)
		}
		if d > res.MaxAbsDiff || res.At < 0 {
			res.MaxAbsDiff, res.At = d, i
		}
	}
	res.OK = res.MaxAbsDiff <= tol
	return res
}

// runner runs cases, opening each graph's encoder on first use.
type runner struct {
	b       *bundle.Bundle
	session ort.Options
	images  map[string]*image.RGBA
	teacher *teacher.Teacher
	tower   *clip.Encoder // the image tower (CPU crops)
	region  *clip.Encoder // the region graph
	text    *clip.TextEncoder
}

func (rn *runner) close() {
	if rn.teacher != nil {
		rn.teacher.Close()
	}
	for _, e := range []*clip.Encoder{rn.tower, rn.region} {
		if e != nil {
			e.Close()
		}
	}
	if rn.text != nil {
		rn.text.Close()
	}
}

// run runs one case and returns the output it names.
func (rn *runner) run(ctx context.Context, c bundle.Case) (ort.Tensor, error) {
	var img *image.RGBA
	if c.Image != "" {
		var err error
		if img, err = rn.image(c.Image); err != nil {
			return ort.Tensor{}, err
		}
		if err := rn.fixedPoint(c, img.Rect.Dx(), img.Rect.Dy()); err != nil {
			return ort.Tensor{}, err
		}
	}
	var err error
	switch c.Graph {
	case bundle.GraphGrounding:
		if rn.teacher == nil {
			if rn.teacher, err = teacher.Open(rn.b, &teacher.Options{Session: rn.session}); err != nil {
				return ort.Tensor{}, err
			}
		}
		outs, err := rn.teacher.Forward(ctx, img, rn.teacher.EncodeCaption(c.Text))
		if err != nil {
			return ort.Tensor{}, err
		}
		out, ok := outs[c.Output]
		if !ok {
			return ort.Tensor{}, fmt.Errorf("the grounding graph has no %s output here", c.Output)
		}
		return out, nil
	case bundle.GraphImage:
		if rn.tower == nil {
			if rn.tower, err = clip.Open(rn.b, &clip.Options{CPUCrops: true, Session: rn.session}); err != nil {
				return ort.Tensor{}, err
			}
		}
		return rn.tower.ForwardImage(ctx, img)
	case bundle.GraphRegion:
		if rn.region == nil {
			if rn.region, err = clip.Open(rn.b, &clip.Options{Session: rn.session}); err != nil {
				return ort.Tensor{}, err
			}
		}
		boxes := make([][4]float32, len(c.Boxes))
		for i, bx := range c.Boxes {
			boxes[i] = [4]float32(bx)
		}
		return rn.region.ForwardRegions(ctx, img, boxes)
	case bundle.GraphText:
		if rn.text == nil {
			if rn.text, err = clip.OpenText(rn.b, &clip.TextOptions{Session: rn.session}); err != nil {
				return ort.Tensor{}, err
			}
		}
		return rn.text.ForwardTexts(ctx, []string{c.Text})
	}
	return ort.Tensor{}, fmt.Errorf("graph %q", c.Graph) // ParseFixtures refuses it
}

// image decodes a fixture image as the jobs decode images, once.
func (rn *runner) image(name string) (*image.RGBA, error) {
	if img, ok := rn.images[name]; ok {
		return img, nil
	}
	raw, err := os.ReadFile(rn.b.Path(name))
	if err != nil {
		return nil, fmt.Errorf("fixture image: %w", err)
	}
	img, err := imageproc.Decode(raw, 0)
	if err != nil {
		return nil, fmt.Errorf("fixture image %s: %w", name, err)
	}
	rn.images[name] = img
	return img, nil
}

// fixedPoint checks that the case's graph prepares a w×h image without
// resizing or padding it.
func (rn *runner) fixedPoint(c bundle.Case, w, h int) error {
	im := rn.b.Manifest.Image
	switch c.Graph {
	case bundle.GraphImage:
		size := im.Size
		if size <= 0 {
			size = 224
		}
		if w != size || h != size {
			return fmt.Errorf("%w: %s is %d×%d, the image tower's input is %d×%d", ErrNotFixedPoint, c.Image, w, h, size, size)
		}
	case bundle.GraphRegion:
		if max(w, h) > clip.DefaultRegionMaxSide {
			return fmt.Errorf("%w: %s is %d×%d, and the region graph gets images downscaled to %d px a side",
				ErrNotFixedPoint, c.Image, w, h, clip.DefaultRegionMaxSide)
		}
	case bundle.GraphGrounding:
		nw, nh := glip.InputSize(w, h, im.ShortestEdge, im.MaxSize)
		pw, ph := imageproc.RoundUp(nw, im.PadMultiple), imageproc.RoundUp(nh, im.PadMultiple)
		if nw != w || nh != h || pw != w || ph != h {
			return fmt.Errorf("%w: %s is %d×%d, which the teacher resizes to %d×%d (shortest_edge %d, max_size %d) and pads to %d×%d (pad_multiple %d)",
				ErrNotFixedPoint, c.Image, w, h, nw, nh, im.ShortestEdge, im.MaxSize, pw, ph, im.PadMultiple)
		}
	}
	return nil
}
