package stats_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/groundbeam/groundbeam/report/internal/testout"
	"github.com/groundbeam/groundbeam/report/stats"
	"github.com/groundbeam/groundbeam/schemas"
)

// readDirect reads every committed file of a table straight from disk.
func readDirect[T any](t *testing.T, dir string) []T {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []T
	for _, n := range names {
		rs, err := parquet.ReadFile[T](n)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, rs...)
	}
	return rows
}

func sortedCounts(m map[string]int64) []stats.Count {
	var out []stats.Count
	for k, v := range m {
		out = append(out, stats.Count{Name: k, Count: v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Name < out[j].Name
	})
	return out
}

func TestCompute(t *testing.T) {
	tests := []struct {
		name string
		opts testout.Options
	}{
		{"phrases with manifest", testout.Options{Pairs: 14, Manifest: true}},
		{"vocabulary without manifest", testout.Options{Vocabulary: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testout.Build(t, tt.opts)
			labels := readDirect[schemas.LabelRow](t, filepath.Join(c.Out, "labels"))
			errs := readDirect[schemas.ErrorRow](t, filepath.Join(c.Out, "errors"))
			if len(labels) != len(c.Labels) || len(errs) != len(c.Errors) {
				t.Fatalf("direct read: %d labels, %d errors; wrote %d, %d", len(labels), len(errs), len(c.Labels), len(c.Errors))
			}

			// Expected numbers, counted straight from the Parquet rows.
			var withBoxes, boxes int64
			perImage := make([]int64, 7)
			scores := make([]int64, 10)
			phrases := map[string]int64{}
			for _, r := range labels {
				n := len(r.Boxes)
				boxes += int64(n)
				if n > 0 {
					withBoxes++
				}
				switch {
				case n <= 2:
					perImage[n]++
				case n <= 5:
					perImage[3]++
				case n <= 10:
					perImage[4]++
				case n <= 20:
					perImage[5]++
				default:
					perImage[6]++
				}
				for _, b := range r.Boxes {
					for k := 9; k >= 0; k-- {
						if b.Score >= float32(k)/10 {
							scores[k]++
							break
						}
					}
					phrases[strings.ToLower(strings.TrimSpace(b.Phrase))]++
				}
			}
			stages, reasons := map[string]int64{}, map[string]int64{}
			for _, e := range errs {
				stages[e.Stage]++
				reasons[e.Reason]++
			}

			got, err := stats.Compute(context.Background(), c.Out)
			if err != nil {
				t.Fatal(err)
			}
			check := func(what string, got, want any) {
				t.Helper()
				if fmt.Sprint(got) != fmt.Sprint(want) {
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}
			check("Rows", got.Rows, len(labels))
			check("ImagesWithBoxes", got.ImagesWithBoxes, withBoxes)
			check("Boxes", got.Boxes, boxes)
			check("LabelFiles", got.LabelFiles, 2)
			check("ErrorFiles", got.ErrorFiles, 2)
			var gotPer, gotScores []int64
			for _, b := range got.BoxesPerImage {
				gotPer = append(gotPer, b.Count)
			}
			for _, b := range got.Scores {
				gotScores = append(gotScores, b.Count)
			}
			check("BoxesPerImage", gotPer, perImage)
			check("Scores", gotScores, scores)
			check("bin labels", got.BoxesPerImage[3].Label+" "+got.Scores[7].Label, "3-5 0.7-0.8")
			check("ScoresOutOfRange", got.ScoresOutOfRange, 0)
			check("DistinctPhrases", got.DistinctPhrases, len(phrases))
			wantTop := sortedCounts(phrases)
			if len(wantTop) > stats.TopPhrases {
				wantTop = wantTop[:stats.TopPhrases]
			}
			check("TopPhrases", got.TopPhrases, wantTop)
			check("Rejected", got.Rejected, len(errs))
			check("RejectedByStage", got.RejectedByStage, sortedCounts(stages))
			check("RejectedByReason", got.RejectedByReason, sortedCounts(reasons))
			if tt.opts.Manifest {
				if got.Manifest == nil {
					t.Fatal("manifest not read")
				}
				check("manifest labelled", got.Manifest.Totals.Labelled, len(labels))
				check("manifest boxes", got.Manifest.Totals.Boxes, boxes)
			} else if got.Manifest != nil {
				t.Error("manifest reported for a folder without one")
			}

			// CLIP scores: every teacher box of testout has one
			var clipN int64
			var clipSum float64
			for _, r := range labels {
				for _, b := range r.Boxes {
					if b.ClipScore != nil {
						clipN++
						clipSum += float64(*b.ClipScore)
					}
				}
			}
			if got.ClipScored != clipN || clipN == 0 || math.Abs(got.ClipScoreMean-clipSum/float64(clipN)) > 1e-9 {
				t.Errorf("clip scores: %d, mean %v; want %d, mean %v", got.ClipScored, got.ClipScoreMean, clipN, clipSum/float64(clipN))
			}

			text := got.Text()
			for _, want := range []string{
				fmt.Sprintf("labelled images (rows)  %d", len(labels)),
				fmt.Sprintf("boxes                   %d", boxes),
				fmt.Sprintf("clip scores             %d boxes: mean %.3f", clipN, clipSum/float64(clipN)),
				"boxes per image", "box scores", "top phrases", "rejected by reason", "empty caption",
			} {
				if !strings.Contains(text, want) {
					t.Errorf("Text() lacks %q:\n%s", want, text)
				}
			}
			if tt.opts.Manifest && !strings.Contains(text, "matches the files read") {
				t.Errorf("Text() does not confirm the manifest:\n%s", text)
			}

			chart, err := got.Chart()
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(chart))
			if err != nil {
				t.Fatalf("chart does not decode: %v", err)
			}
			if b := img.Bounds(); b.Dx() < 800 || b.Dy() < 300 {
				t.Errorf("chart is only %v", b)
			}
			if dir := os.Getenv("GROUNDBEAM_REPORT_ARTIFACTS"); dir != "" {
				name := strings.ReplaceAll(tt.name, " ", "-")
				os.WriteFile(filepath.Join(dir, "stats-"+name+".png"), chart, 0o644)
				os.WriteFile(filepath.Join(dir, "stats-"+name+".txt"), []byte(text), 0o644)
			}
		})
	}
}

// TestManifestFilesAndMismatch: files an earlier run left in the folder
// are named and not read; a listed file that holds other rows than the
// manifest counts is flagged; an empty folder is no output.
func TestManifestFilesAndMismatch(t *testing.T) {
	c := testout.Build(t, testout.Options{Manifest: true, Stale: true})
	s, err := stats.Compute(context.Background(), c.Out)
	if err != nil {
		t.Fatal(err)
	}
	if s.Rows != int64(len(c.Labels)) || s.Rejected != int64(len(c.Errors)) || s.LabelFiles != 2 || s.ErrorFiles != 2 {
		t.Errorf("read %d rows, %d rejected from %d+%d files; want %d, %d from 2+2 (the stale files skipped)",
			s.Rows, s.Rejected, s.LabelFiles, s.ErrorFiles, len(c.Labels), len(c.Errors))
	}
	if len(s.IgnoredFiles) != 2 || !strings.Contains(s.Text(), "ignored files           2 not in the manifest") ||
		!strings.Contains(s.Text(), "matches the files read") {
		t.Errorf("ignored %v:\n%s", s.IgnoredFiles, s.Text())
	}

	// A listed file rewritten with one row more than the manifest counts.
	first := filepath.Join(c.Out, "labels", "shard-00000.parquet")
	rows, err := parquet.ReadFile[schemas.LabelRow](first)
	if err != nil {
		t.Fatal(err)
	}
	rows = append(rows, schemas.LabelRow{Key: "x", Width: 4, Height: 4})
	if err := parquet.WriteFile(first, rows); err != nil {
		t.Fatal(err)
	}
	if s, err = stats.Compute(context.Background(), c.Out); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s.Text(), "MISMATCH") {
		t.Errorf("Text() does not flag the manifest mismatch:\n%s", s.Text())
	}
	if _, err := stats.Compute(context.Background(), t.TempDir()); !errors.Is(err, stats.ErrNoOutput) {
		t.Errorf("empty folder: got %v, want ErrNoOutput", err)
	}
}

func TestOutOfRangeScores(t *testing.T) {
	out := t.TempDir()
	rows := []schemas.LabelRow{{Key: "a", Width: 9, Height: 9, Boxes: []schemas.Box{
		{XYXY: []float32{0, 0, 1, 1}, Score: 1, Phrase: "A"},
		{XYXY: []float32{0, 0, 1, 1}, Score: 0, Phrase: "a"},
		{XYXY: []float32{0, 0, 1, 1}, Score: 1.5, Phrase: "b"},
		{XYXY: []float32{0, 0, 1, 1}, Score: -0.1, Phrase: "b"},
		// region proposals are left out of every count
		{XYXY: []float32{0, 0, 1, 1}, Phrase: "a", Kind: schemas.KindProposal},
		{XYXY: []float32{0, 0, 1, 1}, Phrase: "a", Kind: schemas.KindProposal},
	}}}
	if err := os.MkdirAll(filepath.Join(out, "labels"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := parquet.WriteFile(filepath.Join(out, "labels", "a.parquet"), rows); err != nil {
		t.Fatal(err)
	}
	s, err := stats.Compute(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	if s.ScoresOutOfRange != 2 || s.Scores[0].Count != 1 || s.Scores[9].Count != 1 {
		t.Errorf("out of range %d, bin 0 %d, bin 9 %d; want 2, 1, 1", s.ScoresOutOfRange, s.Scores[0].Count, s.Scores[9].Count)
	}
	if s.BoxesPerImage[3].Count != 1 || s.TopPhrases[0] != (stats.Count{Name: "a", Count: 2}) {
		t.Errorf("bins %v, top %v", s.BoxesPerImage, s.TopPhrases)
	}
}
