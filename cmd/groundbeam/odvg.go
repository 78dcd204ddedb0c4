package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"

	"github.com/groundbeam/groundbeam/pipelines/label"
	"github.com/groundbeam/groundbeam/pipelines/vocab"
	"github.com/groundbeam/groundbeam/report"
	"github.com/groundbeam/groundbeam/report/odvg"
	"github.com/groundbeam/groundbeam/schemas"
)

func runExportODVG(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("export odvg", "OUT --out DIR [flags]", `  groundbeam export odvg demo-out/out --out odvg --images
  groundbeam export odvg gs://bucket/lvis-run --out odvg --vocab lvis.txt --min-score 0.4`, stderr)
	applyS3 := addS3Flags(fs)
	dst := fs.String("out", "odvg", "folder to write, local, gs:// or s3://: one .jsonl per labels file (and label_map.json, images/)")
	mode := fs.String("mode", "auto", "grounding (caption phrases), detection (class ids and a label map), or auto: from the run's settings")
	names := fs.String("vocab", "", "detection: the vocabulary file the run was labelled with, for the label map (checked against the run's settings)")
	minScore := fs.Float64("min-score", 0, "leave out boxes scoring below this")
	minClip := fs.Float64("min-clip-score", math.NaN(), "leave out boxes whose CLIP region-text score (boxes.clip_score) is below this, or missing")
	images := fs.Bool("images", false, "also write every image into DIR/images/ under its line's filename")
	workers := fs.Int("workers", runtime.NumCPU(), "labels files exported at once")
	out, err := parseOut(fs, args, applyS3)
	if err != nil {
		return err
	}
	opts := odvg.Options{MinScore: float32(*minScore), Images: *images, Workers: *workers}
	if !math.IsNaN(*minClip) {
		opts.MinClipScore = new(float32(*minClip))
	}
	m, err := runSettingsOf(ctx, out)
	if err != nil {
		return err
	}
	if *mode == "auto" {
		if opts.Mode, err = autoMode(ctx, out, m); err != nil {
			return err
		}
	} else if opts.Mode, err = odvg.ParseMode(*mode); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *names != "" {
		if opts.Names, err = vocab.ReadNames(ctx, *names); err != nil {
			return err
		}
		if v := m.Vocabulary; v != nil {
			if got := label.NewVocabularyID(opts.Names); got != *v {
				return fmt.Errorf("--vocab %s has %d names (sha256 %.12s) but %s was labelled with %d (sha256 %.12s)", *names, got.Names, got.SHA256, out, v.Names, v.SHA256)
			}
		}
	}
	sum, err := odvg.Export(ctx, out, *dst, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s: %d images, %d boxes in %d files (%s)\n", *dst, sum.Lines, sum.Boxes, len(sum.Files), opts.Mode)
	if sum.LabelMap > 0 {
		fmt.Fprintf(stdout, "  %s: %d classes\n", odvg.LabelMapFile, sum.LabelMap)
	}
	if sum.SkippedBoxes > 0 {
		fmt.Fprintf(stdout, "  %d boxes left out (below --min-score or --min-clip-score, outside the image, or without a phrase span or class)\n", sum.SkippedBoxes)
	}
	if sum.Unreadable > 0 {
		fmt.Fprintf(stdout, "  %d images could not be read and were left out, the first: %s\n", sum.Unreadable, sum.FirstUnreadable)
	}
	return nil
}

// runSettingsOf returns what the export needs of a run's recorded
// settings: zero when the folder has no manifest or its manifest none.
func runSettingsOf(ctx context.Context, out string) (label.Settings, error) {
	var s label.Settings
	m, err := report.Manifest(ctx, out)
	if err != nil || m == nil {
		return s, err
	}
	if len(m.Settings) > 0 {
		if err := json.Unmarshal(m.Settings, &s); err != nil {
			return s, fmt.Errorf("%s: settings: %w", out, err)
		}
	}
	return s, nil
}

// errFound stops a scan once it has seen what it looked for.
var errFound = errors.New("found")

// autoMode is Detection for vocabulary runs and COCO annotations, and
// Grounding for caption phrases: from the run's settings when it recorded
// them, else from its first box's label id.
func autoMode(ctx context.Context, out string, s label.Settings) (odvg.Mode, error) {
	switch {
	case s.Job == "label" && s.Vocabulary != nil:
		return odvg.Detection, nil
	case s.Job == "label":
		return odvg.Grounding, nil
	}
	mode := odvg.Grounding
	err := report.ScanLabels(ctx, out, func(r schemas.LabelRow) error {
		for _, b := range report.TeacherBoxes(r.Boxes) {
			if b.LabelID >= 0 {
				mode = odvg.Detection
			}
			return errFound
		}
		return nil
	})
	if err != nil && !errors.Is(err, errFound) {
		return 0, err
	}
	return mode, nil
}
