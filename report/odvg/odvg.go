// Package odvg exports a groundbeam output folder as ODVG JSON lines, the
// object-detection / visual-grounding format that Grounding DINO and
// MM-Grounding-DINO train on (mmdetection's ODVGDataset): one JSON object
// per labelled image, with
//
//   - for grounding: the caption and one region per grounded phrase, its
//     boxes and the phrase's character span ("tokens_positive");
//   - for detection: one instance per box with its label id, and a
//     label_map.json of the class names by id.
//
// Boxes are [x1, y1, x2, y2] in pixels of the original image, clipped to
// it. One .jsonl file is written per labels file, named after it, so a
// corpus of many shards exports shard by shard and the files can be
// concatenated or listed. Each line's "filename" is a path relative to the
// export's images/ folder, where Options.Images puts the image itself.
package odvg

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"golang.org/x/sync/errgroup"

	"github.com/groundbeam/groundbeam/report"
	"github.com/groundbeam/groundbeam/schemas"
	"github.com/groundbeam/groundbeam/transforms/sink"
	"github.com/groundbeam/groundbeam/transforms/source"
)

// Mode says whether the lines are grounding or detection annotations.
type Mode int

// Modes.
const (
	// Grounding writes the caption and its grounded phrases: for runs
	// that grounded caption phrases.
	Grounding Mode = iota + 1
	// Detection writes class instances and a label map: for vocabulary
	// runs (and COCO annotations recomputed by embed --coco).
	Detection
)

// String names the mode: "grounding" or "detection".
func (m Mode) String() string {
	switch m {
	case Grounding:
		return "grounding"
	case Detection:
		return "detection"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode parses the names String gives.
func ParseMode(s string) (Mode, error) {
	for _, m := range []Mode{Grounding, Detection} {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("odvg: unknown mode %q (want grounding or detection)", s)
}

// LabelMapFile is the name of the label map Detection mode writes beside
// the lines: {"0": "name", ...}, mmdetection's label_map_file.
const LabelMapFile = "label_map.json"

// ImagesDir is the folder, inside the export, that Options.Images fills
// and that every line's filename is relative to.
const ImagesDir = "images"

// Options controls Export.
type Options struct {
	// Mode is Grounding or Detection (required).
	Mode Mode
	// Names are the class names by label id (the vocabulary file the run
	// was given), written as the label map in Detection mode. Without
	// them the label map holds the names the boxes carry, which leaves
	// out classes that were never found.
	Names []string
	// MinScore leaves out boxes whose score is below it.
	MinScore float32
	// MinClipScore, when set, leaves out boxes whose CLIP region-text
	// score (schemas.Box.ClipScore) is below it, and boxes without one.
	MinClipScore *float32
	// Images also writes each image into the export's images/ folder
	// under its line's filename; an image that cannot be read leaves its
	// line out (Summary.Unreadable).
	Images bool
	// Workers is how many labels files are exported at once (at least 1).
	Workers int
}

// Summary counts what Export wrote and what it left out.
type Summary struct {
	// Files are the .jsonl files written, one per labels file.
	Files []string
	// Lines is the number of images written, Boxes the boxes on them.
	Lines, Boxes int
	// Unsized counts rows without a positive width and height;
	// Unreadable rows whose image could not be read (with
	// Options.Images), and FirstUnreadable says why for the first.
	Unsized, Unreadable int
	FirstUnreadable     string
	// SkippedBoxes counts boxes left out: malformed or outside the
	// image, below MinScore or MinClipScore, without a phrase span inside
	// the caption (Grounding) or without a label id in range (Detection).
	SkippedBoxes int
	// LabelMap is the number of classes in label_map.json (Detection).
	LabelMap int
}

// line is one image's JSON line.
type line struct {
	Filename  string     `json:"filename"`
	Height    int32      `json:"height"`
	Width     int32      `json:"width"`
	Key       string     `json:"key"`
	Source    string     `json:"source"`
	Grounding *grounding `json:"grounding,omitempty"`
	Detection *detection `json:"detection,omitempty"`
}

type grounding struct {
	Caption string   `json:"caption"`
	Regions []region `json:"regions"`
}

// region is one phrase's boxes: mmdetection takes a list of boxes where
// it expects one.
type region struct {
	BBox           [][4]float64 `json:"bbox"`
	Phrase         string       `json:"phrase"`
	TokensPositive [][2]int32   `json:"tokens_positive"`
	Scores         []float32    `json:"scores"`
	// ClipScores are the boxes' CLIP scores, when every box has one.
	ClipScores []float32 `json:"clip_scores,omitempty"`
}

type detection struct {
	Instances []instance `json:"instances"`
}

type instance struct {
	BBox      [4]float64 `json:"bbox"`
	Label     int32      `json:"label"`
	Category  string     `json:"category"`
	Score     float32    `json:"score"`
	ClipScore *float32   `json:"clip_score,omitempty"`
}

// Export writes the labels under out (the files its manifest lists, local,
// gs:// or s3://) as ODVG into the folder dir (local, gs:// or s3://):
// dir/<labels file name>.jsonl per labels file, lines in row order, and in
// Detection mode dir/label_map.json. Options.Workers labels files are
// exported at once. Each file is written under a temporary name and
// renamed when complete. The same folder always gives the same bytes.
func Export(ctx context.Context, out, dir string, opts Options) (Summary, error) {
	var sum Summary
	if opts.Mode != Grounding && opts.Mode != Detection {
		return sum, fmt.Errorf("odvg: unknown mode %d", int(opts.Mode))
	}
	files, err := report.Files(ctx, out, report.LabelsTable)
	if err != nil {
		return sum, fmt.Errorf("odvg: %w", err)
	}
	dir = strings.TrimRight(dir, "/")
	results := make([]fileResult, len(files))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(max(opts.Workers, 1))
	for i, f := range files {
		g.Go(func() error {
			var err error
			results[i], err = exportFile(gctx, f, dir, opts)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return sum, fmt.Errorf("odvg: %w", err)
	}
	seen := map[int32]string{} // label id -> the first name a box gave it
	for _, r := range results {
		sum.Files = append(sum.Files, r.dst)
		sum.Lines += r.sum.Lines
		sum.Boxes += r.sum.Boxes
		sum.Unsized += r.sum.Unsized
		sum.Unreadable += r.sum.Unreadable
		sum.SkippedBoxes += r.sum.SkippedBoxes
		if sum.FirstUnreadable == "" {
			sum.FirstUnreadable = r.sum.FirstUnreadable
		}
		for id, n := range r.seen {
			if _, ok := seen[id]; !ok {
				seen[id] = n
			}
		}
	}
	if opts.Mode == Detection {
		labels := map[int32]string{}
		for id, n := range opts.Names {
			labels[int32(id)] = n
		}
		if opts.Names == nil {
			labels = seen
		}
		raw, err := labelMap(labels)
		if err != nil {
			return sum, fmt.Errorf("odvg: %w", err)
		}
		if err := put(ctx, nil, report.Join(dir, LabelMapFile), raw); err != nil {
			return sum, fmt.Errorf("odvg: %w", err)
		}
		sum.LabelMap = len(labels)
	}
	return sum, nil
}

// fileResult is one labels file's export: where its lines went, its
// counts, and the first name each label id had in it.
type fileResult struct {
	dst  string
	sum  Summary
	seen map[int32]string
}

// labelMap writes {"id": "name", ...} with the ids in numeric order.
func labelMap(labels map[int32]string) ([]byte, error) {
	ids := make([]int32, 0, len(labels))
	for id := range labels {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	var b strings.Builder
	b.WriteString("{")
	for i, id := range ids {
		name, err := json.Marshal(labels[id])
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteString(",")
		}
		fmt.Fprintf(&b, "\n  \"%d\": %s", id, name)
	}
	b.WriteString("\n}\n")
	return []byte(b.String()), nil
}

// exportFile writes one labels file's lines, and their images first
// when asked.
func exportFile(ctx context.Context, file, dir string, opts Options) (fileResult, error) {
	name := strings.TrimSuffix(path.Base(file), ".parquet")
	res := fileResult{dst: report.Join(dir, name+".jsonl"), seen: map[int32]string{}}
	fs, err := filesystem.New(ctx, res.dst)
	if err != nil {
		return res, fmt.Errorf("output %s: %w", dir, err)
	}
	defer fs.Close()
	var lines []line
	used := map[string]bool{}
	err = report.ScanLabelsFile(ctx, file, func(r schemas.LabelRow) error {
		if !report.Sized(r) {
			res.sum.Unsized++
			return nil
		}
		l := line{Filename: name + "/" + fileName(r, used), Height: r.Height, Width: r.Width, Key: r.Key, Source: r.Source}
		boxes := report.TeacherBoxes(r.Boxes) // proposals are not labels
		if opts.Mode == Grounding {
			l.Grounding = groundingOf(r, boxes, opts, &res.sum)
		} else {
			l.Detection = detectionOf(r, boxes, opts, res.seen, &res.sum)
		}
		lines = append(lines, l)
		return nil
	})
	if err != nil {
		return res, err
	}
	if opts.Images {
		if lines, err = writeImages(ctx, fs, dir, lines, &res.sum); err != nil {
			return res, err
		}
	}
	for _, l := range lines {
		res.sum.Lines++
		if l.Grounding != nil {
			for _, g := range l.Grounding.Regions {
				res.sum.Boxes += len(g.BBox)
			}
		} else {
			res.sum.Boxes += len(l.Detection.Instances)
		}
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for _, l := range lines {
		if err := enc.Encode(l); err != nil {
			return res, fmt.Errorf("write %s: %w", res.dst, err)
		}
	}
	return res, put(ctx, fs, res.dst, b.Bytes())
}

// groundingOf groups a row's boxes by phrase span, in the order of each
// span's best box.
func groundingOf(r schemas.LabelRow, boxes []schemas.Box, opts Options, sum *Summary) *grounding {
	g := &grounding{Caption: r.Caption, Regions: []region{}}
	runes := int32(utf8.RuneCountInString(r.Caption))
	bySpan := map[[2]int32]int{}
	for _, b := range boxes {
		box, ok := report.ClipBox(b, r)
		if !ok || !opts.keep(b) || b.CharStart < 0 || b.CharEnd <= b.CharStart || b.CharEnd > runes {
			sum.SkippedBoxes++
			continue
		}
		span := [2]int32{b.CharStart, b.CharEnd}
		i, ok := bySpan[span]
		if !ok {
			i = len(g.Regions)
			bySpan[span] = i
			g.Regions = append(g.Regions, region{Phrase: b.Phrase, TokensPositive: [][2]int32{span}})
		}
		g.Regions[i].BBox = append(g.Regions[i].BBox, box.XYXY())
		g.Regions[i].Scores = append(g.Regions[i].Scores, b.Score)
		if b.ClipScore != nil {
			g.Regions[i].ClipScores = append(g.Regions[i].ClipScores, *b.ClipScore)
		}
	}
	for i := range g.Regions {
		if len(g.Regions[i].ClipScores) != len(g.Regions[i].BBox) {
			g.Regions[i].ClipScores = nil
		}
	}
	return g
}

// keep reports whether a box passes the score thresholds.
func (o Options) keep(b schemas.Box) bool {
	if b.Score < o.MinScore {
		return false
	}
	return o.MinClipScore == nil || (b.ClipScore != nil && *b.ClipScore >= *o.MinClipScore)
}

// detectionOf makes one instance per box with a label id.
func detectionOf(r schemas.LabelRow, boxes []schemas.Box, opts Options, seen map[int32]string, sum *Summary) *detection {
	d := &detection{Instances: []instance{}}
	for _, b := range boxes {
		box, ok := report.ClipBox(b, r)
		inRange := b.LabelID >= 0 && (opts.Names == nil || int(b.LabelID) < len(opts.Names))
		if !ok || !opts.keep(b) || !inRange {
			sum.SkippedBoxes++
			continue
		}
		category := strings.TrimSpace(b.Phrase)
		if opts.Names != nil {
			category = opts.Names[b.LabelID]
		}
		if _, ok := seen[b.LabelID]; !ok {
			seen[b.LabelID] = category
		}
		d.Instances = append(d.Instances, instance{BBox: box.XYXY(), Label: b.LabelID, Category: category, Score: b.Score, ClipScore: b.ClipScore})
	}
	return d
}

// fileName is a row's image file name: its key made safe for a file name
// (and unique within the labels file), with the extension of its source.
func fileName(r schemas.LabelRow, used map[string]bool) string {
	key := strings.Map(func(c rune) rune {
		if c == '/' || c == '\\' || c < ' ' {
			return '_'
		}
		return c
	}, r.Key)
	key = strings.TrimLeft(key, ".")
	if key == "" {
		key = "_"
	}
	_, member := source.SplitSource(r.Source)
	if member == "" {
		member = r.Source
	}
	ext := strings.ToLower(path.Ext(member))
	if ext == "" || len(ext) > 5 {
		ext = ".jpg"
	}
	n := key + ext
	for i := 2; used[n]; i++ {
		n = fmt.Sprintf("%s~%d%s", key, i, ext)
	}
	used[n] = true
	return n
}

// writeImages writes each line's image under dir/images and returns the
// lines whose image was written.
func writeImages(ctx context.Context, fs filesystem.Interface, dir string, lines []line, sum *Summary) ([]line, error) {
	sources := make([]string, len(lines))
	for i, l := range lines {
		sources[i] = l.Source
	}
	ok := make([]bool, len(lines))
	err := source.EachImage(ctx, sources, func(i int, data []byte, err error) error {
		if err != nil {
			sum.Unreadable++
			if sum.FirstUnreadable == "" {
				sum.FirstUnreadable = err.Error()
			}
			return nil
		}
		if err := put(ctx, fs, report.Join(report.Join(dir, ImagesDir), lines[i].Filename), data); err != nil {
			return err
		}
		ok[i] = true
		return nil
	})
	if err != nil {
		return nil, err
	}
	kept := lines[:0]
	for i, l := range lines {
		if ok[i] {
			kept = append(kept, l)
		}
	}
	return kept, nil
}

// put writes data to name through a temporary name (sink.WriteAtomic),
// on fs, or on a file system opened for it when fs is nil.
func put(ctx context.Context, fs filesystem.Interface, name string, data []byte) error {
	if fs == nil {
		var err error
		if fs, err = filesystem.New(ctx, name); err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		defer fs.Close()
	}
	if err := sink.WriteAtomic(ctx, fs, name, data); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}
