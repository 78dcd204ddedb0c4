package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/groundbeam/groundbeam/model/clip"
	"github.com/groundbeam/groundbeam/pipelines/vocab"
)

func runVocab(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("vocab", "--names FILE --clip BUNDLE --output OUT [--templates FILE] [flags]",
		`  # LVIS's 1,203 class names with ViLD's 63 prompt templates
  groundbeam vocab --names lvis_names.txt --clip models/clip --output gs://bucket/corpus
  groundbeam vocab --names classes.txt --templates my_templates.txt --clip demo/models/clip --output demo/out

The names file has one class name per line; a name's label_id is its line's
0-based index, so blank lines are refused. A templates file has one template
per line with {} for the name ({article} gives "a" or "an").`, stderr)
	var cfg vocab.Config
	var namesFile, tplFile string
	fs.StringVar(&namesFile, "names", "", "class names, one per line (local, gs:// or s3://)")
	fs.StringVar(&tplFile, "templates", "", fmt.Sprintf("prompt templates, one per line with {} (default ViLD's %d)", len(clip.ViLDTemplates())))
	fs.StringVar(&cfg.CLIP, "clip", "", "CLIP model bundle folder (with a text tower)")
	fs.StringVar(&cfg.Output, "output", "", "output folder (local, gs:// or s3://); the job writes only OUT/vocab and OUT/"+vocab.ManifestFile)
	fs.IntVar(&cfg.ChunkSize, "chunk-size", vocab.DefaultChunkSize, "names per output file (and per work unit)")
	fs.IntVar(&cfg.BatchSize, "batch-size", clip.DefaultTextBatch, "prompts per text-tower call")
	fs.Int64Var(&cfg.RowGroup, "row-group", 1024, "most rows per Parquet row group")
	addSessionFlags(fs, &cfg.OrtLib, &cfg.Session)
	applyBeam := addBeamFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	for _, need := range []struct{ v, name string }{{namesFile, "--names"}, {cfg.CLIP, "--clip"}, {cfg.Output, "--output"}} {
		if need.v == "" {
			return fmt.Errorf("%w: %s is required", errUsage, need.name)
		}
	}
	if cfg.Names, err = vocab.ReadNames(ctx, namesFile); err != nil {
		return err
	}
	if tplFile != "" {
		if cfg.Templates, err = vocab.ReadTemplates(ctx, tplFile); err != nil {
			return err
		}
	}
	if err := applyBeam(); err != nil {
		return err
	}
	pipe, plan, err := vocab.Build(ctx, cfg)
	if err != nil {
		return err
	}
	for _, d := range plan.Duplicates {
		lines := make([]string, len(d.LabelIDs))
		for i, id := range d.LabelIDs {
			lines[i] = fmt.Sprint(id + 1)
		}
		fmt.Fprintf(stderr, "groundbeam vocab: warning: %q is on lines %s (label ids %v): they get the same embedding\n",
			d.Name, strings.Join(lines, ", "), d.LabelIDs)
	}
	res, err := vocab.Execute(ctx, pipe, plan, cfg.Output)
	if err != nil {
		return err
	}
	out := strings.TrimRight(cfg.Output, "/")
	files := "files"
	if len(res.Manifest.Files) == 1 {
		files = "file"
	}
	fmt.Fprintf(stdout, "embedded %d names × %d templates with %s, in %d %s\n", res.Manifest.Names, plan.Templates, plan.CLIP, len(res.Manifest.Files), files)
	if n := res.Counters["prompts_truncated"]; n > 0 {
		fmt.Fprintf(stdout, "%d prompts were over the text tower's 77 tokens and were cut\n", n)
	}
	for _, f := range res.Manifest.Files {
		fmt.Fprintf(stdout, "  %s/%s  %d rows\n", out, f.Path, f.Rows)
	}
	fmt.Fprintf(stdout, "manifest: %s/%s\n", out, vocab.ManifestFile)
	return nil
}
