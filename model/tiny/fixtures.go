package tiny

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/groundbeam/groundbeam/model/bpe"
	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/glip"
	"github.com/groundbeam/groundbeam/model/ort"
	"github.com/groundbeam/groundbeam/model/wordpiece"
)

// FixturesSource is the tiny bundles' fixtures.json "source": their
// references are ONNX Runtime's outputs at generation time, not an
// original model's.
const FixturesSource = "groundbeam model/tiny: ONNX Runtime (CPU provider, one thread) when the bundle was written"

// Tolerances of the tiny bundles' fixtures: the references are float32
// outputs of the same graphs, so on the CPU they agree to about 1e-6; the
// margin is for other providers (TF32 matrix products on a GPU). The
// grounding logits reach ±10, so their case gets ten times more.
const (
	fixtureTolerance       = 1e-3
	fixtureLogitsTolerance = 1e-2
)

// Texts of the tiny bundles' fixtures.
var (
	teacherTokenTexts = []string{"a cat. a remote.", "Two DOGS playing with a Frisbee!", "zebra, giraffe; élan"}
	clipTokenTexts    = []string{"a photo of a cat", "A diagram of an AIRPLANE.", "two dogs, one frisbee"}
	groundingCaption  = "a cat. a remote."
	clipTexts         = []string{"a photo of a cat", "a diagram of a red square"}
	regionBoxes       = [][]float32{{10, 20, 100, 120}, {0, 0, CLIPImageSize, CLIPImageSize}, {50.5, 60.25, 180, 200}}
)

// clipTokenizer is CLIP's tokenizer of the merges file the tiny CLIP
// bundle holds (bpe.DefaultVocab), parsed once: it is safe for concurrent
// use.
var clipTokenizer = sync.OnceValues(bpe.Default)

// startORT makes sure the process's ONNX Runtime environment exists, for
// computing references: an existing one is used as it is, else the
// library is found as ort.Start finds it (lib first).
func startORT(lib string) error {
	if ort.Initialized() {
		return nil
	}
	if err := ort.Start(lib); err != nil {
		return fmt.Errorf("tiny fixtures need onnx runtime to compute their references: %w", err)
	}
	return nil
}

// writeWithFixtures is bundle.Write with fixtures: it adds fixtures.json,
// and the fixture images under fixtures/, to m and files, the references
// computed by running the graphs in files (as m declares them) with ONNX
// Runtime's CPU provider on one thread.
func writeWithFixtures(dir string, m bundle.Manifest, files map[string][]byte) (*bundle.Bundle, error) {
	var f *bundle.Fixtures
	var images map[string][]byte
	var err error
	switch m.Kind {
	case bundle.KindGrounding:
		f, images, err = groundingFixtures(m, files)
	case bundle.KindCLIP:
		f, images, err = clipFixtures(m, files)
	default:
		err = fmt.Errorf("kind %q", m.Kind)
	}
	if err != nil {
		return nil, fmt.Errorf("fixtures of %s: %w", m.Name, err)
	}
	raw, err := json.MarshalIndent(f, "", " ")
	if err != nil {
		return nil, fmt.Errorf("fixtures of %s: %w", m.Name, err)
	}
	all := make(map[string][]byte, len(files)+len(images)+1)
	for n, b := range files {
		all[n] = b
	}
	for n, b := range images {
		all[n] = b
	}
	all[bundle.FixturesFile] = append(raw, '\n')
	m.Fixtures = bundle.FixturesFile
	return bundle.Write(dir, m, all)
}

// groundingFixtures are the teacher's: WordPiece token fixtures, and the
// boxes and logits of a caption on an image at a size the resize rule
// leaves as it is (none when the rule has no such size without padding).
func groundingFixtures(m bundle.Manifest, files map[string][]byte) (*bundle.Fixtures, map[string][]byte, error) {
	f := &bundle.Fixtures{FormatVersion: bundle.FixturesVersion, Source: FixturesSource, Tolerance: fixtureTolerance}
	vocab, err := wordpiece.New(splitLines(files[m.Text.Vocab]), &wordpiece.Options{Lowercase: m.Text.Lowercase})
	if err != nil {
		return nil, nil, err
	}
	for _, s := range teacherTokenTexts {
		f.Tokens = append(f.Tokens, bundle.TokenFixture{Text: s, IDs: vocab.Encode(s).IDs})
	}
	w, h, ok := groundingFixtureSize(m.Image)
	if !ok {
		return f, nil, nil
	}
	const name = "fixtures/scene.png"
	img, raw, err := fixtureImage(w, h, 1)
	if err != nil {
		return nil, nil, err
	}
	// The teacher's caption prompt is the caption itself (default
	// parameters), tokenized with the bundle's token limit.
	tok, err := wordpiece.New(splitLines(files[m.Text.Vocab]), &wordpiece.Options{Lowercase: m.Text.Lowercase, MaxTokens: m.Text.MaxTokens})
	if err != nil {
		return nil, nil, err
	}
	ids := tok.Encode(groundingCaption).IDs
	t := int64(len(ids))
	byRole := map[string]ort.Tensor{
		bundle.InImage:         imageTensor(img, m.Image),
		bundle.InInputIDs:      {Shape: []int64{1, t}, I64: ids},
		bundle.InAttentionMask: {Shape: []int64{1, t}, I64: ones(len(ids))},
		bundle.InPixelMask:     {Shape: []int64{1, int64(h), int64(w)}, I64: ones(w * h)},
		bundle.InTokenTypeIDs:  {Shape: []int64{1, t}, I64: make([]int64, len(ids))},
	}
	outRoles := []string{bundle.OutBoxes, bundle.OutLogits}
	outs, err := runGraph(m, files[m.ONNX], byRole, outRoles)
	if err != nil {
		return nil, nil, err
	}
	logitsTol := fixtureLogitsTolerance
	f.Cases = append(f.Cases,
		bundle.Case{Name: "ground-boxes", Graph: bundle.GraphGrounding, Image: name, Text: groundingCaption, Output: bundle.OutBoxes,
			Shape: outs[0].Shape, Values: outs[0].F32},
		bundle.Case{Name: "ground-logits", Graph: bundle.GraphGrounding, Image: name, Text: groundingCaption, Output: bundle.OutLogits,
			Shape: outs[1].Shape, Values: outs[1].F32, Tolerance: &logitsTol})
	return f, map[string][]byte{name: raw}, nil
}

// clipFixtures are the CLIP bundle's: BPE token fixtures, an image
// tower case, text tower cases and a region graph case with boxes inside,
// across and along the edge of the image.
func clipFixtures(m bundle.Manifest, files map[string][]byte) (*bundle.Fixtures, map[string][]byte, error) {
	f := &bundle.Fixtures{FormatVersion: bundle.FixturesVersion, Source: FixturesSource, Tolerance: fixtureTolerance}
	tok, err := clipTokenizer()
	if err != nil {
		return nil, nil, err
	}
	for _, s := range clipTokenTexts {
		f.Tokens = append(f.Tokens, bundle.TokenFixture{Text: s, IDs: tok.Encode(s)})
	}
	const name = "fixtures/image0.png"
	size := m.Image.Size
	img, raw, err := fixtureImage(size, size, 2)
	if err != nil {
		return nil, nil, err
	}
	pix := imageTensor(img, m.Image)
	outs, err := runGraph(m, files[m.ImageONNX], map[string]ort.Tensor{bundle.InImage: pix}, []string{bundle.OutImageEmbeds})
	if err != nil {
		return nil, nil, err
	}
	f.Cases = append(f.Cases, bundle.Case{Name: "image0", Graph: bundle.GraphImage, Image: name, Output: bundle.OutImageEmbeds,
		Shape: outs[0].Shape, Values: outs[0].F32})
	ctxLen := m.Text.ContextLength
	ids := make([]int64, 0, len(clipTexts)*ctxLen)
	for _, s := range clipTexts {
		row, _ := tok.EncodePadded(s, ctxLen)
		ids = append(ids, row...)
	}
	outs, err = runGraph(m, files[m.TextONNX], map[string]ort.Tensor{bundle.InInputIDs: {Shape: []int64{int64(len(clipTexts)), int64(ctxLen)}, I64: ids}},
		[]string{bundle.OutTextEmbeds})
	if err != nil {
		return nil, nil, err
	}
	dim := len(outs[0].F32) / len(clipTexts)
	for i, s := range clipTexts {
		f.Cases = append(f.Cases, bundle.Case{Name: fmt.Sprintf("text%d", i), Graph: bundle.GraphText, Text: s, Output: bundle.OutTextEmbeds,
			Shape: []int64{1, int64(dim)}, Values: outs[0].F32[i*dim : (i+1)*dim]})
	}
	boxes := make([]float32, 0, 4*len(regionBoxes))
	for _, b := range regionBoxes {
		boxes = append(boxes, b...)
	}
	outs, err = runGraph(m, files[m.RegionONNX], map[string]ort.Tensor{
		bundle.InImage: pix, bundle.InBoxes: {Shape: []int64{int64(len(regionBoxes)), 4}, F32: boxes},
	}, []string{bundle.OutRegionEmbeds})
	if err != nil {
		return nil, nil, err
	}
	f.Cases = append(f.Cases, bundle.Case{Name: "region0", Graph: bundle.GraphRegion, Image: name, Boxes: regionBoxes,
		Output: bundle.OutRegionEmbeds, Shape: outs[0].Shape, Values: outs[0].F32})
	return f, map[string][]byte{name: raw}, nil
}

// runGraph runs a graph once with the inputs of byRole that the manifest
// maps (in a fixed order) and returns the outputs of outRoles.
func runGraph(m bundle.Manifest, graph []byte, byRole map[string]ort.Tensor, outRoles []string) ([]ort.Tensor, error) {
	var names []string
	var inputs []ort.Tensor
	for _, role := range []string{bundle.InImage, bundle.InInputIDs, bundle.InAttentionMask, bundle.InPixelMask, bundle.InTokenTypeIDs, bundle.InBoxes} {
		t, ok := byRole[role]
		if n := m.Inputs[role]; ok && n != "" {
			names = append(names, n)
			inputs = append(inputs, t)
		}
	}
	outNames := make([]string, len(outRoles))
	for i, r := range outRoles {
		outNames[i] = m.Outputs[r]
	}
	return ort.RunOnce(context.Background(), m.Name+" fixtures", graph, ort.Options{IntraOpThreads: 1}, names, outNames, inputs)
}

// imageTensor is the graph input of img, [1,3,H,W] float32 normalised as
// spec says ((pixel·scale/255 − mean)/std, in float64) or, for a uint8
// graph, [1,H,W,3] raw pixels; both in spec's channel order. It is written
// here, not taken from model/imageproc, so that the fixtures check the
// jobs' preparation against a second implementation.
func imageTensor(img *image.RGBA, spec bundle.ImageSpec) ort.Tensor {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	order := [3]int{0, 1, 2}
	if spec.ChannelOrder == "BGR" {
		order = [3]int{2, 1, 0}
	}
	if spec.UInt8() {
		u8 := make([]uint8, 0, 3*w*h)
		for y := range h {
			for x := range w {
				p := img.Pix[img.PixOffset(x, y):]
				u8 = append(u8, p[order[0]], p[order[1]], p[order[2]])
			}
		}
		return ort.Tensor{Shape: []int64{1, int64(h), int64(w), 3}, U8: u8}
	}
	k := float64(spec.Scale) / 255
	if spec.Scale == 0 {
		k = 1
	}
	f32 := make([]float32, 3*w*h)
	for c := range 3 {
		mean, std := float64(spec.Mean[c]), float64(spec.Std[c])
		for y := range h {
			for x := range w {
				p := float64(img.Pix[img.PixOffset(x, y)+order[c]])
				f32[(c*h+y)*w+x] = float32((p*k - mean) / std)
			}
		}
	}
	return ort.Tensor{Shape: []int64{1, 3, int64(h), int64(w)}, F32: f32}
}

// groundingFixtureSize picks a w×h that the teacher's resize rule maps to
// itself with no padding: the short side at shortest_edge and the long one
// the next multiple of pad_multiple up when there is one, else the largest
// such size up to max_size.
func groundingFixtureSize(spec bundle.ImageSpec) (w, h int, ok bool) {
	pad := max(spec.PadMultiple, 1)
	limit := spec.MaxSize
	if limit <= 0 {
		limit = 2 * spec.ShortestEdge
	}
	fixed := func(w, h int) bool {
		nw, nh := glip.InputSize(w, h, spec.ShortestEdge, spec.MaxSize)
		return nw == w && nh == h && w%pad == 0 && h%pad == 0
	}
	if h := spec.ShortestEdge; h%pad == 0 {
		for w := h + pad; w <= limit; w += pad {
			if fixed(w, h) {
				return w, h, true
			}
		}
	}
	best := 0
	for hh := pad; hh <= limit; hh += pad {
		for ww := hh; ww <= limit; ww += pad {
			if fixed(ww, hh) && ww*hh > best {
				best, w, h, ok = ww*hh, ww, hh, true
			}
		}
	}
	return w, h, ok
}

// fixtureImage draws a deterministic test scene of w×h (a gradient, a few
// rectangles and a disc, some noise) and returns it with its PNG bytes.
func fixtureImage(w, h int, seed uint64) (*image.RGBA, []byte, error) {
	r := rand.New(rand.NewPCG(seed, 0x6669787475726573))
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	type rect struct {
		x0, y0, x1, y1 int
		c              color.RGBA
	}
	rects := make([]rect, 4)
	for i := range rects {
		x0, y0 := r.IntN(w*3/4), r.IntN(h*3/4)
		rects[i] = rect{x0, y0, x0 + 8 + r.IntN(w/2), y0 + 8 + r.IntN(h/2),
			color.RGBA{uint8(r.IntN(256)), uint8(r.IntN(256)), uint8(r.IntN(256)), 255}}
	}
	cx, cy, rad := float64(w)*0.6, float64(h)*0.4, float64(min(w, h))/5
	for y := range h {
		for x := range w {
			c := color.RGBA{uint8(255 * x / w), uint8(255 * y / h), uint8(128 + 100*math.Sin(float64(x+y)/17)), 255}
			for _, q := range rects {
				if x >= q.x0 && x < q.x1 && y >= q.y0 && y < q.y1 {
					c = q.c
				}
			}
			if dx, dy := float64(x)-cx, float64(y)-cy; dx*dx+dy*dy < rad*rad {
				c = color.RGBA{250, 240, 30, 255}
			}
			n := r.IntN(17) - 8
			c.R, c.G, c.B = clampByte(int(c.R)+n), clampByte(int(c.G)-n), clampByte(int(c.B)+n/2)
			img.SetRGBA(x, y, c)
		}
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&buf, img); err != nil {
		return nil, nil, fmt.Errorf("fixture image: %w", err)
	}
	return img, buf.Bytes(), nil
}

func clampByte(v int) uint8 { return uint8(max(0, min(v, 255))) }

func ones(n int) []int64 {
	s := make([]int64, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

// splitLines splits a vocabulary file into its lines.
func splitLines(raw []byte) []string {
	return strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n")
}
