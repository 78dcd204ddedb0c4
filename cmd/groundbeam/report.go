package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/groundbeam/groundbeam/report/coco"
	"github.com/groundbeam/groundbeam/report/inspect"
	"github.com/groundbeam/groundbeam/report/stats"
)

func runInspect(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("inspect", "OUT [flags]", "  groundbeam inspect demo-out/out --n 16 --out sheet.png\n  groundbeam inspect gs://bucket/corpus --n 64 --seed 7 --files 4 --out sample.png", stderr)
	applyS3 := addS3Flags(fs)
	var o inspect.Options
	fs.IntVar(&o.N, "n", inspect.DefaultN, "images on the sheet")
	fs.IntVar(&o.Columns, "columns", 0, "columns (0: about square)")
	fs.IntVar(&o.Thumb, "thumb", inspect.DefaultThumb, "cell size in pixels")
	fs.Uint64Var(&o.Seed, "seed", 0, "0: the first N rows by key; otherwise a repeatable random sample")
	fs.IntVar(&o.Files, "files", 0, "read only this many labels files (chosen by --seed like the rows), for a quick look at a large corpus; 0: all")
	sheet := fs.String("out", "sheet.png", "contact sheet PNG; an HTML page is written beside it")
	out, err := parseOut(fs, args, applyS3)
	if err != nil {
		return err
	}
	png, html, err := inspect.Sheet(ctx, out, o)
	if err != nil {
		return err
	}
	page := strings.TrimSuffix(*sheet, filepath.Ext(*sheet)) + ".html"
	if err := os.WriteFile(*sheet, png, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(page, html, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "contact sheet: %s\npage: %s\n", *sheet, page)
	return nil
}

func runStats(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("stats", "OUT [flags]", "  groundbeam stats demo-out/out\n  groundbeam stats gs://bucket/corpus --chart stats.png", stderr)
	applyS3 := addS3Flags(fs)
	chart := fs.String("chart", "", "also write the histograms as a PNG chart here")
	asJSON := fs.Bool("json", false, "print the summary as one JSON object instead of text (with the manifest, when there is one)")
	out, err := parseOut(fs, args, applyS3)
	if err != nil {
		return err
	}
	s, err := stats.Compute(ctx, out)
	if err != nil {
		return err
	}
	if *asJSON {
		raw, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s\n", raw)
	} else {
		fmt.Fprint(stdout, s.Text())
	}
	if *chart != "" {
		png, err := s.Chart()
		if err != nil {
			return err
		}
		if err := os.WriteFile(*chart, png, 0o644); err != nil {
			return err
		}
		if !*asJSON {
			fmt.Fprintf(stdout, "chart: %s\n", *chart)
		}
	}
	return nil
}

func runExport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "odvg" {
		return runExportODVG(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "coco" {
		return fmt.Errorf("%w: want `export coco OUT --out instances.json` or `export odvg OUT --out DIR`", errUsage)
	}
	fs := newFlags("export coco", "OUT --out instances.json [flags]", "  groundbeam export coco demo-out/out --out instances.json", stderr)
	applyS3 := addS3Flags(fs)
	dst := fs.String("out", "instances.json", "COCO instances JSON to write")
	cats := fs.String("categories", "auto", "categories: auto, phrases or vocabulary")
	out, err := parseOut(fs, args[1:], applyS3)
	if err != nil {
		return err
	}
	mode, err := coco.ParseCategoryMode(*cats)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	f, err := os.Create(*dst)
	if err != nil {
		return err
	}
	sum, err := coco.Export(ctx, out, f, coco.Options{Categories: mode})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(*dst)
		return err
	}
	fmt.Fprintf(stdout, "%s: %d images, %d annotations, %d categories\n", *dst, sum.Images, sum.Annotations, sum.Categories)
	return nil
}

// parseOut parses a report command's flags and its one OUT folder, then
// applies the S3 flags.
func parseOut(fs *flag.FlagSet, args []string, applyS3 func() error) (string, error) {
	pos, err := parse(fs, args)
	if err != nil {
		return "", err
	}
	if len(pos) != 1 {
		return "", fmt.Errorf("%w: want one OUT folder", errUsage)
	}
	return pos[0], applyS3()
}
