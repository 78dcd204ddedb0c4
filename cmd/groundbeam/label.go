package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/groundbeam/groundbeam/model/glip"
	"github.com/groundbeam/groundbeam/pipelines/label"
	"github.com/groundbeam/groundbeam/pipelines/runner"
	"github.com/groundbeam/groundbeam/pipelines/vocab"
	"github.com/groundbeam/groundbeam/transforms/ground"
)

// beamFlags are Beam's own pipeline flags that `label` passes through.
var beamFlags = []struct{ name, help string }{
	{"runner", "Beam runner: prism (default, embedded), universal, flink, spark, dataflow"},
	{"endpoint", "job service endpoint for --runner=universal (host:port)"},
	{"environment_type", "worker environment: LOOPBACK, DOCKER, PROCESS, EXTERNAL"},
	{"environment_config", "environment configuration (container image, worker pool address)"},
	{"job_name", "job name"},
	{"project", "Dataflow: GCP project"},
	{"region", "Dataflow: region"},
	{"staging_location", "Dataflow: gs:// staging folder"},
	{"temp_location", "Dataflow: gs:// temp folder"},
	{"sdk_container_image", "Dataflow: worker container image"},
	{"worker_binary", "Dataflow: worker binary built with cgo"},
	{"resource_hints", "resource hints, e.g. accelerator=type:nvidia-l4;count:1;install-nvidia-driver"},
}

func runLabel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("label", "--input GLOB --output OUT --teacher BUNDLE --clip BUNDLE [flags]", `  groundbeam label --input 'gs://bucket/shards/*.tar' --output gs://bucket/corpus \
      --teacher models/glip --clip models/clip
  groundbeam label --input 'demo/shards/*.tar' --output demo/out \
      --teacher demo/models/teacher --clip demo/models/clip --batch-size 8`, stderr)
	var cfg label.Config
	fs.StringVar(&cfg.Input, "input", "", "the corpus: globs or brace lists (shards/{00000..00099}.tar), comma-separated (local, gs://, s3://), of WebDataset tars, img2dataset Parquet, JSONL manifests or captions.tsv/.jsonl folders")
	fs.StringVar(&cfg.Output, "output", "", "output folder (local, gs:// or s3://)")
	fs.StringVar(&cfg.Teacher, "teacher", "", "grounding model bundle folder")
	fs.StringVar(&cfg.CLIP, "clip", "", "CLIP model bundle folder")
	addSessionFlags(fs, &cfg.OrtLib, &cfg.Session)
	fs.IntVar(&cfg.BatchSize, "batch-size", 8, "pairs per teacher call")
	fs.IntVar(&cfg.ShardsInFlight, "shards-in-flight", ground.DefaultShardsInFlight, "shards a worker process labels at once, however many bundles the runner starts")
	fs.IntVar(&cfg.BatchesInFlight, "batches-in-flight", ground.DefaultBatchesInFlight, "batches a worker process labels at once (decoding the next while one runs)")
	fs.Int64Var(&cfg.RowGroup, "row-group", 1024, "most rows per Parquet row group")
	fs.IntVar(&cfg.MaxPixels, "max-pixels", 64<<20, "refuse images over this many pixels before decoding")
	fs.BoolVar(&cfg.Resume, "resume", false, "skip input shards a previous run into --output committed (its settings must be this run's)")
	preset := fs.String("preset", glip.PresetGLIP, "post-processing preset: glip or grounding-dino (flags below override it)")
	d := glip.DefaultParams()
	var (
		scoreThr, boxThr, textThr, preThr, nmsIoU float64
		aggregate                                 string
		preTopN, topK, topKLarge, namesPerPrompt  int
	)
	fs.Float64Var(&scoreThr, "score-threshold", float64(d.ScoreThreshold), "final score threshold: boxes must score above it")
	fs.Float64Var(&preThr, "pre-threshold", float64(d.PreThreshold), "GLIP: (query, phrase) scores must be above it before NMS (INFERENCE_TH)")
	fs.IntVar(&preTopN, "pre-nms-top-n", d.PreTopN, "GLIP: most candidates per prompt before NMS (PRE_NMS_TOP_N)")
	fs.StringVar(&aggregate, "aggregate", d.Aggregate, "phrase score from its tokens' probabilities: mean (GLIP) or max")
	fs.Float64Var(&nmsIoU, "nms-iou", float64(d.NMSIoU), "class-wise NMS IoU threshold (0 or below: no NMS)")
	fs.IntVar(&topK, "top-k", d.TopK, "most boxes per image (DETECTIONS_PER_IMG)")
	fs.IntVar(&topKLarge, "top-k-large-vocab", d.TopKLargeVocab, "most boxes per image for vocabularies of over 1,000 names")
	fs.Float64Var(&boxThr, "box-threshold", 0.35, "grounding-dino: a query is kept when its best token probability is above it")
	fs.Float64Var(&textThr, "text-threshold", 0.25, "grounding-dino: tokens above it make the query's phrase")
	fs.IntVar(&namesPerPrompt, "names-per-prompt", 0, "vocabulary mode: most names per prompt (0: as many as fit the token limit)")
	vocabFile := fs.String("vocab", "", "class vocabulary file, one name per line (label id = line index): ground these instead of caption phrases")
	scales := fs.String("clip-scales", "1,1.5", "crop enlargements whose CLIP embeddings are summed per box")
	fs.BoolVar(&cfg.CPUCrops, "cpu-crops", false, "crop and resize boxes on the CPU even when the CLIP bundle has a region graph")
	fs.StringVar(&cfg.Proposals, "proposals", "", `region proposals to embed too: JSON lines {"key": "...", "boxes": [[x1,y1,x2,y2], ...]} in original-image pixels (local, gs:// or s3://)`)
	fs.IntVar(&cfg.MaxProposals, "max-proposals", 300, "most proposals embedded per image (the first ones)")
	teacherBoxes := fs.Bool("teacher-boxes", true, "keep and embed the teacher's boxes (false: only --proposals)")
	fs.StringVar(&cfg.EmbeddingDType, "embedding-dtype", "float32", "how region embeddings are stored: float32 (boxes.embedding) or float16 (boxes.embedding_f16)")
	fs.BoolVar(&cfg.ClipScore, "clip-score", true, "give every teacher box its CLIP region-text score (boxes.clip_score) with the CLIP bundle's text tower")
	dryRun := fs.Bool("dry-run", false, "check everything (models, input, output, settings, --resume) and print the plan, without running or writing")
	applyBeam := addBeamFlags(fs)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	for _, need := range []struct{ v, name string }{{cfg.Input, "--input"}, {cfg.Output, "--output"}, {cfg.Teacher, "--teacher"}, {cfg.CLIP, "--clip"}} {
		if need.v == "" {
			return fmt.Errorf("%w: %s is required", errUsage, need.name)
		}
	}
	p, err := glip.Preset(*preset)
	if err != nil {
		return fmt.Errorf("%w: --preset: %v", errUsage, err)
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "score-threshold":
			p.ScoreThreshold = float32(scoreThr)
		case "pre-threshold":
			p.PreThreshold = float32(preThr)
		case "pre-nms-top-n":
			p.PreTopN = preTopN
		case "aggregate":
			p.Aggregate = aggregate
		case "nms-iou":
			p.NMSIoU = float32(nmsIoU)
		case "top-k":
			p.TopK = topK
		case "top-k-large-vocab":
			p.TopKLargeVocab = topKLarge
		case "box-threshold":
			p.BoxThreshold = float32(boxThr)
		case "text-threshold":
			p.TextThreshold = float32(textThr)
		case "names-per-prompt":
			p.MaxNamesPerPrompt = namesPerPrompt
		}
	})
	if err := p.Validate(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	cfg.Params = &p
	cfg.NoTeacherBoxes = !*teacherBoxes
	if cfg.EmbeddingDType != label.DTypeFloat32 && cfg.EmbeddingDType != label.DTypeFloat16 {
		return fmt.Errorf("%w: --embedding-dtype %q: want float32 or float16", errUsage, cfg.EmbeddingDType)
	}
	if cfg.MaxProposals <= 0 {
		return fmt.Errorf("%w: --max-proposals must be positive", errUsage)
	}
	if cfg.NoTeacherBoxes && cfg.Proposals == "" {
		return fmt.Errorf("%w: --teacher-boxes=false needs --proposals", errUsage)
	}
	if cfg.CLIPScales, err = parseScales(*scales); err != nil {
		return fmt.Errorf("%w: --clip-scales: %v", errUsage, err)
	}
	if *vocabFile != "" {
		if cfg.Vocab, err = vocab.ReadNames(ctx, *vocabFile); err != nil {
			return err
		}
	}
	if err := applyBeam(); err != nil {
		return err
	}
	if *dryRun {
		plan, err := label.Check(ctx, cfg)
		if err != nil {
			return err
		}
		printPlan(stdout, plan, cfg)
		return nil
	}
	pipe, plan, err := label.Build(ctx, cfg)
	if err != nil {
		return err
	}
	stopProgress := startProgress(ctx, stdout, stderr, cfg.Output, len(plan.Shards))
	res, err := label.Execute(ctx, pipe, plan, cfg.Output)
	stopProgress()
	if err != nil {
		return err
	}
	m := res.Manifest
	fmt.Fprintf(stdout, "labelled %d of %d pairs (%d rejected), %d boxes, from %d shards\n",
		m.Totals.Labelled, m.Totals.InputPairs, m.Totals.Rejected, m.Totals.Boxes, len(m.InputShards))
	if m.ResumedShards > 0 {
		fmt.Fprintf(stdout, "resumed: %d shards were already committed\n", m.ResumedShards)
	}
	for _, f := range m.Files {
		fmt.Fprintf(stdout, "  %s/%s  %d rows\n", cfg.Output, f.Path, f.Rows)
	}
	fmt.Fprintf(stdout, "manifest: %s/_manifest.json\n", cfg.Output)
	printMetrics(stdout, res.Metrics)
	return nil
}

// printPlan says what a label run would do.
func printPlan(w io.Writer, plan label.Plan, cfg label.Config) {
	fmt.Fprintf(w, "would label %d shards into %s", len(plan.Shards), cfg.Output)
	if cfg.Resume {
		fmt.Fprint(w, ", resuming (its settings match)")
	}
	fmt.Fprintln(w)
	for i, s := range plan.Shards {
		if i == 3 && len(plan.Shards) > 4 {
			fmt.Fprintf(w, "  ... %d more\n  %s\n", len(plan.Shards)-4, plan.Shards[len(plan.Shards)-1])
			break
		}
		fmt.Fprintf(w, "  %s\n", s)
	}
	fmt.Fprintf(w, "teacher %s, clip %s\nsettings %s: %s\n", plan.Teacher, plan.CLIP, plan.Settings.Hash, plan.Settings.JSON)
}

// parseScales reads "1,1.5" as crop enlargements.
func parseScales(s string) ([]float64, error) {
	var out []float64
	for _, f := range strings.Split(s, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// printMetrics summarises the run's Beam counters and distributions.
func printMetrics(w io.Writer, res runner.Metrics) {
	names := make([]string, 0, len(res.Counters))
	for n := range res.Counters {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(w, "counters:")
	for _, n := range names {
		fmt.Fprintf(w, "  %-20s %d\n", n, res.Counters[n])
	}
	for n, d := range res.Distributions {
		if d.Count > 0 {
			fmt.Fprintf(w, "  %-20s mean %.2f, min %d, max %d over %d\n", n, float64(d.Sum)/float64(d.Count), d.Min, d.Max, d.Count)
		}
	}
}
