// Package sampleset generates a small, deterministic image-text corpus for
// demos and tests: photo-like synthetic images (a noisy gradient background
// with one to three coloured shapes) with plain-English captions describing
// them, written as WebDataset shards in the img2dataset layout.
package sampleset

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Defaults and limits for Options.
const (
	// DefaultPairs is the number of pairs generated when Options.Pairs is 0.
	DefaultPairs = 24
	// DefaultShards is the number of shards written when Options.Shards is 0.
	DefaultShards = 3
	// MinSide and MaxSide bound an explicit Options.Width or Options.Height.
	MinSide, MaxSide = 64, 4096
	// MaxPairs is the largest Options.Pairs (keys have nine digits).
	MaxPairs = 999_999_999
	// JPEGQuality is the quality used for JPEG images.
	JPEGQuality = 90
)

// Options controls the generated corpus. The zero value (or a nil *Options)
// gives DefaultPairs pairs in DefaultShards shards with sizes varying per
// sample, from seed 0.
type Options struct {
	Pairs  int    // number of pairs; default 24
	Shards int    // number of shard files for WriteShards; default 3
	Width  int    // image width; 0 = vary per sample between 160 and 480 px
	Height int    // image height; 0 = vary per sample between 160 and 480 px
	Seed   uint64 // random seed; the same seed always gives the same bytes
}

// Pair is one generated image with its caption.
type Pair struct {
	Key     string   // nine-digit zero-padded key, e.g. "000000012"
	Caption string   // plain-English description of the image
	Image   []byte   // encoded image
	Ext     string   // "jpg" or "png"
	Objects []Object // the shapes drawn, in caption order
}

// Object is one shape drawn in an image.
type Object struct {
	Name           string // colour and shape, e.g. "red square"
	X0, Y0, X1, Y1 int    // bounding box in pixels; X1 and Y1 are exclusive
}

// namedColor is a palette entry.
type namedColor struct {
	name string
	c    color.RGBA
}

// shapeColors returns the shape palette: saturated colours far apart from
// each other and from every background.
func shapeColors() []namedColor {
	return []namedColor{
		{"red", color.RGBA{220, 30, 30, 255}},
		{"green", color.RGBA{30, 170, 50, 255}},
		{"blue", color.RGBA{30, 60, 220, 255}},
		{"yellow", color.RGBA{245, 215, 30, 255}},
		{"orange", color.RGBA{245, 130, 20, 255}},
		{"purple", color.RGBA{130, 40, 170, 255}},
		{"cyan", color.RGBA{20, 200, 215, 255}},
		{"pink", color.RGBA{250, 120, 190, 255}},
	}
}

// backgrounds returns the background palette (low-saturation tones).
func backgrounds() []namedColor {
	return []namedColor{
		{"gray", color.RGBA{128, 128, 128, 255}},
		{"white", color.RGBA{235, 235, 235, 255}},
		{"black", color.RGBA{25, 25, 25, 255}},
		{"beige", color.RGBA{225, 205, 160, 255}},
	}
}

// shapeKinds are the shapes drawn.
func shapeKinds() []string { return []string{"square", "circle", "triangle", "stripe"} }

// settings are validated Options.
type settings struct {
	pairs, shards, width, height int
	seed                         uint64
}

func resolve(opts *Options) (settings, error) {
	s := settings{pairs: DefaultPairs, shards: DefaultShards}
	if opts == nil {
		return s, nil
	}
	switch {
	case opts.Pairs < 0 || opts.Pairs > MaxPairs:
		return s, fmt.Errorf("sampleset: pairs %d out of range 0..%d", opts.Pairs, MaxPairs)
	case opts.Shards < 0:
		return s, fmt.Errorf("sampleset: negative shards %d", opts.Shards)
	case opts.Width != 0 && (opts.Width < MinSide || opts.Width > MaxSide):
		return s, fmt.Errorf("sampleset: width %d must be 0 or within %d..%d", opts.Width, MinSide, MaxSide)
	case opts.Height != 0 && (opts.Height < MinSide || opts.Height > MaxSide):
		return s, fmt.Errorf("sampleset: height %d must be 0 or within %d..%d", opts.Height, MinSide, MaxSide)
	}
	if opts.Pairs > 0 {
		s.pairs = opts.Pairs
	}
	if opts.Shards > 0 {
		s.shards = opts.Shards
	}
	s.width, s.height, s.seed = opts.Width, opts.Height, opts.Seed
	return s, nil
}

// Pairs generates the corpus in memory. The result depends only on opts:
// the same options give byte-identical images and captions. Every fifth
// image (keys ending in 4 or 9) is a PNG, the others are JPEG (quality 90).
func Pairs(opts *Options) ([]Pair, error) {
	s, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	out := make([]Pair, 0, s.pairs)
	for i := range s.pairs {
		p, err := makePair(s, i)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// makePair generates pair i; each pair has its own random stream so that
// pair i does not depend on how many pairs come before it.
func makePair(s settings, i int) (Pair, error) {
	rng := rand.New(rand.NewPCG(s.seed, 0x9e3779b97f4a7c15^uint64(i)))
	w, h := s.width, s.height
	if w == 0 {
		w = 160 + rng.IntN(321)
	}
	if h == 0 {
		h = 160 + rng.IntN(321)
	}
	bgs := backgrounds()
	bg := bgs[rng.IntN(len(bgs))]
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	paintBackground(img, bg.c, rng)

	objects := placeShapes(rng, w, h, 1+rng.IntN(3))
	palette := shapeColors()
	rng.Shuffle(len(palette), func(a, b int) { palette[a], palette[b] = palette[b], palette[a] })
	descr := make([]string, len(objects))
	for j := range objects {
		o := &objects[j]
		col := palette[j]
		drawShape(img, o.kind, o.box, col.c, rng)
		o.Name = col.name + " " + o.kind
		descr[j] = article(col.name) + " " + o.Name
	}
	caption := joinEnglish(descr) + " on " + article(bg.name) + " " + bg.name + " background"

	p := Pair{Key: fmt.Sprintf("%09d", i), Caption: caption, Ext: "jpg"}
	var buf bytes.Buffer
	if i%5 == 4 {
		p.Ext = "png"
		err := (&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(&buf, img)
		if err != nil {
			return Pair{}, fmt.Errorf("sampleset: encoding png %s: %w", p.Key, err)
		}
	} else if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: JPEGQuality}); err != nil {
		return Pair{}, fmt.Errorf("sampleset: encoding jpeg %s: %w", p.Key, err)
	}
	p.Image = buf.Bytes()
	p.Objects = make([]Object, len(objects))
	for j, o := range objects {
		p.Objects[j] = o.Object
	}
	return p, nil
}

func article(word string) string {
	if strings.ContainsRune("aeiou", rune(word[0])) {
		return "an"
	}
	return "a"
}

// joinEnglish joins ["a", "b", "c"] as "a, b and c".
func joinEnglish(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

func clamp8(v float64) uint8 {
	return uint8(math.Max(0, math.Min(255, math.Round(v))))
}

// paintBackground fills img with a noisy linear gradient around base.
func paintBackground(img *image.RGBA, base color.RGBA, rng *rand.Rand) {
	b := img.Bounds()
	angle := rng.Float64() * 2 * math.Pi
	dx, dy := math.Cos(angle), math.Sin(angle)
	span := 20 + rng.Float64()*20 // brightness change across the image
	diag := math.Hypot(float64(b.Dx()), float64(b.Dy()))
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			t := ((float64(x)-float64(b.Dx())/2)*dx + (float64(y)-float64(b.Dy())/2)*dy) / diag
			shift := t * span
			n := (rng.Float64() - 0.5) * 24
			img.SetRGBA(x, y, color.RGBA{
				R: clamp8(float64(base.R) + shift + n),
				G: clamp8(float64(base.G) + shift + n),
				B: clamp8(float64(base.B) + shift + n + (rng.Float64()-0.5)*6),
				A: 255,
			})
		}
	}
}

// shape is an Object plus the data needed to draw it.
type shape struct {
	Object
	kind string
	box  image.Rectangle
}

// placeShapes picks up to n non-overlapping shapes inside a w×h image.
func placeShapes(rng *rand.Rand, w, h, n int) []shape {
	kinds := shapeKinds()
	minSide := min(w, h)
	var out []shape
	for len(out) < n {
		placed := false
		for try := 0; try < 50 && !placed; try++ {
			kind := kinds[rng.IntN(len(kinds))]
			var bw, bh int
			switch kind {
			case "stripe":
				bw = int(float64(w) * (0.45 + 0.3*rng.Float64()))
				bh = max(12, int(float64(h)*(0.07+0.05*rng.Float64())))
			case "triangle":
				bw = int(float64(minSide) * (0.22 + 0.14*rng.Float64()))
				bh = bw
			default:
				bw = int(float64(minSide) * (0.18 + 0.14*rng.Float64()))
				bh = bw
			}
			const margin = 3
			if bw+2*margin >= w || bh+2*margin >= h {
				continue
			}
			x0 := margin + rng.IntN(w-bw-2*margin)
			y0 := margin + rng.IntN(h-bh-2*margin)
			box := image.Rect(x0, y0, x0+bw, y0+bh)
			free := true
			for _, o := range out {
				if o.box.Inset(-6).Overlaps(box) {
					free = false
					break
				}
			}
			if free {
				out = append(out, shape{
					Object: Object{X0: box.Min.X, Y0: box.Min.Y, X1: box.Max.X, Y1: box.Max.Y},
					kind:   kind,
					box:    box,
				})
				placed = true
			}
		}
		if !placed {
			break // image too crowded: keep what fits
		}
	}
	if len(out) == 0 { // cannot happen for sides >= MinSide; be safe anyway
		side := minSide / 3
		box := image.Rect(w/2-side/2, h/2-side/2, w/2-side/2+side, h/2-side/2+side)
		out = append(out, shape{
			Object: Object{X0: box.Min.X, Y0: box.Min.Y, X1: box.Max.X, Y1: box.Max.Y},
			kind:   "square",
			box:    box,
		})
	}
	return out
}

// inside reports whether pixel (x, y) belongs to the shape kind in box.
func inside(kind string, box image.Rectangle, x, y int) bool {
	if !(image.Point{x, y}).In(box) {
		return false
	}
	fx, fy := float64(x)+0.5, float64(y)+0.5
	switch kind {
	case "circle":
		cx, cy := float64(box.Min.X+box.Max.X)/2, float64(box.Min.Y+box.Max.Y)/2
		r := float64(box.Dx()) / 2
		return (fx-cx)*(fx-cx)+(fy-cy)*(fy-cy) <= r*r
	case "triangle": // apex at top centre, base along the bottom edge
		cx := float64(box.Min.X+box.Max.X) / 2
		half := float64(box.Dx()) / 2 * (fy - float64(box.Min.Y)) / float64(box.Dy())
		return math.Abs(fx-cx) <= half
	}
	return true // square, stripe
}

// drawShape fills the shape with col plus a little sensor-like noise.
func drawShape(img *image.RGBA, kind string, box image.Rectangle, col color.RGBA, rng *rand.Rand) {
	for y := box.Min.Y; y < box.Max.Y; y++ {
		for x := box.Min.X; x < box.Max.X; x++ {
			if !inside(kind, box, x, y) {
				continue
			}
			n := (rng.Float64() - 0.5) * 8
			img.SetRGBA(x, y, color.RGBA{
				R: clamp8(float64(col.R) + n),
				G: clamp8(float64(col.G) + n),
				B: clamp8(float64(col.B) + n),
				A: 255,
			})
		}
	}
}

// fixedTime is the modification time of every tar member, for
// reproducible shards.
func fixedTime() time.Time { return time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC) }

// meta is the KEY.json document.
type meta struct {
	Key     string `json:"key"`
	Caption string `json:"caption"`
	Width   int    `json:"width,omitempty"`
	Height  int    `json:"height,omitempty"`
}

// WriteTar writes pairs into w as one tar in img2dataset layout: for each
// pair KEY.EXT (the image, omitted when Image is nil), KEY.txt (the caption)
// and KEY.json ({"key","caption","width","height"}; width and height are
// omitted when the image does not decode). The output is deterministic.
// Keys must be non-empty and have no '.' in their last path element; any
// other key (even an unsafe one) is written as given, so tests can build
// broken shards.
func WriteTar(w io.Writer, pairs []Pair) error {
	tw := tar.NewWriter(w)
	for _, p := range pairs {
		base := path.Base(p.Key)
		if p.Key == "" || strings.Contains(base, ".") {
			return fmt.Errorf("sampleset: invalid key %q", p.Key)
		}
		if p.Image != nil && (p.Ext == "" || strings.ContainsAny(p.Ext, "./")) {
			return fmt.Errorf("sampleset: invalid image extension %q for key %q", p.Ext, p.Key)
		}
		m := meta{Key: p.Key, Caption: p.Caption}
		if p.Image != nil {
			if cfg, _, err := image.DecodeConfig(bytes.NewReader(p.Image)); err == nil {
				m.Width, m.Height = cfg.Width, cfg.Height
			}
			if err := writeMember(tw, p.Key+"."+p.Ext, p.Image); err != nil {
				return err
			}
		}
		if err := writeMember(tw, p.Key+".txt", []byte(p.Caption)); err != nil {
			return err
		}
		js, err := json.Marshal(m)
		if err != nil {
			return fmt.Errorf("sampleset: encoding json for %q: %w", p.Key, err)
		}
		if err := writeMember(tw, p.Key+".json", js); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("sampleset: closing tar: %w", err)
	}
	return nil
}

func writeMember(tw *tar.Writer, name string, data []byte) error {
	hdr := &tar.Header{
		Name:     name,
		Typeflag: tar.TypeReg,
		Mode:     0o644,
		Size:     int64(len(data)),
		ModTime:  fixedTime(),
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("sampleset: writing header %q: %w", name, err)
	}
	if _, err := tw.Write(data); err != nil {
		return fmt.Errorf("sampleset: writing %q: %w", name, err)
	}
	return nil
}

// ShardName returns the file name of shard i, e.g. "shard-00000.tar".
func ShardName(i int) string { return fmt.Sprintf("shard-%05d.tar", i) }

// WriteShards generates the corpus and writes it into dir (created if
// needed) as Shards tar files named "shard-00000.tar", "shard-00001.tar", ...
// Pairs are split into contiguous, nearly equal runs of keys. It returns the
// shard paths in order. Files are written to a temporary name and renamed,
// so a shard path never holds a partial file.
func WriteShards(dir string, opts *Options) ([]string, error) {
	s, err := resolve(opts)
	if err != nil {
		return nil, err
	}
	if s.shards > s.pairs {
		return nil, fmt.Errorf("sampleset: %d shards for only %d pairs", s.shards, s.pairs)
	}
	pairs, err := Pairs(opts)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sampleset: creating %s: %w", dir, err)
	}
	paths := make([]string, 0, s.shards)
	for i := range s.shards {
		lo, hi := i*len(pairs)/s.shards, (i+1)*len(pairs)/s.shards
		p := filepath.Join(dir, ShardName(i))
		if err := writeFile(p, pairs[lo:hi]); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

func writeFile(name string, pairs []Pair) (err error) {
	f, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp*")
	if err != nil {
		return fmt.Errorf("sampleset: creating shard: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err := WriteTar(f, pairs); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sampleset: closing %s: %w", name, err)
	}
	if err := os.Chmod(f.Name(), 0o644); err != nil {
		return fmt.Errorf("sampleset: chmod %s: %w", name, err)
	}
	if err := os.Rename(f.Name(), name); err != nil {
		return fmt.Errorf("sampleset: renaming %s: %w", name, err)
	}
	return nil
}
