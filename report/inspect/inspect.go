// Package inspect draws a contact sheet of a groundbeam output: the first
// labelled images (by key), fetched from the sources their rows record,
// with every box outlined in its phrase's colour and labelled with the
// phrase and score. It also renders an HTML page that embeds the sheet and
// lists each image's key, caption and boxes.
package inspect

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/fnv"
	"html/template"
	"image"
	"image/color"
	_ "image/gif"  // decode gif sources
	_ "image/jpeg" // decode jpeg sources
	"image/png"
	"math"
	"path"
	"slices"
	"sort"
	"strings"
	"unicode/utf8"

	xdraw "golang.org/x/image/draw"
	_ "golang.org/x/image/webp" // decode webp sources

	"github.com/groundbeam/groundbeam/report"
	"github.com/groundbeam/groundbeam/report/internal/canvas"
	"github.com/groundbeam/groundbeam/schemas"
	"github.com/groundbeam/groundbeam/transforms/source"
)

// Defaults and limits for Options.
const (
	// DefaultN is the number of images drawn when Options.N is 0.
	DefaultN = 16
	// MaxN is the largest Options.N.
	MaxN = 1024
	// DefaultThumb is the cell size when Options.Thumb is 0.
	DefaultThumb = 256
	// MinThumb and MaxThumb bound Options.Thumb.
	MinThumb, MaxThumb = 96, 2048
	// MaxPixels is the largest source image decoded (width × height).
	MaxPixels = 64 << 20
)

// Layout of the sheet, in pixels.
const (
	pad       = 8                                                      // gap around and between cells
	titleH    = canvas.CharH + 2*pad                                   // title bar at the top
	textLines = 3                                                      // key line and two caption lines
	textH     = textLines*(canvas.CharH+canvas.LineGap) + 4            // text below each image
	boxWidth  = 2                                                      // box outline width
	labelH    = canvas.CharH + 2                                       // phrase label height
	labelPadX = 2                                                      // phrase label text inset
	maxReason = 6                                                      // lines of an unavailable image's reason
	headerFmt = "groundbeam inspect  %s  (%d of %d labelled images%s)" // title text
)

// Colours of the sheet.
var (
	background  = color.RGBA{30, 30, 30, 255}
	letterbox   = color.RGBA{0, 0, 0, 255}
	textColour  = color.RGBA{225, 225, 225, 255}
	dimText     = color.RGBA{160, 160, 160, 255}
	missingCell = color.RGBA{128, 128, 128, 255}
	missingText = color.RGBA{20, 20, 20, 255}
)

// Options controls Sheet. The zero value draws DefaultN images in cells of
// DefaultThumb pixels, ceil(sqrt(n)) columns wide.
type Options struct {
	// N is how many images to draw; default 16, at most MaxN.
	N int
	// Columns is the number of cells per row; default ceil(sqrt(n)) for
	// the n images drawn.
	Columns int
	// Thumb is the side of each cell's square image area in pixels;
	// default 256, within MinThumb..MaxThumb. Images are scaled to fit it
	// (keeping their aspect ratio) and centred.
	Thumb int
	// Seed selects which rows are drawn. With 0 (the default) they are
	// the first N rows in (key, source) order; with any other value, the N
	// rows whose hash of (Seed, key, source) is smallest: a pseudo-random
	// sample that is the same for the same seed and output.
	Seed uint64
	// Files, when above 0, reads at most that many labels files and
	// selects among their rows only: the first files by name with Seed 0,
	// else those whose hash of (Seed, file name) is smallest. A quick look at
	// a corpus of many shards reads a few of them instead of all.
	Files int
}

// palette holds the box colours: saturated, far apart, none grey.
var palette = []color.RGBA{
	{230, 25, 75, 255},   // red
	{60, 180, 75, 255},   // green
	{255, 225, 25, 255},  // yellow
	{0, 130, 200, 255},   // blue
	{245, 130, 48, 255},  // orange
	{145, 30, 180, 255},  // purple
	{70, 240, 240, 255},  // cyan
	{240, 50, 230, 255},  // magenta
	{210, 245, 60, 255},  // lime
	{250, 190, 212, 255}, // pink
	{0, 128, 128, 255},   // teal
	{220, 190, 255, 255}, // lavender
	{170, 110, 40, 255},  // brown
	{170, 255, 195, 255}, // mint
	{128, 128, 0, 255},   // olive
	{255, 215, 180, 255}, // apricot
}

// Colour returns the box colour of a phrase: a fixed palette entry chosen
// by a hash of the phrase, lower-cased and trimmed, so the same phrase
// always gets the same colour. The colour is opaque.
func Colour(phrase string) color.RGBA {
	h := fnv.New32a()
	h.Write([]byte(strings.ToLower(strings.TrimSpace(phrase))))
	return palette[h.Sum32()%uint32(len(palette))]
}

// settings are validated Options.
type settings struct {
	n, cols, thumb int
	seed           uint64
	files          int
	// from says which files the rows were selected from, when not all
	// (", from 2 of 41408 files").
	from string
}

func resolve(opts Options) (settings, error) {
	s := settings{n: opts.N, cols: opts.Columns, thumb: opts.Thumb, seed: opts.Seed, files: opts.Files}
	switch {
	case s.n < 0 || s.n > MaxN:
		return s, fmt.Errorf("inspect: n %d out of range 1..%d", s.n, MaxN)
	case s.cols < 0:
		return s, fmt.Errorf("inspect: negative columns %d", s.cols)
	case s.files < 0:
		return s, fmt.Errorf("inspect: negative files %d", s.files)
	case s.thumb != 0 && (s.thumb < MinThumb || s.thumb > MaxThumb):
		return s, fmt.Errorf("inspect: thumb %d out of range %d..%d", s.thumb, MinThumb, MaxThumb)
	}
	if s.n == 0 {
		s.n = DefaultN
	}
	if s.thumb == 0 {
		s.thumb = DefaultThumb
	}
	return s, nil
}

// entry is a selected row and its sort key.
type entry struct {
	hash uint64
	row  schemas.LabelRow
}

func (s settings) less(a, b entry) bool {
	if a.hash != b.hash {
		return a.hash < b.hash
	}
	if a.row.Key != b.row.Key {
		return a.row.Key < b.row.Key
	}
	return a.row.Source < b.row.Source
}

func (s settings) hashOf(r schemas.LabelRow) uint64 {
	if s.seed == 0 {
		return 0
	}
	return seedHash(s.seed, r.Key, r.Source)
}

// seedHash orders a seeded sample: the parts' FNV-1a hash (each but the
// last followed by a 0 byte) mixed with the seed by SplitMix64's
// finaliser, so that each seed orders any two items independently of the
// others (FNV alone, seed first, ordered two names differing near their
// end the same way for most seeds).
func seedHash(seed uint64, parts ...string) uint64 {
	h := fnv.New64a()
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{0})
		}
		h.Write([]byte(p))
	}
	return mix64(h.Sum64() ^ mix64(seed))
}

// mix64 is SplitMix64's output function: a bijection that spreads every
// input bit over every output bit.
func mix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// pickFiles returns the labels files to read: all, or s.files of them.
func pickFiles(ctx context.Context, out string, s *settings) ([]string, error) {
	files, err := report.Files(ctx, out, report.LabelsTable)
	if err != nil || s.files == 0 || len(files) <= s.files {
		return files, err
	}
	picked := slices.Clone(files)
	if s.seed != 0 {
		// by file name, so that a copy of the output elsewhere gives the
		// same sample
		sort.SliceStable(picked, func(i, j int) bool {
			return seedHash(s.seed, path.Base(picked[i])) < seedHash(s.seed, path.Base(picked[j]))
		})
	}
	picked = picked[:s.files]
	sort.Strings(picked)
	s.from = fmt.Sprintf(", from %d of %d files", len(picked), len(files))
	return picked, nil
}

// selectRows streams the labels and keeps the first n rows in order.
func selectRows(ctx context.Context, out string, s *settings) ([]schemas.LabelRow, int64, error) {
	var kept []entry
	var total int64
	files, err := pickFiles(ctx, out, s)
	if err != nil {
		return nil, 0, fmt.Errorf("inspect: %w", err)
	}
	visit := func(r schemas.LabelRow) error {
		total++
		e := entry{hash: s.hashOf(r), row: r}
		i := sort.Search(len(kept), func(i int) bool { return s.less(e, kept[i]) })
		if i >= s.n {
			return nil
		}
		e.row = r // ScanLabels leaves the embeddings out
		kept = append(kept, entry{})
		copy(kept[i+1:], kept[i:])
		kept[i] = e
		if len(kept) > s.n {
			kept = kept[:s.n]
		}
		return nil
	}
	for _, f := range files {
		if err := report.ScanLabelsFile(ctx, f, visit); err != nil {
			return nil, 0, fmt.Errorf("inspect: %w", err)
		}
	}
	rows := make([]schemas.LabelRow, len(kept))
	for i, e := range kept {
		rows[i] = e.row
	}
	return rows, total, nil
}

// ErrNoRows is returned by Sheet when the output has no labelled rows.
var ErrNoRows = errors.New("inspect: no labelled rows")

// cell is one image of the sheet: its row and either the decoded image or
// why it is missing.
type cell struct {
	row    schemas.LabelRow
	img    image.Image
	reason string
}

// Sheet draws the contact sheet of the output folder out (local or gs://)
// and returns it as PNG bytes, with an HTML page that embeds the same PNG
// as a data URI and tabulates every drawn image's key, source, caption and
// boxes. Images are read from the sources their rows record; one that
// cannot be fetched or decoded gets a grey cell with the reason instead.
func Sheet(ctx context.Context, out string, opts Options) (pngBytes []byte, html []byte, err error) {
	s, err := resolve(opts)
	if err != nil {
		return nil, nil, err
	}
	rows, total, err := selectRows(ctx, out, &s)
	if err != nil {
		return nil, nil, err
	}
	if len(rows) == 0 {
		return nil, nil, fmt.Errorf("%w under %s", ErrNoRows, out)
	}
	cells := fetch(ctx, rows)
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("inspect: %w", err)
	}
	sheet := draw(out, cells, total, s)
	var buf bytes.Buffer
	if err := png.Encode(&buf, sheet); err != nil {
		return nil, nil, fmt.Errorf("inspect: encode png: %w", err)
	}
	page, err := renderHTML(out, cells, total, s, buf.Bytes())
	if err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), page, nil
}

// fetch reads and decodes the rows' images.
func fetch(ctx context.Context, rows []schemas.LabelRow) []cell {
	sources := make([]string, len(rows))
	for i, r := range rows {
		sources[i] = r.Source
	}
	data, errs := source.OpenImages(ctx, sources)
	cells := make([]cell, len(rows))
	for i, r := range rows {
		cells[i].row = r
		if errs[i] != nil {
			cells[i].reason = errs[i].Error()
			continue
		}
		img, err := decode(data[i])
		if err != nil {
			cells[i].reason = err.Error()
			continue
		}
		cells[i].img = img
	}
	return cells
}

func decode(b []byte) (image.Image, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("decode image: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, fmt.Errorf("decode image: %s of %dx%d pixels is outside 1..%d pixels", format, cfg.Width, cfg.Height, MaxPixels)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("decode %s image: %w", format, err)
	}
	return img, nil
}

// geometry is where a sheet's parts go.
type geometry struct {
	cols, rows, thumb int
}

func newGeometry(n int, s settings) geometry {
	cols := s.cols
	if cols == 0 {
		cols = int(math.Ceil(math.Sqrt(float64(n))))
	}
	cols = max(1, min(cols, n))
	return geometry{cols: cols, rows: (n + cols - 1) / cols, thumb: s.thumb}
}

func (g geometry) size() image.Point {
	return image.Pt(pad+g.cols*(g.thumb+pad), titleH+g.rows*(g.thumb+textH+pad))
}

// imageArea is cell i's square image area.
func (g geometry) imageArea(i int) image.Rectangle {
	x := pad + (i%g.cols)*(g.thumb+pad)
	y := titleH + (i/g.cols)*(g.thumb+textH+pad)
	return image.Rect(x, y, x+g.thumb, y+g.thumb)
}

// placement is the rectangle a w×h image is drawn into, scaled to fit the
// area and centred.
func placement(area image.Rectangle, w, h int) image.Rectangle {
	t := area.Dx()
	sc := math.Min(float64(t)/float64(w), float64(t)/float64(h))
	dw := max(1, int(math.Round(float64(w)*sc)))
	dh := max(1, int(math.Round(float64(h)*sc)))
	x := area.Min.X + (t-dw)/2
	y := area.Min.Y + (t-dh)/2
	return image.Rect(x, y, x+dw, y+dh)
}

// boxRect maps a box in original pixels (the row's width × height) onto
// the drawn image rectangle dst, clipped to it. ok is false for a box
// that is malformed or falls outside the image.
func boxRect(xyxy []float32, w, h int, dst image.Rectangle) (image.Rectangle, bool) {
	if len(xyxy) != 4 || w <= 0 || h <= 0 {
		return image.Rectangle{}, false
	}
	for _, v := range xyxy {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return image.Rectangle{}, false
		}
	}
	fx := float64(dst.Dx()) / float64(w)
	fy := float64(dst.Dy()) / float64(h)
	x1 := math.Min(float64(xyxy[0]), float64(xyxy[2]))
	x2 := math.Max(float64(xyxy[0]), float64(xyxy[2]))
	y1 := math.Min(float64(xyxy[1]), float64(xyxy[3]))
	y2 := math.Max(float64(xyxy[1]), float64(xyxy[3]))
	r := image.Rect(
		dst.Min.X+int(math.Round(x1*fx)), dst.Min.Y+int(math.Round(y1*fy)),
		dst.Min.X+int(math.Round(x2*fx)), dst.Min.Y+int(math.Round(y2*fy)),
	).Intersect(dst)
	if r.Empty() {
		return image.Rectangle{}, false
	}
	return r, true
}

// rowSize is the size boxes are measured in: the row's, else the image's.
func rowSize(r schemas.LabelRow, img image.Image) (int, int) {
	if r.Width > 0 && r.Height > 0 {
		return int(r.Width), int(r.Height)
	}
	b := img.Bounds()
	return b.Dx(), b.Dy()
}

func draw(out string, cells []cell, total int64, s settings) *image.RGBA {
	g := newGeometry(len(cells), s)
	sheet := image.NewRGBA(image.Rectangle{Max: g.size()})
	canvas.Fill(sheet, sheet.Bounds(), background)
	order := ", first by key"
	if s.seed != 0 {
		order = fmt.Sprintf(", sampled with seed %d", s.seed)
	}
	title := fmt.Sprintf(headerFmt, out, len(cells), total, order+s.from)
	canvas.Text(sheet, pad, pad, canvas.Truncate(title, (sheet.Bounds().Dx()-2*pad)/canvas.CharW), textColour)
	chars := s.thumb / canvas.CharW
	for i, c := range cells {
		area := g.imageArea(i)
		if c.img == nil {
			canvas.Fill(sheet, area, missingCell)
			lines := append([]string{"image unavailable:"}, canvas.Wrap(c.reason, chars-1, maxReason)...)
			canvas.Lines(sheet, area.Min.X+4, area.Min.Y+4, lines, missingText)
		} else {
			drawImage(sheet, area, c)
		}
		y := area.Max.Y + 4
		boxes := "boxes"
		if len(c.row.Boxes) == 1 {
			boxes = "box"
		}
		head := fmt.Sprintf("%s  %dx%d  %d %s", c.row.Key, c.row.Width, c.row.Height, len(c.row.Boxes), boxes)
		canvas.Text(sheet, area.Min.X, y, canvas.Truncate(head, chars), textColour)
		canvas.Lines(sheet, area.Min.X, y+canvas.CharH+canvas.LineGap, canvas.Wrap(c.row.Caption, chars, textLines-1), dimText)
	}
	return sheet
}

// drawImage draws one image scaled into its area, then its boxes, then
// the boxes' labels (so no outline hides a label).
func drawImage(sheet *image.RGBA, area image.Rectangle, c cell) {
	canvas.Fill(sheet, area, letterbox)
	b := c.img.Bounds()
	dst := placement(area, b.Dx(), b.Dy())
	xdraw.BiLinear.Scale(sheet, dst, c.img, b, xdraw.Src, nil)
	w, h := rowSize(c.row, c.img)
	type tag struct {
		r   image.Rectangle
		b   schemas.Box
		col color.RGBA
	}
	var tags []tag
	for _, bx := range c.row.Boxes {
		r, ok := boxRect(bx.XYXY, w, h, dst)
		if !ok {
			continue
		}
		col := Colour(bx.Phrase)
		canvas.Outline(sheet, r, boxWidth, col)
		tags = append(tags, tag{r, bx, col})
	}
	var placed []image.Rectangle
	for _, t := range tags {
		r := placeLabel(area, t.r, labelText(t.b, labelChars(area, t.r)), placed)
		placed = append(placed, r.Rectangle)
		canvas.Fill(sheet, r.Rectangle, t.col)
		canvas.Text(sheet, r.Min.X+labelPadX, r.Min.Y+1, r.text, canvas.Contrast(t.col))
	}
}

// labelChars is how many characters a box's label may have: the box's
// width, but at least half the cell and at most the whole cell.
func labelChars(area, box image.Rectangle) int {
	most := (area.Dx() - 2*labelPadX) / canvas.CharW
	return min(most, max(box.Dx()/canvas.CharW, most/2))
}

// labelText is "phrase score" in at most n characters, shortening the
// phrase first so the score stays readable.
func labelText(b schemas.Box, n int) string {
	score := fmt.Sprintf("%.2f", b.Score)
	phrase := strings.Join(strings.Fields(b.Phrase), " ")
	room := n - len(score) - 1
	switch {
	case utf8.RuneCountInString(phrase) <= room:
		return phrase + " " + score
	case room >= 4:
		return canvas.Truncate(phrase, room) + " " + score
	}
	return canvas.Truncate(score, n)
}

// labelRect is a placed label.
type labelRect struct {
	image.Rectangle
	text string
}

// placeLabel puts a label next to its box: above it, else just inside its
// top edge, else below it, else inside its bottom edge, taking the first
// place that stays in the cell and overlaps no label placed before.
func placeLabel(area, box image.Rectangle, text string, placed []image.Rectangle) labelRect {
	lw := canvas.Width(text) + 2*labelPadX
	x := max(area.Min.X, min(box.Min.X, area.Max.X-lw))
	var first image.Rectangle
	for _, y := range []int{box.Min.Y - labelH, box.Min.Y, box.Max.Y, box.Max.Y - labelH} {
		r := image.Rect(x, y, x+lw, y+labelH)
		if !r.In(area) {
			continue
		}
		if first.Empty() {
			first = r
		}
		free := true
		for _, p := range placed {
			if p.Overlaps(r) {
				free = false
				break
			}
		}
		if free {
			return labelRect{r, text}
		}
	}
	if first.Empty() { // the cell is shorter than a label: pin it to the top
		first = image.Rect(x, area.Min.Y, x+lw, area.Min.Y+labelH)
	}
	return labelRect{first, text}
}

// page is the HTML template's data.
type page struct {
	Out     string
	Shown   int
	Total   int64
	Sheet   template.URL
	Images  []pageImage
	Sampled string
}

type pageImage struct {
	Key, Source, Caption, Reason string
	Width, Height                int32
	Boxes                        []pageBox
}

type pageBox struct {
	Swatch  template.CSS
	Phrase  string
	Score   string
	Clip    string
	LabelID int32
	Span    string
	XYXY    string
}

var pageTemplate = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>groundbeam inspect: {{.Out}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; background: #fafafa; color: #222; }
img.sheet { max-width: 100%; border: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.4em 0 1.2em; }
th, td { border: 1px solid #ddd; padding: 0.2em 0.5em; text-align: left; vertical-align: top; }
th { background: #eee; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.swatch { display: inline-block; width: 1em; height: 1em; border: 1px solid #555; vertical-align: middle; }
.missing { color: #a00; }
code { font-size: 0.9em; }
</style>
</head>
<body>
<h1>groundbeam inspect</h1>
<p><code>{{.Out}}</code>: {{.Shown}} of {{.Total}} labelled images, {{.Sampled}}.</p>
<img class="sheet" src="{{.Sheet}}" alt="contact sheet of {{.Shown}} images with their boxes">
{{range .Images}}
<h2>{{.Key}}</h2>
<table>
<tr><th>source</th><td><code>{{.Source}}</code></td></tr>
<tr><th>size</th><td>{{.Width}} × {{.Height}}</td></tr>
<tr><th>caption</th><td>{{.Caption}}</td></tr>
{{if .Reason}}<tr><th>image</th><td class="missing">unavailable: {{.Reason}}</td></tr>{{end}}
</table>
{{if .Boxes}}<table>
<tr><th></th><th>phrase</th><th>score</th><th>clip score</th><th>label_id</th><th>chars</th><th>x1, y1, x2, y2</th></tr>
{{range .Boxes}}<tr><td><span class="swatch" style="background: {{.Swatch}}"></span></td><td>{{.Phrase}}</td><td class="num">{{.Score}}</td><td class="num">{{.Clip}}</td><td class="num">{{.LabelID}}</td><td class="num">{{.Span}}</td><td class="num">{{.XYXY}}</td></tr>
{{end}}</table>{{else}}<p>no boxes</p>{{end}}
{{end}}
</body>
</html>
`))

func renderHTML(out string, cells []cell, total int64, s settings, sheet []byte) ([]byte, error) {
	p := page{
		Out: out, Shown: len(cells), Total: total,
		Sheet:   template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(sheet)),
		Sampled: "the first by key",
	}
	if s.seed != 0 {
		p.Sampled = fmt.Sprintf("sampled with seed %d", s.seed)
	}
	p.Sampled += s.from
	for _, c := range cells {
		pi := pageImage{Key: c.row.Key, Source: c.row.Source, Caption: c.row.Caption, Reason: c.reason,
			Width: c.row.Width, Height: c.row.Height}
		for _, b := range c.row.Boxes {
			col := Colour(b.Phrase)
			pb := pageBox{
				Swatch:  template.CSS(fmt.Sprintf("#%02x%02x%02x", col.R, col.G, col.B)),
				Phrase:  b.Phrase,
				Score:   fmt.Sprintf("%.3f", b.Score),
				Clip:    "-",
				LabelID: b.LabelID,
				Span:    "-",
			}
			if b.ClipScore != nil {
				pb.Clip = fmt.Sprintf("%.3f", *b.ClipScore)
			}
			if b.CharStart >= 0 && b.CharEnd >= b.CharStart {
				pb.Span = fmt.Sprintf("%d–%d", b.CharStart, b.CharEnd)
			}
			xs := make([]string, len(b.XYXY))
			for i, v := range b.XYXY {
				xs[i] = fmt.Sprintf("%.1f", v)
			}
			pb.XYXY = strings.Join(xs, ", ")
			pi.Boxes = append(pi.Boxes, pb)
		}
		p.Images = append(p.Images, pi)
	}
	var buf bytes.Buffer
	if err := pageTemplate.Execute(&buf, p); err != nil {
		return nil, fmt.Errorf("inspect: render html: %w", err)
	}
	return buf.Bytes(), nil
}
