// Package label is the main job's Beam graph: input shards, each labelled
// and committed as a whole by one DoFn (read, ground the captions with the
// teacher, embed every box with CLIP, write its Parquet files), then the
// manifest.
package label

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/clip"
	"github.com/groundbeam/groundbeam/model/glip"
	"github.com/groundbeam/groundbeam/model/ort"
	"github.com/groundbeam/groundbeam/pipelines/runner"
	"github.com/groundbeam/groundbeam/transforms/ground"
	"github.com/groundbeam/groundbeam/transforms/sink"
	"github.com/groundbeam/groundbeam/transforms/source"
)

// Config is everything the label job needs.
type Config struct {
	// Input is a glob (or comma-separated globs) of WebDataset tar shards:
	// local paths, gs:// or s3://.
	Input string
	// Output is the output folder.
	Output string
	// Teacher and CLIP are model bundle folders.
	Teacher string
	CLIP    string
	// OrtLib is the ONNX Runtime library; "" resolves it from
	// $GROUNDBEAM_ORT_LIB or the cache.
	OrtLib string
	// Session are the ONNX Runtime settings.
	Session ort.Options
	// BatchSize is the number of pairs per teacher call.
	BatchSize int
	// ShardsInFlight and BatchesInFlight bound what each worker process
	// labels at once, across all the bundles the runner gives it (0:
	// ground.DefaultShardsInFlight, ground.DefaultBatchesInFlight).
	ShardsInFlight  int
	BatchesInFlight int
	// Params are the GLIP post-processing settings (zero: defaults).
	Params *glip.Params
	// RowGroup is the most rows per Parquet row group.
	RowGroup int64
	// MaxPixels refuses larger images before decoding.
	MaxPixels int
	// Resume skips input shards a previous run into Output committed.
	Resume bool
	// Vocab switches from caption phrases to a class vocabulary (label id
	// = index).
	Vocab []string
	// CLIPScales are the crop enlargements embedded per box (default 1.0
	// and 1.5); CPUCrops forces CPU crops over the bundle's region graph.
	CLIPScales []float64
	CPUCrops   bool
	// Proposals is a JSON-lines file of region proposals to embed as well
	// (see ground.ReadProposals), local or gs://; "" means none. It is
	// read once at launch to check it, then once per worker DoFn
	// instance, which holds it in memory.
	Proposals string
	// MaxProposals is the most proposals kept per image, the first ones
	// (0: 300).
	MaxProposals int
	// NoTeacherBoxes leaves the teacher's boxes out; Proposals is then
	// required.
	NoTeacherBoxes bool
	// EmbeddingDType is how embeddings are stored: "float32" (default,
	// Box.Embedding) or "float16" (Box.EmbeddingF16).
	EmbeddingDType string
	// ClipScore gives every teacher box its CLIP region-text score
	// (Box.ClipScore); the CLIP bundle must have a text tower.
	ClipScore bool
}

// Embedding dtypes.
const (
	DTypeFloat32 = "float32"
	DTypeFloat16 = "float16"
)

// Plan is what Check found: the shards, the models' identities and the
// run's settings.
type Plan struct {
	Shards   []string
	Teacher  string
	CLIP     string
	Settings sink.Settings
	// Params are the post-processing settings (Config.Params or the
	// defaults).
	Params glip.Params
	// DecodeMinShort is the shorter side JPEGs may be decoded down to
	// (the teacher's input size).
	DecodeMinShort int
}

// Build checks cfg where the pipeline is launched (Check), readies the
// output folder for the run (sink.Prepare: settings, old markers and
// manifest; the work file) and returns the pipeline.
func Build(ctx context.Context, cfg Config) (*beam.Pipeline, Plan, error) {
	plan, err := Check(ctx, cfg)
	if err != nil {
		return nil, plan, err
	}
	out := strings.TrimRight(cfg.Output, "/")
	if err := sink.Prepare(ctx, out, plan.Settings, cfg.Resume); err != nil {
		return nil, plan, err
	}
	work, err := sink.WriteWork(ctx, out, sink.Units(plan.Shards))
	if err != nil {
		return nil, plan, err
	}
	p, s := beam.NewPipelineWithRoot()
	params := plan.Params
	sinkCfg := sink.Config{Out: out, RowGroup: cfg.RowGroup,
		Meta:           sink.Meta{Teacher: plan.Teacher, CLIP: plan.CLIP, Params: params.Hash()},
		DecodeMinShort: plan.DecodeMinShort, Settings: plan.Settings}
	results := ground.LabelShards(s, ground.Config{
		Teacher: cfg.Teacher, CLIP: cfg.CLIP, OrtLib: cfg.OrtLib, Session: cfg.Session,
		BatchSize: cfg.BatchSize, Shards: cfg.ShardsInFlight, Batches: cfg.BatchesInFlight, Params: params, MaxPixels: cfg.MaxPixels, Sink: sinkCfg, Resume: cfg.Resume,
		Vocab: cfg.Vocab, CLIPScales: cfg.CLIPScales, CPUCrops: cfg.CPUCrops,
		Proposals: cfg.Proposals, MaxProposals: cfg.MaxProposals, NoTeacherBoxes: cfg.NoTeacherBoxes,
		Float16: cfg.EmbeddingDType == DTypeFloat16, ClipScore: cfg.ClipScore,
	}, beam.ParDo(s, sink.DecodeUnit, sink.ReadWork(s, work)))
	sink.WriteManifest(s, sinkCfg, results)
	return p, plan, nil
}

// Check validates cfg where the pipeline is launched, leaving the output
// as it was (it writes and removes one probe object): the ONNX Runtime
// library, both bundles, the parameters, the proposals, the input
// (expanded to its shards), that the output can be written, and, for a
// resumed run, that the output's settings are this run's.
func Check(ctx context.Context, cfg Config) (Plan, error) {
	var plan Plan
	if cfg.Output == "" {
		return plan, errors.New("no --output given")
	}
	if _, err := ort.FindLibrary(cfg.OrtLib); err != nil {
		return plan, err
	}
	tb, err := bundle.Load(cfg.Teacher, bundle.KindGrounding)
	if err != nil {
		return plan, fmt.Errorf("teacher: %w", err)
	}
	cb, err := bundle.Load(cfg.CLIP, bundle.KindCLIP)
	if err != nil {
		return plan, fmt.Errorf("clip: %w", err)
	}
	if cfg.ClipScore {
		if err := clip.CheckText(cb); err != nil {
			return plan, fmt.Errorf("%w; the boxes' clip scores need it: give --clip-score=false", err)
		}
	}
	shards, err := source.Expand(ctx, cfg.Input)
	if err != nil {
		return plan, err
	}
	plan = Plan{Shards: shards, Teacher: tb.Identity, CLIP: cb.Identity}
	params := glip.DefaultParams()
	if cfg.Params != nil {
		params = *cfg.Params
	}
	if err := params.Validate(); err != nil {
		return plan, err
	}
	plan.Params = params
	for i, n := range cfg.Vocab {
		if strings.TrimSpace(n) == "" {
			return plan, fmt.Errorf("vocabulary name %d is empty", i)
		}
	}
	switch cfg.EmbeddingDType {
	case "", DTypeFloat32, DTypeFloat16:
	default:
		return plan, fmt.Errorf("embedding dtype %q: want float32 or float16", cfg.EmbeddingDType)
	}
	if cfg.MaxProposals < 0 {
		return plan, fmt.Errorf("max proposals %d is negative", cfg.MaxProposals)
	}
	var proposalsSum string
	if cfg.Proposals != "" {
		if proposalsSum, err = ground.CheckProposals(ctx, cfg.Proposals); err != nil {
			return plan, err
		}
	} else if cfg.NoTeacherBoxes {
		return plan, errors.New("without teacher boxes there is nothing to embed: give proposals")
	}
	out := strings.TrimRight(cfg.Output, "/")
	if err := sink.CheckWritable(ctx, out); err != nil {
		return plan, err
	}
	// model/label decodes JPEGs no smaller than the teacher's input and
	// crops the boxes from that image; the manifest records it for embed.
	plan.DecodeMinShort = tb.Manifest.Image.ShortestEdge
	if plan.Settings, err = runSettings(cfg, tb.Identity, cb.Identity, params, plan.DecodeMinShort, proposalsSum); err != nil {
		return plan, err
	}
	if cfg.Resume {
		if err := sink.CheckResume(ctx, out, plan.Settings); err != nil {
			return plan, err
		}
	}
	return plan, nil
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
