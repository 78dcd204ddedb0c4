package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/imageproc"
	"github.com/groundbeam/groundbeam/model/ort"
)

// Synthetic grounding prompt tokens (BERT's [CLS], [SEP] and ".").
const (
	benchCLS    = 101
	benchSEP    = 102
	benchPeriod = 1012
)

// benchSeed seeds the synthetic batch, so every run times the same data.
const benchSeed = 20240611

// maxBenchElements bounds the synthetic image tensor (batch × 3 × H × W).
const maxBenchElements = 1 << 31

// benchSessionConfig is what bench-session's flags ask for.
type benchSessionConfig struct {
	bundleDir     string
	graph         string
	batch, iters  int
	warmup        int
	height, width int
	tokens        int
	checkCPU      bool
	lib           string
	session       ort.Options
}

// benchResult is bench-session's JSON line (bench/gpu/README.md).
type benchResult struct {
	Graph      string  `json:"graph"`
	Provider   string  `json:"provider"`
	Batch      int     `json:"batch"`
	Iters      int     `json:"iters"`
	Height     int     `json:"height"`
	Width      int     `json:"width"`
	ImagesPerS float64 `json:"images_per_s"`
	MsPerBatch float64 `json:"ms_per_batch"`
	// MaxAbsDiffCPU is set with --check-cpu, null otherwise.
	MaxAbsDiffCPU *float64 `json:"max_abs_diff_cpu"`
}

// benchGraph is the graph of a bundle bench-session times.
type benchGraph struct {
	file     string
	identity string
	roles    []string // input roles, in the session's order
	ins      []string
	outs     []string // the first is the one --check-cpu compares
}

// runBenchSession is `bench-session`: one graph of a bundle, one session
// with the chosen provider, timed on a deterministic synthetic batch.
func runBenchSession(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("bench-session", "--bundle DIR --graph image|grounding --batch N --iters N [flags]",
		`  groundbeam bench-session --bundle models/clip-b32 --graph image --batch 256 --iters 50 --provider cuda --check-cpu
  groundbeam bench-session --bundle models/gdino-t --graph grounding --batch 8 --iters 10 \
      --height 800 --width 1344 --tokens 32 --provider cuda --ort-ep-lib /opt/ort/libonnxruntime_providers_cuda.so

Prints one JSON line on stdout: graph, provider, batch, iters, height,
width, images_per_s, ms_per_batch and max_abs_diff_cpu (null without
--check-cpu). The contract is in bench/gpu/README.md.`, stderr)
	var cfg benchSessionConfig
	fs.StringVar(&cfg.bundleDir, "bundle", "", "model bundle folder")
	fs.StringVar(&cfg.graph, "graph", "", "graph to time: image (a clip bundle's image_onnx) or grounding (a grounding bundle's onnx)")
	fs.IntVar(&cfg.batch, "batch", 0, "images per run")
	fs.IntVar(&cfg.iters, "iters", 0, "timed runs")
	fs.IntVar(&cfg.warmup, "warmup", 3, "untimed runs before the timed ones")
	fs.IntVar(&cfg.height, "height", 0, "image height (default: image.size for image, shortest_edge rounded up to pad_multiple for grounding)")
	fs.IntVar(&cfg.width, "width", 0, "image width (default: image.size for image, max_size rounded up to pad_multiple for grounding)")
	fs.IntVar(&cfg.tokens, "tokens", 32, "grounding prompt length T: input_ids [N,T]")
	fs.BoolVar(&cfg.checkCPU, "check-cpu", false, "also run the first batch with the cpu provider and report the largest difference of the first output")
	addSessionFlags(fs, &cfg.lib, &cfg.session)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if err := cfg.check(set); err != nil {
		return err
	}
	kind := bundle.KindCLIP
	if cfg.graph == "grounding" {
		kind = bundle.KindGrounding
	}
	b, err := bundle.Load(cfg.bundleDir, kind)
	if err != nil {
		return err
	}
	if err := cfg.sizes(b.Manifest, set); err != nil {
		return err
	}
	g := graphOf(b, cfg.graph)
	in, err := syntheticInputs(b, g.roles, cfg)
	if err != nil {
		return err
	}
	if err := ort.Start(cfg.lib); err != nil {
		return err
	}
	res, err := benchSession(ctx, b, g, in, cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "bench-session: %s %s with %s: %d warm-up and %d timed runs of %d images of %d×%d\n",
		b.Identity, g.file, res.Provider, cfg.warmup, cfg.iters, cfg.batch, cfg.height, cfg.width)
	if err := json.NewEncoder(stdout).Encode(res); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

// check validates the flags that need no bundle; set holds the flags given.
func (c *benchSessionConfig) check(set map[string]bool) error {
	switch {
	case c.bundleDir == "":
		return fmt.Errorf("%w: --bundle is required", errUsage)
	case c.graph == "":
		return fmt.Errorf("%w: --graph is required (image or grounding)", errUsage)
	case c.graph != "image" && c.graph != "grounding":
		return fmt.Errorf("%w: --graph %q: want image or grounding", errUsage, c.graph)
	case c.batch < 1:
		return fmt.Errorf("%w: --batch must be at least 1", errUsage)
	case c.iters < 1:
		return fmt.Errorf("%w: --iters must be at least 1", errUsage)
	case c.warmup < 0:
		return fmt.Errorf("%w: --warmup must not be negative", errUsage)
	case set["tokens"] && c.graph != "grounding":
		return fmt.Errorf("%w: --tokens goes with --graph grounding", errUsage)
	case c.tokens < 3:
		return fmt.Errorf("%w: --tokens %d: want at least 3 ([CLS], a phrase token, [SEP])", errUsage, c.tokens)
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"height", c.height}, {"width", c.width}} {
		if set[f.name] && (f.v < 1 || f.v > 8192) {
			return fmt.Errorf("%w: --%s %d: want 1 to 8192", errUsage, f.name, f.v)
		}
	}
	return nil
}

// sizes fills in the image size the flags left out, from the manifest:
// image.size² for image (224 when unset); for grounding shortest_edge ×
// max_size, each rounded up to pad_multiple.
func (c *benchSessionConfig) sizes(m bundle.Manifest, set map[string]bool) error {
	h, w := m.Image.Size, m.Image.Size
	if c.graph == "image" && h <= 0 {
		h, w = 224, 224
	}
	if c.graph == "grounding" {
		h = imageproc.RoundUp(m.Image.ShortestEdge, m.Image.PadMultiple)
		w = imageproc.RoundUp(max(m.Image.MaxSize, m.Image.ShortestEdge), m.Image.PadMultiple)
	}
	if !set["height"] {
		c.height = h
	}
	if !set["width"] {
		c.width = w
	}
	if c.height < 1 || c.width < 1 {
		return fmt.Errorf("%w: bundle %s gives no image size (image.shortest_edge): pass --height and --width", errUsage, m.Name)
	}
	if int64(c.batch)*3*int64(c.height)*int64(c.width) > maxBenchElements {
		return fmt.Errorf("%w: a batch of %d images of %d×%d is over %d values", errUsage, c.batch, c.height, c.width, int64(maxBenchElements))
	}
	if c.graph == "grounding" && m.Text.MaxTokens > 0 && c.tokens > m.Text.MaxTokens {
		return fmt.Errorf("%w: --tokens %d: the bundle takes at most %d (text.max_tokens)", errUsage, c.tokens, m.Text.MaxTokens)
	}
	return nil
}

// graphOf returns the graph named by --graph (image or grounding) of a
// bundle loaded with the matching kind, with the inputs and outputs the
// jobs run it with.
func graphOf(b *bundle.Bundle, name string) benchGraph {
	m := b.Manifest
	if name == "image" {
		return benchGraph{file: m.ImageONNX, identity: b.Identity + "/image", roles: []string{bundle.InImage},
			ins: []string{m.Inputs[bundle.InImage]}, outs: []string{m.Outputs[bundle.OutImageEmbeds]}}
	}
	g := benchGraph{file: m.ONNX, identity: b.Identity}
	for _, role := range []string{bundle.InImage, bundle.InInputIDs, bundle.InAttentionMask, bundle.InPixelMask, bundle.InTokenTypeIDs} {
		if n := m.Inputs[role]; n != "" {
			g.roles = append(g.roles, role)
			g.ins = append(g.ins, n)
		}
	}
	g.outs = []string{m.Outputs[bundle.OutBoxes], m.Outputs[bundle.OutLogits]}
	if n := m.Outputs[bundle.OutCenterness]; n != "" {
		g.outs = append(g.outs, n)
	}
	return g
}

// syntheticInputs builds the batch the graph runs on, one tensor per role:
// random pixels from a fixed seed in the manifest's image input form, and
// for grounding a prompt of [CLS], phrase tokens with "." between them and
// [SEP], attention and pixel masks of ones and token type ids of zeros.
func syntheticInputs(b *bundle.Bundle, roles []string, cfg benchSessionConfig) ([]ort.Tensor, error) {
	n, h, w, t := int64(cfg.batch), int64(cfg.height), int64(cfg.width), int64(cfg.tokens)
	rng := rand.New(rand.NewPCG(benchSeed, 0))
	var ids []int64
	if slices.Contains(roles, bundle.InInputIDs) {
		vocab, err := vocabSize(b)
		if err != nil {
			return nil, err
		}
		ids = promptIDs(rng, cfg.tokens, vocab)
	}
	in := make([]ort.Tensor, 0, len(roles))
	for _, role := range roles {
		switch role {
		case bundle.InImage:
			in = append(in, syntheticImages(rng, b.Manifest.Image, cfg.batch, cfg.height, cfg.width))
		case bundle.InInputIDs:
			all := make([]int64, 0, n*t)
			for range n {
				all = append(all, ids...)
			}
			in = append(in, ort.Tensor{Shape: []int64{n, t}, I64: all})
		case bundle.InAttentionMask:
			in = append(in, ort.Tensor{Shape: []int64{n, t}, I64: filled(n*t, 1)})
		case bundle.InPixelMask:
			in = append(in, ort.Tensor{Shape: []int64{n, h, w}, I64: filled(n*h*w, 1)})
		case bundle.InTokenTypeIDs:
			in = append(in, ort.Tensor{Shape: []int64{n, t}, I64: filled(n*t, 0)})
		}
	}
	return in, nil
}

// syntheticImages returns n random h×w images as the graph takes them:
// uint8 [n,h,w,3] for uint8_nhwc, else float32 [n,3,h,w] normalised with
// the spec's scale, mean and std.
func syntheticImages(rng *rand.Rand, spec bundle.ImageSpec, n, h, w int) ort.Tensor {
	norm := imageproc.Norm{BGR: spec.ChannelOrder == "BGR", Scale: spec.Scale, Mean: spec.Mean, Std: spec.Std}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	per := 3 * h * w
	var t ort.Tensor
	if spec.UInt8() {
		t = ort.Tensor{Shape: []int64{int64(n), int64(h), int64(w), 3}, U8: make([]uint8, n*per)}
	} else {
		t = ort.Tensor{Shape: []int64{int64(n), 3, int64(h), int64(w)}, F32: make([]float32, n*per)}
	}
	for i := range n {
		for p := 0; p < len(img.Pix); p += 4 {
			v := rng.Uint32()
			img.Pix[p], img.Pix[p+1], img.Pix[p+2], img.Pix[p+3] = byte(v), byte(v>>8), byte(v>>16), 255
		}
		if t.U8 != nil {
			norm.FillHWC(t.U8[i*per:(i+1)*per], w, h, img)
		} else {
			norm.Fill(t.F32[i*per:(i+1)*per], w, h, img)
		}
	}
	return t
}

// promptIDs is one synthetic prompt of t tokens: [CLS], then phrases of
// two word tokens each followed by ".", then [SEP]. Word tokens are drawn
// from the upper half of a vocabulary of vocab tokens.
func promptIDs(rng *rand.Rand, t, vocab int) []int64 {
	ids := make([]int64, t)
	ids[0], ids[t-1] = benchCLS, benchSEP
	for i := 1; i < t-1; i++ {
		if i%3 == 0 {
			ids[i] = benchPeriod
			continue
		}
		for {
			id := int64(vocab/2 + rng.IntN(vocab-vocab/2))
			if id != benchCLS && id != benchSEP && id != benchPeriod {
				ids[i] = id
				break
			}
		}
	}
	return ids
}

// vocabSize counts the tokens of a grounding bundle's vocabulary, which
// must hold the ids the synthetic prompt uses.
func vocabSize(b *bundle.Bundle) (int, error) {
	if b.Manifest.Text.Vocab == "" {
		return 0, fmt.Errorf("bundle %s has no text.vocab to draw prompt tokens from", b.Identity)
	}
	raw, err := os.ReadFile(b.Path(b.Manifest.Text.Vocab))
	if err != nil {
		return 0, fmt.Errorf("bundle %s: read vocabulary: %w", b.Identity, err)
	}
	n := len(strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n"))
	if n <= benchPeriod+1 {
		return 0, fmt.Errorf("bundle %s: vocabulary has %d tokens; the synthetic prompt needs ids up to %d", b.Identity, n, benchPeriod)
	}
	return n, nil
}

func filled(n, v int64) []int64 {
	s := make([]int64, n)
	if v != 0 {
		for i := range s {
			s[i] = v
		}
	}
	return s
}

// benchSession opens the graph's session with the configured provider
// (failing, never falling back to the CPU, when the provider cannot be
// added), runs the warm-up and the timed runs and, with --check-cpu,
// compares the first run's first output with the cpu provider's.
func benchSession(ctx context.Context, b *bundle.Bundle, g benchGraph, in []ort.Tensor, cfg benchSessionConfig) (*benchResult, error) {
	provider := cfg.session.Provider
	if provider == "" {
		provider = "cpu"
	}
	s, err := ort.Acquire(ort.Key{Identity: g.identity, Path: b.Path(g.file), Options: cfg.session}, g.ins, g.outs)
	if err != nil {
		return nil, fmt.Errorf("%s graph of %s with the %s provider: %w", cfg.graph, b.Identity, provider, err)
	}
	defer s.Release()
	var first []ort.Tensor
	runs := func(what string, n int) error {
		for i := range n {
			out, err := s.Run(ctx, in)
			if err != nil {
				return fmt.Errorf("%s run %d of %d: %w", what, i+1, n, err)
			}
			if first == nil {
				first = out
			}
		}
		return nil
	}
	if err := runs("warm-up", cfg.warmup); err != nil {
		return nil, err
	}
	start := time.Now()
	if err := runs("timed", cfg.iters); err != nil {
		return nil, err
	}
	secs := time.Since(start).Seconds()
	res := &benchResult{Graph: cfg.graph, Provider: provider, Batch: cfg.batch, Iters: cfg.iters,
		Height: cfg.height, Width: cfg.width,
		ImagesPerS: float64(cfg.batch*cfg.iters) / secs, MsPerBatch: secs * 1000 / float64(cfg.iters)}
	if cfg.checkCPU {
		d, err := checkCPU(ctx, b, g, in, cfg.session, first[0], provider)
		if err != nil {
			return nil, err
		}
		res.MaxAbsDiffCPU = &d
	}
	return res, nil
}

// checkCPU runs the batch with the cpu provider and returns the largest
// |difference| between got (the graph's first output with provider) and
// the cpu provider's.
func checkCPU(ctx context.Context, b *bundle.Bundle, g benchGraph, in []ort.Tensor, opts ort.Options, got ort.Tensor, provider string) (float64, error) {
	opts.Provider, opts.EPLib, opts.EPOptions, opts.DeviceID = "cpu", "", "", 0
	s, err := ort.Acquire(ort.Key{Identity: g.identity, Path: b.Path(g.file), Options: opts}, g.ins, g.outs)
	if err != nil {
		return 0, fmt.Errorf("check against the cpu provider: %w", err)
	}
	defer s.Release()
	out, err := s.Run(ctx, in)
	if err != nil {
		return 0, fmt.Errorf("check against the cpu provider: %w", err)
	}
	d, err := maxAbsDiff(got, out[0])
	if err != nil {
		return 0, fmt.Errorf("check against the cpu provider: %s %w with %s and cpu", g.outs[0], err, provider)
	}
	return d, nil
}

// maxAbsDiff is the largest |a−b| over two tensors of one shape, skipping
// positions where both hold the same non-finite value. A position where
// only one is finite, or where they are different non-finite values, is an
// error naming it.
func maxAbsDiff(a, b ort.Tensor) (float64, error) {
	if !slices.Equal(a.Shape, b.Shape) || len(a.F32) != len(b.F32) {
		return 0, fmt.Errorf("has shapes %v and %v", a.Shape, b.Shape)
	}
	var d float64
	for i := range a.F32 {
		x, y := float64(a.F32[i]), float64(b.F32[i])
		if (math.IsNaN(x) && math.IsNaN(y)) || (math.IsInf(x, 0) && x == y) {
			continue
		}
		diff := math.Abs(x - y)
		if math.IsNaN(diff) || math.IsInf(diff, 0) {
			return 0, fmt.Errorf("at flat position %d is %g and %g", i, x, y)
		}
		d = max(d, diff)
	}
	return d, nil
}
