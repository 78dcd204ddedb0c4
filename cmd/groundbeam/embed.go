package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	beamlog "github.com/apache/beam/sdks/v2/go/pkg/beam/log"

	"github.com/groundbeam/groundbeam/model/ort"
	"github.com/groundbeam/groundbeam/pipelines/embed"
	"github.com/groundbeam/groundbeam/transforms/region"
)

func runEmbed(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("embed", "(--input PREVIOUS_OUT | --coco INSTANCES.json --images ROOT) --clip BUNDLE --output OUT [flags]",
		`  # new CLIP targets for a finished run: every box kept, the teacher never loaded
  groundbeam embed --input gs://bucket/corpus --clip models/clip-l14 --output gs://bucket/corpus-l14
  # CLIP targets for COCO or LVIS ground-truth boxes
  groundbeam embed --coco annotations/instances_val2017.json --images gs://bucket/coco/val2017 \
      --clip models/clip --output gs://bucket/coco-val-clip
  groundbeam embed --coco lvis_v1_val.json --images /data/coco --clip models/clip --output out \
      --scales 1.0,1.5 --cpu-crops`, stderr)
	var cfg embed.Config
	fs.StringVar(&cfg.Input, "input", "", "a finished run's output folder (local, gs:// or s3://): its boxes get new embeddings")
	fs.StringVar(&cfg.COCO, "coco", "", "a COCO or LVIS instances JSON file (local, gs:// or s3://)")
	fs.StringVar(&cfg.Images, "images", "", "with --coco: the folder the images' file names are relative to (local, gs:// or s3://)")
	fs.StringVar(&cfg.Output, "output", "", "output folder (local, gs:// or s3://), not the input")
	fs.StringVar(&cfg.CLIP, "clip", "", "CLIP model bundle folder")
	fs.Func("scales", "crop enlargements whose embeddings are summed, comma-separated (default 1.0,1.5, ViLD's)", func(s string) error {
		var err error
		if cfg.Scales, err = parseScales(s); err == nil && len(cfg.Scales) > 8 {
			err = fmt.Errorf("%d scales: at most 8", len(cfg.Scales))
		}
		return err
	})
	fs.BoolVar(&cfg.CPUCrops, "cpu-crops", false, "crop on the CPU and run the image tower even when the bundle has a region graph")
	dtype := fs.String("embedding-dtype", "float32", "stored embedding type: float32 (embedding) or float16 (embedding_f16)")
	fs.BoolVar(&cfg.ClipScore, "clip-score", true, "recompute every box's CLIP region-text score (boxes.clip_score) with the new bundle's text tower (false: left null)")
	fs.IntVar(&cfg.BatchSize, "batch-size", region.DefaultBatch, "images per CLIP call")
	fs.IntVar(&cfg.ShardsInFlight, "shards-in-flight", region.DefaultShardsInFlight, "shards a worker process embeds at once, however many bundles the runner starts")
	fs.IntVar(&cfg.ChunkSize, "chunk-size", region.DefaultChunk, "with --coco: images per output file (and per work unit)")
	fs.Int64Var(&cfg.RowGroup, "row-group", 1024, "most rows per Parquet row group")
	fs.IntVar(&cfg.MaxPixels, "max-pixels", 64<<20, "refuse images over this many pixels before decoding")
	fs.BoolVar(&cfg.Resume, "resume", false, "skip work units a previous run into --output committed (its settings must be this run's)")
	addSessionFlags(fs, &cfg.OrtLib, &cfg.Session)
	dryRun := fs.Bool("dry-run", false, "check everything (model, input, output, settings, --resume) and print the plan, without running or writing")
	applyBeam := addBeamFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	switch *dtype {
	case "float32":
	case "float16":
		cfg.Float16 = true
	default:
		return fmt.Errorf("%w: --embedding-dtype %q: want float32 or float16", errUsage, *dtype)
	}
	switch {
	case cfg.Input == "" && cfg.COCO == "":
		return fmt.Errorf("%w: --input or --coco is required", errUsage)
	case cfg.Input != "" && cfg.COCO != "":
		return fmt.Errorf("%w: give --input or --coco, not both", errUsage)
	case cfg.COCO != "" && cfg.Images == "":
		return fmt.Errorf("%w: --coco needs --images", errUsage)
	case cfg.Input != "" && cfg.Images != "":
		return fmt.Errorf("%w: --images goes with --coco", errUsage)
	}
	for _, need := range []struct{ v, name string }{{cfg.Output, "--output"}, {cfg.CLIP, "--clip"}} {
		if need.v == "" {
			return fmt.Errorf("%w: %s is required", errUsage, need.name)
		}
	}
	if err := applyBeam(); err != nil {
		return err
	}
	if *dryRun {
		plan, err := embed.Check(ctx, cfg)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "would embed %d images, %d boxes, in %d units, with %s, into %s\nsettings %s: %s\n",
			plan.Images, plan.Boxes, len(plan.Shards), plan.CLIP, cfg.Output, plan.Settings.Hash, plan.Settings.JSON)
		return nil
	}
	pipe, plan, err := embed.Build(ctx, cfg)
	if err != nil {
		return err
	}
	stopProgress := startProgress(ctx, stdout, stderr, cfg.Output, len(plan.Shards))
	res, err := embed.Execute(ctx, pipe, plan, cfg.Output)
	stopProgress()
	if err != nil {
		return err
	}
	m := res.Manifest
	fmt.Fprintf(stdout, "embedded %d of %d images (%d rejected), %d of %d boxes, with %s, in %d units\n",
		m.Totals.Labelled, plan.Images, plan.Images-m.Totals.Labelled, m.Totals.Boxes, plan.Boxes, plan.CLIP, len(plan.Shards))
	if carried := m.Totals.Rejected - (plan.Images - m.Totals.Labelled); cfg.Input != "" && carried > 0 {
		fmt.Fprintf(stdout, "carried over %d rejected inputs of the previous run\n", carried)
	}
	if m.ResumedShards > 0 {
		fmt.Fprintf(stdout, "resumed: %d units were already committed\n", m.ResumedShards)
	}
	for _, f := range m.Files {
		fmt.Fprintf(stdout, "  %s/%s  %d rows\n", strings.TrimRight(cfg.Output, "/"), f.Path, f.Rows)
	}
	fmt.Fprintf(stdout, "manifest: %s/_manifest.json\n", strings.TrimRight(cfg.Output, "/"))
	printMetrics(stdout, res.Metrics)
	return nil
}

// addSessionFlags registers the ONNX Runtime flags every job takes.
func addSessionFlags(fs *flag.FlagSet, lib *string, s *ort.Options) {
	fs.StringVar(lib, "ort-lib", "", "ONNX Runtime shared library (default $"+ort.LibraryEnv+", then the cache that make deps fills)")
	s.Provider = "cpu"
	fs.Var(checkedFlag{&s.Provider, checkProvider}, "provider", "ONNX Runtime execution `provider`: cpu, cuda or tensorrt (docs/gpu.md)")
	fs.IntVar(&s.DeviceID, "device-id", 0, "GPU to use with --provider cuda or tensorrt")
	fs.StringVar(&s.EPLib, "ort-ep-lib", "", "plugin execution provider library for --provider cuda or tensorrt, e.g. libonnxruntime_providers_cuda.so (default: the ONNX Runtime library's own provider, or the one beside it)")
	fs.Var(checkedFlag{&s.EPOptions, ort.ParseEPOptions}, "ort-ep-options", "provider `options` for --provider cuda or tensorrt, key=value pairs separated by commas (docs/gpu.md), e.g. cudnn_conv_algo_search=HEURISTIC")
	fs.IntVar(&s.IntraOpThreads, "intra-op-threads", 0, "ONNX Runtime intra-op threads (0: one per core; label divides the cores among its batches in flight)")
	fs.BoolVar(&s.Arena, "ort-arena", false, "keep ONNX Runtime's CPU memory arena (memory then grows with the variety of input shapes)")
	fs.BoolVar(&s.Spin, "ort-spin", false, "let ONNX Runtime's threads spin between runs (steals the cores decoding and writing do)")
}

// checkedFlag is a string flag whose value parse checks, and may rewrite
// into a canonical form, when flags are parsed, so a bad value is a usage
// error before any work.
type checkedFlag struct {
	p     *string
	parse func(string) (string, error)
}

// String returns the value.
func (f checkedFlag) String() string {
	if f.p == nil {
		return ""
	}
	return *f.p
}

// Set checks v and stores what parse makes of it.
func (f checkedFlag) Set(v string) error {
	c, err := f.parse(v)
	if err != nil {
		return err
	}
	*f.p = c
	return nil
}

// checkProvider is ort.CheckProvider as a checkedFlag parse function.
func checkProvider(v string) (string, error) { return v, ort.CheckProvider(v) }

// addBeamFlags registers --log-level, Beam's own pipeline flags (as the
// label command passes them through) and the s3:// settings on fs; the
// returned function, called after parsing, hands them to Beam and
// initialises it.
func addBeamFlags(fs *flag.FlagSet) func() error {
	logLevel := fs.String("log-level", "warn", "log level of the runner and workers: debug, info, warn, error")
	passed := map[string]*string{}
	for _, b := range beamFlags {
		passed[b.name] = fs.String(b.name, "", b.help)
	}
	applyS3 := addS3Flags(fs)
	return func() error {
		if err := applyS3(); err != nil {
			return err
		}
		for name, v := range passed {
			if *v == "" {
				continue
			}
			if err := flag.CommandLine.Set(name, *v); err != nil {
				return fmt.Errorf("%w: --%s: %v", errUsage, name, err)
			}
		}
		switch *logLevel {
		case "debug", "info", "warn", "error":
			beamlog.LogLevel = *logLevel
		default:
			return fmt.Errorf("%w: --log-level %q: want debug, info, warn or error", errUsage, *logLevel)
		}
		flag.CommandLine.Parse(nil)
		beam.Init()
		return nil
	}
}
