// Package region recomputes CLIP region embeddings inside Beam: one DoFn
// takes a Task (a previous run's committed labels file, or a chunk of
// COCO/LVIS images), fetches every image its rows point at, embeds every
// box with the CLIP region encoder (one Encoder.Embed call per batch of
// images, the regions of one image sharing its decoded pixels) and writes
// the rows through sink.ShardWriter, committing the task as a whole. Boxes
// are kept as they are; only the embeddings and the CLIP identity change.
//
// Only the CLIP bundle is loaded, in Setup, into the worker's shared
// session cache; no teacher is ever opened.
package region

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"runtime"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/clip"
	"github.com/groundbeam/groundbeam/model/ort"
	"github.com/groundbeam/groundbeam/schemas"
	"github.com/groundbeam/groundbeam/transforms/sink"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*Task)(nil)).Elem())
	register.DoFn3x1[context.Context, Task, func(sink.ShardResult), error](&embedFn{})
	register.Function1x2[string, Task, error](DecodeTask)
	register.Emitter1[sink.ShardResult]()
}

// DefaultBatch is the default number of images per Encoder.Embed call.
const DefaultBatch = 16

// DefaultShardsInFlight is how many tasks a worker process embeds at once
// by default (Config.Shards): the runner may run many more bundles side
// by side, and each task holds its rows and a batch of images.
const DefaultShardsInFlight = 2

// Task is one unit of work, committed as a whole under one output name.
type Task struct {
	// Shard is the work's key in the sink: an input shard of the previous
	// run, or a COCO chunk's name.
	Shard string
	// Name is the base name of the task's output files.
	Name string
	// Labels is a previous run's committed labels file whose rows are
	// re-embedded ("" for none).
	Labels string
	// Errors is a previous run's committed errors file whose rows are
	// carried over unchanged ("" for none).
	Errors string
	// Rows are rows to embed as they are (COCO), with empty embeddings.
	Rows []schemas.LabelRow
}

// unit is the task as the sink knows it.
func (t Task) unit() sink.Unit { return sink.Unit{Shard: t.Shard, Name: t.Name} }

// DecodeTask parses one line of a work file of Tasks (sink.WriteWork).
func DecodeTask(line string) (Task, error) { return sink.DecodeWork(line, Task.unit) }

// Config is what the embedding DoFn needs; it travels to workers as JSON.
type Config struct {
	// CLIP is the CLIP bundle folder.
	CLIP string
	// OrtLib is the ONNX Runtime library ("" resolves on the worker:
	// $GROUNDBEAM_ORT_LIB, then the cache).
	OrtLib string
	// Session are the ONNX Runtime settings.
	Session ort.Options
	// Scales are the crop enlargements (nil: ViLD's 1.0 and 1.5).
	Scales []float64
	// CPUCrops crops on the CPU and runs the image tower even when the
	// bundle has a region graph.
	CPUCrops bool
	// Float16 stores embeddings as IEEE half bits (embedding_f16) instead
	// of float32 (embedding).
	Float16 bool
	// MaxPixels refuses larger images before decoding (0: the default).
	MaxPixels int
	// Batch is the number of images per Encoder.Embed call (default
	// DefaultBatch).
	Batch int
	// Shards is how many tasks a worker process embeds at once (default
	// DefaultShardsInFlight); others wait before reading anything.
	Shards int
	// Sink says where each task's tables go. Images are decoded as its
	// DecodeMinShort says (the label run's, which the new manifest keeps):
	// JPEGs may shrink (DCT scaling) while their shorter side stays at
	// least that, and boxes are scaled to the decoded image.
	Sink sink.Config
	// Resume skips tasks a previous run into the same output committed.
	Resume bool
	// ClipScore recomputes every box's CLIP region-text score with the
	// new bundle's text tower; without it the scores are left null (they
	// were the old bundle's).
	ClipScore bool
}

// EmbedTasks embeds every Task of tasks and returns a PCollection of
// sink.ShardResult, one per committed task.
func EmbedTasks(s beam.Scope, cfg Config, tasks beam.PCollection) beam.PCollection {
	s = s.Scope("region.EmbedTasks")
	if cfg.Batch <= 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Shards <= 0 {
		cfg.Shards = DefaultShardsInFlight
	}
	return beam.ParDo(s, &embedFn{Cfg: cfg}, tasks)
}

var (
	imagesIn    = beam.NewCounter("groundbeam", "images")
	embedded    = beam.NewCounter("groundbeam", "images_embedded")
	rejected    = beam.NewCounter("groundbeam", "images_rejected")
	boxesOut    = beam.NewCounter("groundbeam", "boxes")
	carried     = beam.NewCounter("groundbeam", "errors_carried_over")
	tasksOK     = beam.NewCounter("groundbeam", "shards_committed")
	tasksResume = beam.NewCounter("groundbeam", "shards_resumed")
	perImage    = beam.NewDistribution("groundbeam", "boxes_per_image")
	setups      = beam.NewCounter("groundbeam", "dofn_setups")
	// shardsAt is how many tasks the worker had in flight as each was
	// admitted.
	shardsAt = beam.NewDistribution("groundbeam", "shards_in_flight")
)

type embedFn struct {
	Cfg Config

	enc    *clip.Encoder
	text   *clip.TextEncoder
	scorer *clip.Scorer
	// shards is the worker's gate (ort.WorkerGate), shared by every
	// instance of this DoFn in the process.
	shards *ort.Gate
}

// Setup opens the CLIP region encoder from the worker's shared session
// cache. No teacher is loaded.
func (f *embedFn) Setup(ctx context.Context) error {
	if err := ort.Start(f.Cfg.OrtLib); err != nil {
		return err
	}
	cb, err := bundle.LoadVerified(f.Cfg.CLIP, bundle.KindCLIP, ort.Opened)
	if err != nil {
		return fmt.Errorf("clip: %w", err)
	}
	// the tasks in flight share the worker's cores, as the label job's
	// batches do (and so the two jobs share CLIP sessions)
	sess := f.Cfg.Session.SharedBy(f.Cfg.Shards, runtime.NumCPU())
	f.enc, err = clip.Open(cb, &clip.Options{Scales: f.Cfg.Scales, CPUCrops: f.Cfg.CPUCrops, Session: sess})
	if err != nil {
		return err
	}
	if f.Cfg.ClipScore {
		if f.text, err = clip.OpenText(cb, &clip.TextOptions{Session: sess}); err != nil {
			f.enc.Close()
			return err
		}
		f.scorer = clip.NewScorer(f.text)
	}
	f.shards = ort.WorkerGate("region.shards", f.Cfg.Shards)
	setups.Inc(ctx, 1)
	slog.Debug("region encoder ready", "clip", cb.Identity, "region_graph", f.enc.RegionGraph())
	return nil
}

// ProcessElement embeds one task's rows and commits its files.
func (f *embedFn) ProcessElement(ctx context.Context, t Task, emit func(sink.ShardResult)) error {
	if f.Cfg.Resume {
		res, ok, err := sink.Committed(ctx, f.Cfg.Sink, t.unit())
		if err != nil {
			return err
		}
		if ok {
			tasksResume.Inc(ctx, 1)
			emit(res)
			return nil
		}
	}
	if err := f.shards.Acquire(ctx, f.shards.Ticket()); err != nil {
		return fmt.Errorf("shard %s: %w", t.Shard, err)
	}
	defer f.shards.Release()
	shardsAt.Update(ctx, int64(f.shards.Held()))
	w, err := sink.NewShardWriter(ctx, f.Cfg.Sink, t.unit())
	if err != nil {
		return err
	}
	res, err := f.run(ctx, t, w)
	if err != nil {
		w.Abort(context.WithoutCancel(ctx))
		return fmt.Errorf("shard %s: %w", t.Shard, err)
	}
	tasksOK.Inc(ctx, 1)
	emit(res)
	return nil
}

func (f *embedFn) run(ctx context.Context, t Task, w *sink.ShardWriter) (sink.ShardResult, error) {
	rows := t.Rows
	if t.Labels != "" {
		var err error
		if rows, err = readLabels(ctx, t.Labels); err != nil {
			return sink.ShardResult{}, err
		}
	}
	if err := f.embedRows(ctx, w, rows); err != nil {
		return sink.ShardResult{}, err
	}
	if t.Errors != "" {
		err := sink.ReadRows(ctx, t.Errors, readRows, func(batch []schemas.ErrorRow) error {
			for _, r := range batch {
				carried.Inc(ctx, 1)
				if err := w.Reject(ctx, r); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return sink.ShardResult{}, err
		}
	}
	res, err := w.Commit(ctx)
	ort.TrimMemory() // as the label job does after each shard
	return res, err
}

// Teardown releases the encoder (its session stays cached for the worker).
func (f *embedFn) Teardown() {
	if f.text != nil {
		f.text.Close()
	}
	if f.enc != nil {
		f.enc.Close()
	}
}
