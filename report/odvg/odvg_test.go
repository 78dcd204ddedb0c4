package odvg_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/report/internal/testout"
	"github.com/groundbeam/groundbeam/report/odvg"
)

// odvgLine is one line as a training loader reads it (mmdetection's
// ODVGDataset: a region's bbox may be one box or a list of boxes).
type odvgLine struct {
	Filename  string `json:"filename"`
	Height    int    `json:"height"`
	Width     int    `json:"width"`
	Key       string `json:"key"`
	Grounding *struct {
		Caption string `json:"caption"`
		Regions []struct {
			BBox           json.RawMessage `json:"bbox"`
			Phrase         string          `json:"phrase"`
			TokensPositive [][2]int        `json:"tokens_positive"`
			ClipScores     []float64       `json:"clip_scores"`
		} `json:"regions"`
	} `json:"grounding"`
	Detection *struct {
		Instances []struct {
			BBox     [4]float64 `json:"bbox"`
			Label    int        `json:"label"`
			Category string     `json:"category"`
			Score    float64    `json:"score"`
		} `json:"instances"`
	} `json:"detection"`
}

func readLines(t *testing.T, dir string) map[string]odvgLine {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]odvgLine{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(bytes.NewReader(raw))
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			var l odvgLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				t.Fatalf("%s: %v: %s", f, err, sc.Text())
			}
			lines[l.Key] = l
		}
	}
	return lines
}

// boxes reads a region's bbox, one box or a list of them.
func boxes(t *testing.T, raw json.RawMessage) [][4]float64 {
	t.Helper()
	var many [][4]float64
	if err := json.Unmarshal(raw, &many); err == nil {
		return many
	}
	var one [4]float64
	if err := json.Unmarshal(raw, &one); err != nil {
		t.Fatalf("bbox %s: %v", raw, err)
	}
	return [][4]float64{one}
}

func inside(b [4]float64, w, h int) bool {
	return b[0] >= 0 && b[1] >= 0 && b[2] <= float64(w) && b[3] <= float64(h) && b[2]-b[0] > 0 && b[3]-b[1] > 0
}

// TestGrounding exports a caption-phrase corpus: one file per labels file
// the manifest lists, a line per row with its caption, each phrase's boxes
// inside the image and its span naming the phrase in the caption, and the
// image itself under images/.
func TestGrounding(t *testing.T) {
	c := testout.Build(t, testout.Options{Pairs: 12, Manifest: true, Stale: true})
	dir := t.TempDir()
	sum, err := odvg.Export(context.Background(), c.Out, dir, odvg.Options{Mode: odvg.Grounding, Images: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Files) != 2 {
		t.Errorf("files %v, want the manifest's two (not the stale one)", sum.Files)
	}
	lines := readLines(t, dir)
	if len(lines) != len(c.Labels) || sum.Lines != len(c.Labels) {
		t.Fatalf("%d lines (summary %d), want %d", len(lines), sum.Lines, len(c.Labels))
	}
	images := map[string][]byte{}
	for _, p := range c.Pairs {
		images[p.Key] = p.Image
	}
	total := 0
	for _, r := range c.Labels {
		l, ok := lines[r.Key]
		if !ok || l.Grounding == nil || l.Detection != nil {
			t.Fatalf("%s: line %+v", r.Key, l)
		}
		if l.Grounding.Caption != r.Caption || l.Width != int(r.Width) || l.Height != int(r.Height) {
			t.Errorf("%s: caption %q %dx%d, row %q %dx%d", r.Key, l.Grounding.Caption, l.Width, l.Height, r.Caption, r.Width, r.Height)
		}
		got, err := os.ReadFile(filepath.Join(dir, odvg.ImagesDir, filepath.FromSlash(l.Filename)))
		if err != nil || !bytes.Equal(got, images[r.Key]) {
			t.Errorf("%s: image %s: %v (same bytes: %v)", r.Key, l.Filename, err, bytes.Equal(got, images[r.Key]))
		}
		runes := []rune(r.Caption)
		want := 0
		for _, b := range r.Boxes {
			if b.CharStart >= 0 {
				want++
			}
		}
		n := 0
		for _, g := range l.Grounding.Regions {
			if len(g.TokensPositive) != 1 {
				t.Fatalf("%s: tokens_positive %v", r.Key, g.TokensPositive)
			}
			s, e := g.TokensPositive[0][0], g.TokensPositive[0][1]
			if !strings.EqualFold(string(runes[s:e]), g.Phrase) {
				t.Errorf("%s: span %d:%d is %q, phrase %q", r.Key, s, e, string(runes[s:e]), g.Phrase)
			}
			for _, b := range boxes(t, g.BBox) {
				if !inside(b, l.Width, l.Height) {
					t.Errorf("%s: box %v outside %dx%d", r.Key, b, l.Width, l.Height)
				}
				n++
			}
		}
		if n != want {
			t.Errorf("%s: %d boxes, want %d", r.Key, n, want)
		}
		total += n
	}
	if sum.Boxes != total || total == 0 {
		t.Errorf("summary %d boxes, lines %d", sum.Boxes, total)
	}
}

// TestDetection exports a vocabulary corpus with its names: the label map
// is the vocabulary in id order, every instance's category is its label's
// name, and --min-score leaves out the boxes below it.
func TestDetection(t *testing.T) {
	c := testout.Build(t, testout.Options{Pairs: 12, Vocabulary: true, Manifest: true})
	for _, minScore := range []float32{0, 0.8} {
		dir := t.TempDir()
		sum, err := odvg.Export(context.Background(), c.Out, dir, odvg.Options{Mode: odvg.Detection, Names: testout.Kinds, MinScore: minScore})
		if err != nil {
			t.Fatal(err)
		}
		raw, err := os.ReadFile(filepath.Join(dir, odvg.LabelMapFile))
		if err != nil {
			t.Fatal(err)
		}
		var labelMap map[string]string
		if err := json.Unmarshal(raw, &labelMap); err != nil {
			t.Fatal(err)
		}
		if len(labelMap) != len(testout.Kinds) || labelMap["0"] != testout.Kinds[0] || labelMap["3"] != testout.Kinds[3] {
			t.Errorf("label map %v, want %v by index", labelMap, testout.Kinds)
		}
		if i0, i1 := bytes.Index(raw, []byte(`"0"`)), bytes.Index(raw, []byte(`"1"`)); i0 > i1 {
			t.Errorf("label map not in id order: %s", raw)
		}
		lines := readLines(t, dir)
		kept, dropped := 0, 0
		for _, r := range c.Labels {
			l := lines[r.Key]
			if l.Detection == nil || l.Grounding != nil {
				t.Fatalf("%s: line %+v", r.Key, l)
			}
			for _, in := range l.Detection.Instances {
				if in.Category != testout.Kinds[in.Label] || !inside(in.BBox, l.Width, l.Height) || float32(in.Score) < minScore {
					t.Errorf("%s: instance %+v", r.Key, in)
				}
			}
			for _, b := range r.Boxes {
				if b.Score >= minScore {
					kept++
				} else {
					dropped++
				}
			}
		}
		if sum.Boxes != kept || sum.SkippedBoxes != dropped {
			t.Errorf("min score %v: %d boxes written, %d left out; rows have %d at or above it, %d below", minScore, sum.Boxes, sum.SkippedBoxes, kept, dropped)
		}
		if minScore > 0 && dropped == 0 {
			t.Error("the threshold left nothing out: the case tests nothing")
		}
	}
}

// TestUnreadableImage: a row whose image is not in its shard is left out
// of the lines, counted and explained, and the rest are written.
func TestUnreadableImage(t *testing.T) {
	c := testout.Build(t, testout.Options{Pairs: 6, Manifest: true, Missing: true})
	dir := t.TempDir()
	sum, err := odvg.Export(context.Background(), c.Out, dir, odvg.Options{Mode: odvg.Grounding, Images: true})
	if err != nil {
		t.Fatal(err)
	}
	lines := readLines(t, dir)
	if sum.Unreadable != 1 || !strings.Contains(sum.FirstUnreadable, "no-such-member.jpg") || len(lines) != len(c.Labels)-1 {
		t.Errorf("unreadable %d (%q), %d lines of %d rows", sum.Unreadable, sum.FirstUnreadable, len(lines), len(c.Labels))
	}
	for k := range lines {
		if strings.Contains(lines[k].Filename, "no-such-member") {
			t.Errorf("line for the missing image: %+v", lines[k])
		}
	}
}

// TestMinClipScore keeps the boxes whose CLIP score reaches the threshold
// and writes each region's scores.
func TestMinClipScore(t *testing.T) {
	c := testout.Build(t, testout.Options{Pairs: 12, Manifest: true})
	dir := t.TempDir()
	threshold := float32(0.25)
	sum, err := odvg.Export(context.Background(), c.Out, dir, odvg.Options{Mode: odvg.Grounding, MinClipScore: &threshold})
	if err != nil {
		t.Fatal(err)
	}
	want, below := 0, 0
	for _, r := range c.Labels {
		for _, b := range r.Boxes {
			switch {
			case b.CharStart < 0:
			case *b.ClipScore >= threshold:
				want++
			default:
				below++
			}
		}
	}
	if sum.Boxes != want || below == 0 {
		t.Errorf("%d boxes written, want the %d at or over %v (%d under)", sum.Boxes, want, threshold, below)
	}
	for _, l := range readLines(t, dir) {
		for _, g := range l.Grounding.Regions {
			n := len(boxes(t, g.BBox))
			if len(g.ClipScores) != n {
				t.Errorf("%s: %d clip scores for %d boxes", l.Key, len(g.ClipScores), n)
			}
			for _, v := range g.ClipScores {
				if v < float64(threshold) {
					t.Errorf("%s: clip score %v under %v", l.Key, v, threshold)
				}
			}
		}
	}
}

// TestExportToGCS exports with several workers into a bucket: the same
// bytes, file for file, as one worker into a local folder, images
// included.
func TestExportToGCS(t *testing.T) {
	c := testout.Build(t, testout.Options{Pairs: 12, Vocabulary: true, Manifest: true})
	ctx := context.Background()
	local := t.TempDir()
	if _, err := odvg.Export(ctx, c.Out, local, odvg.Options{Mode: odvg.Detection, Images: true, Workers: 1}); err != nil {
		t.Fatal(err)
	}
	srv := testenv.GCS(t)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "out"})
	sum, err := odvg.Export(ctx, c.Out, "gs://out/odvg/", odvg.Options{Mode: odvg.Detection, Images: true, Workers: 4})
	if err != nil {
		t.Fatal(err)
	}
	if len(sum.Files) != 2 || sum.Files[0] != "gs://out/odvg/shard-00000.jsonl" {
		t.Errorf("files %v", sum.Files)
	}
	var n int
	err = filepath.WalkDir(local, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(local, p)
		want, _ := os.ReadFile(p)
		obj, err := srv.GetObject("out", "odvg/"+filepath.ToSlash(rel))
		if err != nil {
			t.Errorf("%s not in the bucket: %v", rel, err)
			return nil
		}
		if !bytes.Equal(obj.Content, want) {
			t.Errorf("%s differs between the local and the bucket export", rel)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n != 2+1+len(c.Labels) { // two .jsonl, the label map, the images
		t.Errorf("%d files compared, want %d", n, 3+len(c.Labels))
	}
}
