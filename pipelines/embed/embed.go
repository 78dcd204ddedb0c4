// Package embed is the offline recomputation job's Beam graph: CLIP region
// embeddings recomputed with a new CLIP bundle for every box of a previous
// run's output, or for the boxes of a COCO/LVIS instances file. The
// teacher is never loaded: boxes, phrases, scores and label ids are kept;
// only the embeddings and the CLIP identity change.
//
// With Config.Input (a finished run's output folder), the work is split by
// the previous run's input shards: each shard's committed labels file is
// re-embedded into a labels file of the same name, and its errors file is
// carried over unchanged. With Config.COCO, the file's images are split
// into chunks of Config.ChunkSize. Either way each unit is committed as a
// whole (transforms/sink), images that cannot be read or decoded go to the
// errors table, and _manifest.json is written last.
package embed

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path"
	"path/filepath"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"

	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/clip"
	"github.com/groundbeam/groundbeam/model/ort"
	"github.com/groundbeam/groundbeam/pipelines/runner"
	"github.com/groundbeam/groundbeam/transforms/region"
	"github.com/groundbeam/groundbeam/transforms/sink"
)

// Config is everything the embed job needs. Exactly one of Input and COCO
// is set. There is no teacher: the job never loads one.
type Config struct {
	// Input is a previous run's output folder (local, gs:// or s3://);
	// it must hold its _manifest.json.
	Input string
	// COCO is a COCO or LVIS instances JSON file and Images the folder
	// its images' names are relative to (local, gs:// or s3://).
	COCO   string
	Images string
	// Output is the output folder; it must not be Input.
	Output string
	// CLIP is the CLIP model bundle folder.
	CLIP string
	// OrtLib is the ONNX Runtime library; "" resolves it from
	// $GROUNDBEAM_ORT_LIB or the cache.
	OrtLib string
	// Session are the ONNX Runtime settings.
	Session ort.Options
	// Scales are the crop enlargements (nil: ViLD's 1.0 and 1.5).
	Scales []float64
	// CPUCrops crops on the CPU and runs the image tower even when the
	// bundle has a region graph.
	CPUCrops bool
	// Float16 stores embeddings as IEEE half bits (embedding_f16).
	Float16 bool
	// BatchSize is the number of images per CLIP call (default
	// region.DefaultBatch).
	BatchSize int
	// ShardsInFlight is how many tasks each worker process embeds at
	// once, across all the bundles the runner gives it (0:
	// region.DefaultShardsInFlight).
	ShardsInFlight int
	// ChunkSize is the number of COCO images per output file (default
	// region.DefaultChunk).
	ChunkSize int
	// RowGroup is the most rows per Parquet row group.
	RowGroup int64
	// MaxPixels refuses larger images before decoding.
	MaxPixels int
	// Resume skips work units a previous run into Output committed.
	Resume bool
	// ClipScore recomputes every box's CLIP region-text score with the
	// new bundle (its text tower); without it the scores are null.
	ClipScore bool
}

// Plan is what Build found.
type Plan struct {
	// Shards are the work units: the previous run's input shards, or the
	// COCO chunks' names.
	Shards []string
	// Teacher and Params are the provenance the rows keep: the previous
	// run's teacher and parameters, or the COCO file's identity and "".
	Teacher string
	Params  string
	// CLIP is the new CLIP bundle's identity.
	CLIP string
	// Images and Boxes count what goes in: the previous run's labelled
	// images and boxes, or the COCO file's images and annotations.
	Images int64
	Boxes  int64
	// DecodeMinShort is how the previous run decoded its images
	// (sink.Manifest.DecodeMinShort), which this run repeats; 0 (full
	// size) for COCO input.
	DecodeMinShort int
	// Settings are the run's settings.
	Settings sink.Settings

	tasks []region.Task // the work units of a previous run's input
}

// Build checks cfg where the pipeline is launched (Check), readies the
// output folder for the run (sink.Prepare; the work file) and returns the
// pipeline.
func Build(ctx context.Context, cfg Config) (*beam.Pipeline, Plan, error) {
	plan, err := Check(ctx, cfg)
	if err != nil {
		return nil, plan, err
	}
	out := strings.TrimRight(cfg.Output, "/")
	set, tasks := plan.Settings, plan.tasks
	if err := sink.Prepare(ctx, out, set, cfg.Resume); err != nil {
		return nil, plan, err
	}
	var workFile string
	if cfg.Input != "" {
		if workFile, err = sink.WriteWork(ctx, out, tasks); err != nil {
			return nil, plan, err
		}
	}
	p, s := beam.NewPipelineWithRoot()
	sinkCfg := sink.Config{Out: out, RowGroup: cfg.RowGroup,
		Meta:           sink.Meta{Teacher: plan.Teacher, CLIP: plan.CLIP, Params: plan.Params},
		DecodeMinShort: plan.DecodeMinShort, Settings: set}
	var work beam.PCollection
	if cfg.Input != "" {
		work = beam.ParDo(s, region.DecodeTask, sink.ReadWork(s, workFile))
	} else {
		work = region.ReadCOCO(s, region.COCOConfig{Path: cfg.COCO, Images: cfg.Images, ChunkSize: cfg.ChunkSize, Identity: plan.Teacher})
	}
	results := region.EmbedTasks(s, region.Config{
		CLIP: cfg.CLIP, OrtLib: cfg.OrtLib, Session: cfg.Session, Scales: cfg.Scales, CPUCrops: cfg.CPUCrops, Float16: cfg.Float16,
		MaxPixels: cfg.MaxPixels, Batch: cfg.BatchSize, Shards: cfg.ShardsInFlight, Sink: sinkCfg, Resume: cfg.Resume,
		ClipScore: cfg.ClipScore,
	}, work)
	sink.WriteManifest(s, sinkCfg, results)
	return p, plan, nil
}

// Check validates cfg where the pipeline is launched, leaving the output
// as it was (it writes and removes one probe object): the ONNX Runtime
// library, the CLIP bundle, the input (a finished run's manifest, or the
// COCO file), that the output can be written, and, for a resumed run,
// that the output's settings are this run's.
func Check(ctx context.Context, cfg Config) (Plan, error) {
	var plan Plan
	switch {
	case cfg.Output == "":
		return plan, errors.New("no output folder given")
	case cfg.Input == "" && cfg.COCO == "":
		return plan, errors.New("no input: give a previous run's output folder or a coco instances file")
	case cfg.Input != "" && cfg.COCO != "":
		return plan, errors.New("give either a previous run's output folder or a coco instances file, not both")
	case cfg.COCO != "" && cfg.Images == "":
		return plan, errors.New("a coco instances file needs its images folder")
	case cfg.COCO == "" && cfg.Images != "":
		return plan, errors.New("an images folder goes with a coco instances file")
	}
	for _, s := range cfg.Scales {
		if !(s > 0) || math.IsInf(s, 0) {
			return plan, fmt.Errorf("crop scale %v must be positive and finite", s)
		}
	}
	if _, err := ort.FindLibrary(cfg.OrtLib); err != nil {
		return plan, err
	}
	cb, err := bundle.Load(cfg.CLIP, bundle.KindCLIP)
	if err != nil {
		return plan, fmt.Errorf("clip: %w", err)
	}
	plan.CLIP = cb.Identity
	if cfg.ClipScore {
		if err := clip.CheckText(cb); err != nil {
			return plan, fmt.Errorf("%w; the boxes' clip scores need it: give --clip-score=false", err)
		}
	}
	out := strings.TrimRight(cfg.Output, "/")
	var tasks []region.Task
	var inID InputID
	if cfg.Input != "" {
		in := strings.TrimRight(cfg.Input, "/")
		if samePlace(in, out) {
			return plan, fmt.Errorf("output %s is the input: write the new embeddings elsewhere", cfg.Output)
		}
		if tasks, inID, err = previousTasks(ctx, in, &plan); err != nil {
			return plan, err
		}
	} else {
		if _, err := filesystem.New(ctx, cfg.Images); err != nil {
			return plan, fmt.Errorf("images %s: %w", cfg.Images, err)
		}
		c, err := region.LoadCOCO(ctx, region.COCOConfig{Path: cfg.COCO, Images: cfg.Images, ChunkSize: cfg.ChunkSize})
		if err != nil {
			return plan, err
		}
		plan.Shards, plan.Teacher = c.Shards(), c.Identity
		plan.Images, plan.Boxes = int64(c.Images), int64(c.Boxes)
		inID = InputID{URI: cfg.COCO, COCO: c.Identity, Images: cfg.Images, Chunk: cfg.ChunkSize}
	}
	if err := sink.CheckWritable(ctx, out); err != nil {
		return plan, err
	}
	if plan.Settings, err = runSettings(cfg, plan, inID); err != nil {
		return plan, err
	}
	if cfg.Resume {
		if err := sink.CheckResume(ctx, out, plan.Settings); err != nil {
			return plan, err
		}
	}
	plan.tasks = tasks
	return plan, nil
}

// previousTasks turns a finished run's manifest into one task per input
// shard, with the shard's committed labels and errors files and the base
// name they have, and fills the plan.
func previousTasks(ctx context.Context, in string, plan *Plan) ([]region.Task, InputID, error) {
	m, err := sink.ReadManifest(ctx, in)
	if err != nil {
		return nil, InputID{}, fmt.Errorf("input %s is no finished run's output (embed reads the files its %s lists): %w", in, sink.ManifestFile, err)
	}
	plan.Teacher, plan.Params, plan.DecodeMinShort = m.Teacher, m.Params, m.DecodeMinShort
	plan.Images, plan.Boxes = m.Totals.Labelled, m.Totals.Boxes
	byShard := map[string]*region.Task{}
	var order []string
	add := func(shard string) *region.Task {
		t, ok := byShard[shard]
		if !ok {
			t = &region.Task{Shard: shard}
			byShard[shard] = t
			order = append(order, shard)
		}
		return t
	}
	for _, s := range m.InputShards {
		add(s)
	}
	for _, f := range m.Files {
		t := add(f.Shard)
		p := in + "/" + f.Path
		switch f.Table {
		case sink.TableLabels:
			t.Labels = p
		case sink.TableErrors:
			t.Errors = p
		default:
			return nil, InputID{}, fmt.Errorf("input %s: manifest lists %s of unknown table %q", in, f.Path, f.Table)
		}
		t.Name = strings.TrimSuffix(path.Base(f.Path), ".parquet")
	}
	// Shards without files (no rows) still commit, under the name the
	// label job would give them.
	var bare []string
	for _, s := range order {
		if byShard[s].Name == "" {
			bare = append(bare, s)
		}
	}
	for s, n := range sink.Names(bare) {
		byShard[s].Name = n
	}
	tasks := make([]region.Task, len(order))
	for i, s := range order {
		tasks[i] = *byShard[s]
	}
	plan.Shards = order
	return tasks, InputID{URI: in, Files: filesID(m)}, nil
}

// samePlace reports whether two folders are the same: equal URIs, or
// local paths that resolve to the same absolute path.
func samePlace(a, b string) bool {
	if path.Clean(a) == path.Clean(b) {
		return true
	}
	if strings.Contains(a, "://") || strings.Contains(b, "://") {
		return false
	}
	aa, err1 := filepath.Abs(a)
	bb, err2 := filepath.Abs(b)
	return err1 == nil && err2 == nil && aa == bb
}

// Result is a finished run.
type Result struct {
	Plan     Plan
	Manifest *sink.Manifest
	// Metrics are the run's Beam counters and distributions.
	runner.Metrics
}

// Run builds and runs the pipeline on the runner the Beam flags name
// (prism by default) and reads back the manifest.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	p, plan, err := Build(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return Execute(ctx, p, plan, cfg.Output)
}

// Execute runs a pipeline Build made, writing into out.
func Execute(ctx context.Context, p *beam.Pipeline, plan Plan, out string) (*Result, error) {
	m, err := runner.Run(ctx, p)
	if err != nil {
		return nil, err
	}
	res := &Result{Plan: plan, Metrics: m}
	if res.Manifest, err = sink.ReadManifest(ctx, strings.TrimRight(out, "/")); err != nil {
		return nil, err
	}
	return res, nil
}
