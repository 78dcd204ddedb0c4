// Package stats summarises a groundbeam output folder: how many images
// were labelled, how boxes are spread over images and scores, which
// phrases are most common and why inputs were rejected. The summary comes
// as text and as a PNG bar chart.
package stats

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/groundbeam/groundbeam/report"
	"github.com/groundbeam/groundbeam/report/internal/canvas"
	"github.com/groundbeam/groundbeam/schemas"
	"github.com/groundbeam/groundbeam/transforms/sink"
)

// Limits of the summary.
const (
	// TopPhrases is how many phrases Stats.TopPhrases lists.
	TopPhrases = 20
	// MaxReasons is how many distinct rejection reasons are counted one by
	// one; rarer reasons seen after that are counted under OtherReasons.
	MaxReasons = 1000
	// OtherReasons names the bucket of reasons past MaxReasons.
	OtherReasons = "(other reasons)"
)

// BoxBins are the labels of the boxes-per-image histogram's bins: 0, 1, 2,
// 3–5, 6–10, 11–20 and 21 or more boxes.
var BoxBins = []string{"0", "1", "2", "3-5", "6-10", "11-20", "21+"}

// boxBinUpper is the largest box count of each bin but the last.
var boxBinUpper = []int{0, 1, 2, 5, 10, 20}

// ScoreBins is the number of equal-width score bins over [0, 1]; bin i
// holds scores in [i/10, (i+1)/10), the last one also holds 1.
const ScoreBins = 10

// Bin is one histogram bar.
type Bin struct {
	Label string `json:"label"` // the bin's range, e.g. "3-5" or "0.7-0.8"
	Count int64  `json:"count"` // how many images or boxes fall in it
}

// Count is a name with how often it occurs.
type Count struct {
	Name  string `json:"name"`  // the phrase, stage or reason
	Count int64  `json:"count"` // how often it occurs
}

// Stats is the summary of one output folder.
type Stats struct {
	// Out is the output folder summarised.
	Out string `json:"out"`
	// LabelFiles and ErrorFiles are the committed Parquet files read.
	LabelFiles int `json:"label_files"`
	ErrorFiles int `json:"error_files"`
	// IgnoredFiles are the Parquet files under the label and error
	// folders that the manifest does not list (an earlier run's into the
	// same folder): not read.
	IgnoredFiles []string `json:"ignored_files,omitempty"`
	// Rows is the number of labelled images (label rows).
	Rows int64 `json:"rows"`
	// ImagesWithBoxes counts rows with at least one box.
	ImagesWithBoxes int64 `json:"images_with_boxes"`
	// Boxes is the total number of boxes.
	Boxes int64 `json:"boxes"`
	// BoxesPerImage is the histogram of boxes per row, bins as BoxBins.
	BoxesPerImage []Bin `json:"boxes_per_image"`
	// Scores is the histogram of box scores, ScoreBins bins over [0, 1].
	Scores []Bin `json:"scores"`
	// ScoresOutOfRange counts boxes whose score is NaN or outside [0, 1];
	// they are in no Scores bin.
	ScoresOutOfRange int64 `json:"scores_out_of_range"`
	// ClipScored counts the boxes with a CLIP region-text score
	// (schemas.Box.ClipScore); ClipScoreMean, ClipScoreMin and
	// ClipScoreMax summarise those scores.
	ClipScored    int64   `json:"clip_scored"`
	ClipScoreMean float64 `json:"clip_score_mean"`
	ClipScoreMin  float64 `json:"clip_score_min"`
	ClipScoreMax  float64 `json:"clip_score_max"`
	// DistinctPhrases is the number of distinct lower-cased phrases.
	DistinctPhrases int `json:"distinct_phrases"`
	// TopPhrases are the TopPhrases most frequent lower-cased, trimmed
	// phrases, most frequent first (ties by name).
	TopPhrases []Count `json:"top_phrases"`
	// Rejected is the number of error rows.
	Rejected int64 `json:"rejected"`
	// RejectedByStage and RejectedByReason count error rows per stage and
	// per reason, most frequent first (ties by name).
	RejectedByStage  []Count `json:"rejected_by_stage"`
	RejectedByReason []Count `json:"rejected_by_reason"`
	// Manifest is OUT/_manifest.json, nil when the folder has none (a run
	// that has not finished).
	Manifest *sink.Manifest `json:"manifest,omitempty"`
}

// ErrNoOutput is returned by Compute when the folder holds no label
// files, no error files and no manifest.
var ErrNoOutput = errors.New("stats: no groundbeam output")

// Compute reads every committed label and error file under out (local or
// gs://), one batch of rows at a time, and the manifest when there is one.
func Compute(ctx context.Context, out string) (*Stats, error) {
	s := &Stats{Out: out}
	m, err := report.Manifest(ctx, out) // read once, for every listing below
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	s.Manifest = m
	labels, err := report.FilesOf(ctx, out, report.LabelsTable, m)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	errorFiles, err := report.FilesOf(ctx, out, report.ErrorsTable, m)
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	s.LabelFiles, s.ErrorFiles = len(labels), len(errorFiles)
	if len(labels)+len(errorFiles) == 0 && m == nil {
		return nil, fmt.Errorf("%w under %s", ErrNoOutput, out)
	}
	for _, t := range []string{report.LabelsTable, report.ErrorsTable} {
		extra, err := report.UnlistedOf(ctx, out, t, m)
		if err != nil {
			return nil, fmt.Errorf("stats: %w", err)
		}
		s.IgnoredFiles = append(s.IgnoredFiles, extra...)
	}

	perImage := make([]int64, len(BoxBins))
	scores := make([]int64, ScoreBins)
	phrases := map[string]int64{}
	var clipSum float64
	scan := func(r schemas.LabelRow) error {
		s.Rows++
		r.Boxes = report.TeacherBoxes(r.Boxes) // proposals are not labels
		n := len(r.Boxes)
		s.Boxes += int64(n)
		if n > 0 {
			s.ImagesWithBoxes++
		}
		perImage[boxBin(n)]++
		for _, b := range r.Boxes {
			if i, ok := scoreBin(b.Score); ok {
				scores[i]++
			} else {
				s.ScoresOutOfRange++
			}
			phrases[report.NormalisePhrase(b.Phrase)]++
			if c := b.ClipScore; c != nil && !math.IsNaN(float64(*c)) {
				v := float64(*c)
				if s.ClipScored == 0 || v < s.ClipScoreMin {
					s.ClipScoreMin = v
				}
				if s.ClipScored == 0 || v > s.ClipScoreMax {
					s.ClipScoreMax = v
				}
				s.ClipScored++
				clipSum += v
			}
		}
		return nil
	}
	for _, f := range labels {
		if err = report.ScanLabelsFile(ctx, f, scan); err != nil {
			break
		}
	}
	if s.ClipScored > 0 {
		s.ClipScoreMean = clipSum / float64(s.ClipScored)
	}
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	s.BoxesPerImage = make([]Bin, len(BoxBins))
	for i, l := range BoxBins {
		s.BoxesPerImage[i] = Bin{Label: l, Count: perImage[i]}
	}
	s.Scores = make([]Bin, ScoreBins)
	for i := range ScoreBins {
		s.Scores[i] = Bin{Label: fmt.Sprintf("%.1f-%.1f", float64(i)/ScoreBins, float64(i+1)/ScoreBins), Count: scores[i]}
	}
	s.DistinctPhrases = len(phrases)
	s.TopPhrases = top(phrases, TopPhrases)

	stages, reasons := map[string]int64{}, map[string]int64{}
	count := func(r schemas.ErrorRow) error {
		s.Rejected++
		stages[r.Stage]++
		reason := r.Reason
		if _, seen := reasons[reason]; !seen && len(reasons) >= MaxReasons {
			reason = OtherReasons
		}
		reasons[reason]++
		return nil
	}
	for _, f := range errorFiles {
		if err = report.ReadErrorsFile(ctx, f, count); err != nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("stats: %w", err)
	}
	s.RejectedByStage = top(stages, 0)
	s.RejectedByReason = top(reasons, 0)
	return s, nil
}

// boxBin is the BoxBins index for an image with n boxes.
func boxBin(n int) int {
	for i, hi := range boxBinUpper {
		if n <= hi {
			return i
		}
	}
	return len(BoxBins) - 1
}

// scoreBin is the Scores index of a score; ok is false for NaN or a
// score outside [0, 1].
func scoreBin(score float32) (int, bool) {
	if !(score >= 0 && score <= 1) {
		return 0, false
	}
	i := int(float32(score * ScoreBins)) // float32, so 0.7 lands in bin 7
	return min(i, ScoreBins-1), true
}

// top returns the n most frequent names (all when n is 0), most frequent
// first, ties by name.
func top(m map[string]int64, n int) []Count {
	out := make([]Count, 0, len(m))
	for k, v := range m {
		out = append(out, Count{Name: k, Count: v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	if n > 0 && len(out) > n {
		out = out[:n]
	}
	return out
}

// textReasons is how many rejection reasons Text lists.
const textReasons = 20

// Text renders the summary as plain text: totals, both histograms with
// bars of '#', the top phrases and the rejections.
func (s *Stats) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "groundbeam stats %s\n\n", s.Out)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "files\t%d labels, %d errors\n", s.LabelFiles, s.ErrorFiles)
	if n := len(s.IgnoredFiles); n > 0 {
		fmt.Fprintf(tw, "ignored files\t%d not in the manifest (an earlier run's), e.g. %s\n", n, s.IgnoredFiles[0])
	}
	fmt.Fprintf(tw, "labelled images (rows)\t%d\n", s.Rows)
	fmt.Fprintf(tw, "images with >= 1 box\t%d (%s)\n", s.ImagesWithBoxes, percent(s.ImagesWithBoxes, s.Rows))
	fmt.Fprintf(tw, "boxes\t%d (%s per image)\n", s.Boxes, ratio(s.Boxes, s.Rows))
	if s.ClipScored > 0 {
		fmt.Fprintf(tw, "clip scores\t%d boxes: mean %.3f, min %.3f, max %.3f\n", s.ClipScored, s.ClipScoreMean, s.ClipScoreMin, s.ClipScoreMax)
	}
	fmt.Fprintf(tw, "distinct phrases\t%d\n", s.DistinctPhrases)
	fmt.Fprintf(tw, "rejected inputs\t%d\n", s.Rejected)
	tw.Flush()
	if m := s.Manifest; m != nil {
		t := m.Totals
		fmt.Fprintf(&b, "\nmanifest totals: %d input pairs = %d labelled + %d rejected; %d boxes\n",
			t.InputPairs, t.Labelled, t.Rejected, t.Boxes)
		if m.SettingsHash != "" {
			fmt.Fprintf(&b, "  settings %s (teacher %s, clip %s; %s lists them)\n", m.SettingsHash, m.Teacher, m.CLIP, sink.ManifestFile)
		}
		if t.Labelled == s.Rows && t.Rejected == s.Rejected && t.Boxes == s.Boxes {
			b.WriteString("  matches the files read\n")
		} else {
			fmt.Fprintf(&b, "  MISMATCH: the files read hold %d labelled, %d rejected, %d boxes\n", s.Rows, s.Rejected, s.Boxes)
		}
	} else {
		b.WriteString("\nno manifest: the run has not finished, or failed\n")
	}
	b.WriteString("\nboxes per image\n")
	histogram(&b, s.BoxesPerImage)
	b.WriteString("\nbox scores\n")
	histogram(&b, s.Scores)
	if s.ScoresOutOfRange > 0 {
		fmt.Fprintf(&b, "  (%d scores NaN or outside [0, 1])\n", s.ScoresOutOfRange)
	}
	fmt.Fprintf(&b, "\ntop phrases (%d of %d)\n", len(s.TopPhrases), s.DistinctPhrases)
	counts(&b, s.TopPhrases, 0, s.Boxes)
	if s.Rejected > 0 {
		b.WriteString("\nrejected by stage\n")
		counts(&b, s.RejectedByStage, 0, s.Rejected)
		b.WriteString("\nrejected by reason\n")
		counts(&b, s.RejectedByReason, textReasons, s.Rejected)
	}
	lines := strings.Split(b.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

func percent(n, of int64) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}

func ratio(n, of int64) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", float64(n)/float64(of))
}

// histogram writes one line per bin with a bar scaled to the largest bin.
func histogram(b *strings.Builder, bins []Bin) {
	const width = 40
	var most, total int64
	for _, x := range bins {
		most = max(most, x.Count)
		total += x.Count
	}
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	for _, x := range bins {
		bar := 0
		if most > 0 {
			bar = int(math.Round(float64(x.Count) * width / float64(most)))
		}
		if bar == 0 && x.Count > 0 {
			bar = 1
		}
		fmt.Fprintf(tw, "  %s\t%d\t%s\t%s\n", x.Label, x.Count, percent(x.Count, total), strings.Repeat("#", bar))
	}
	tw.Flush()
}

// counts writes name/count lines, at most limit (all when 0).
func counts(b *strings.Builder, cs []Count, limit int, of int64) {
	shown := cs
	if limit > 0 && len(shown) > limit {
		shown = shown[:limit]
	}
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	for _, c := range shown {
		fmt.Fprintf(tw, "  %s\t%d\t%s\n", c.Name, c.Count, percent(c.Count, of))
	}
	tw.Flush()
	if len(shown) < len(cs) {
		fmt.Fprintf(b, "  ... %d more\n", len(cs)-len(shown))
	}
}

// Chart layout, in pixels.
const (
	panelW   = 520
	panelH   = 340
	chartPad = 16
)

// Chart colours.
var (
	chartBG    = color.RGBA{255, 255, 255, 255}
	chartInk   = color.RGBA{40, 40, 40, 255}
	chartGrid  = color.RGBA{225, 225, 225, 255}
	boxesBar   = color.RGBA{0, 114, 178, 255}
	scoresBar  = color.RGBA{213, 94, 0, 255}
	chartTitle = "groundbeam stats"
)

// Chart draws the boxes-per-image and score histograms side by side as
// bar charts, each bar labelled with its count, and returns the PNG.
func (s *Stats) Chart() ([]byte, error) {
	w := 2*panelW + 3*chartPad
	h := panelH + 2*chartPad + canvas.CharH + chartPad
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	canvas.Fill(img, img.Bounds(), chartBG)
	title := fmt.Sprintf("%s  %s: %d images, %d boxes, %d rejected", chartTitle, s.Out, s.Rows, s.Boxes, s.Rejected)
	canvas.Text(img, chartPad, chartPad, canvas.Truncate(title, (w-2*chartPad)/canvas.CharW), chartInk)
	top := 2*chartPad + canvas.CharH
	left := image.Rect(chartPad, top, chartPad+panelW, top+panelH)
	right := left.Add(image.Pt(panelW+chartPad, 0))
	barChart(img, left, "boxes per image", "boxes", s.BoxesPerImage, nil, boxesBar)
	edges := make([]string, ScoreBins+1)
	for i := range edges {
		edges[i] = fmt.Sprintf("%.1f", float64(i)/ScoreBins)
	}
	barChart(img, right, "box scores", "score", s.Scores, edges, scoresBar)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("stats: encode chart: %w", err)
	}
	return buf.Bytes(), nil
}

// barChart draws one histogram into r: a title, horizontal grid lines
// with their values, one bar per bin with its count above it and, below
// the axis, each bin's label under its bar or, when edges is given (one
// more than bins), the bin edges at the bars' boundaries; then the x axis
// name.
func barChart(img *image.RGBA, r image.Rectangle, title, axis string, bins []Bin, edges []string, bar color.RGBA) {
	canvas.Outline(img, r, 1, chartGrid)
	canvas.Text(img, r.Min.X+8, r.Min.Y+6, title, chartInk)
	var most int64
	for _, b := range bins {
		most = max(most, b.Count)
	}
	scale := niceMax(most)
	yLabelW := canvas.Width(fmt.Sprint(scale)) + 8
	plot := image.Rect(r.Min.X+8+yLabelW, r.Min.Y+12+2*canvas.CharH, r.Max.X-8, r.Max.Y-12-2*canvas.CharH-canvas.LineGap)
	const gridLines = 4
	for g := 0; g <= gridLines; g++ {
		y := plot.Max.Y - g*plot.Dy()/gridLines
		canvas.Fill(img, image.Rect(plot.Min.X, y, plot.Max.X, y+1), chartGrid)
		v := fmt.Sprint(scale * int64(g) / gridLines)
		canvas.Text(img, plot.Min.X-4-canvas.Width(v), y-canvas.CharH/2, v, chartInk)
	}
	slot := plot.Dx() / len(bins)
	barW := max(1, slot*7/10)
	for i, b := range bins {
		x := plot.Min.X + i*slot + (slot-barW)/2
		hgt := int(math.Round(float64(b.Count) * float64(plot.Dy()) / float64(scale)))
		if b.Count > 0 && hgt == 0 {
			hgt = 1
		}
		canvas.Fill(img, image.Rect(x, plot.Max.Y-hgt, x+barW, plot.Max.Y), bar)
		count := fmt.Sprint(b.Count)
		canvas.Text(img, x+(barW-canvas.Width(count))/2, plot.Max.Y-hgt-canvas.CharH-2, count, chartInk)
		if edges == nil {
			canvas.Text(img, plot.Min.X+i*slot+(slot-canvas.Width(b.Label))/2, plot.Max.Y+4, b.Label, chartInk)
		}
	}
	for i, e := range edges {
		x := plot.Min.X + i*slot
		canvas.Fill(img, image.Rect(x, plot.Max.Y, x+1, plot.Max.Y+3), chartInk)
		canvas.Text(img, x-canvas.Width(e)/2, plot.Max.Y+4, e, chartInk)
	}
	canvas.Fill(img, image.Rect(plot.Min.X, plot.Max.Y, plot.Max.X, plot.Max.Y+1), chartInk)
	canvas.Text(img, plot.Min.X+(plot.Dx()-canvas.Width(axis))/2, plot.Max.Y+4+canvas.CharH+canvas.LineGap, axis, chartInk)
}

// niceMax rounds n up to 1, 2 or 5 times a power of ten, divisible into
// the four grid steps where it can be.
func niceMax(n int64) int64 {
	if n <= 4 {
		return 4
	}
	for p := int64(1); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if v := m * p * 4; v >= n {
				return v
			}
		}
	}
}
