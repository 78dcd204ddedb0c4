// Package ground labels input shards inside Beam: one DoFn takes a shard,
// streams its pairs through the grounding teacher and the CLIP region
// encoder (model/label) in batches, and writes the shard's labelled rows and
// rejected inputs as it goes (transforms/sink), committing the shard as a
// whole at the end. No shuffle holds rows or images, so memory stays flat
// and every committed shard survives a failure elsewhere in the run.
//
// Models are loaded in Setup into the worker's shared session cache, never
// per element or bundle.
package ground

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/clip"
	"github.com/groundbeam/groundbeam/model/glip"
	"github.com/groundbeam/groundbeam/model/label"
	"github.com/groundbeam/groundbeam/model/ort"
	"github.com/groundbeam/groundbeam/model/teacher"
	"github.com/groundbeam/groundbeam/schemas"
	"github.com/groundbeam/groundbeam/transforms/sink"
	"github.com/groundbeam/groundbeam/transforms/source"
)

func init() {
	register.DoFn3x1[context.Context, sink.Unit, func(sink.ShardResult), error](&labelShardFn{})
	register.Emitter1[sink.ShardResult]()
}

// Config is what the labelling DoFn needs; it travels to workers as JSON.
type Config struct {
	// Teacher and CLIP are the bundle folders.
	Teacher string
	CLIP    string
	// OrtLib is the ONNX Runtime library ("" resolves on the worker:
	// $GROUNDBEAM_ORT_LIB, then the cache).
	OrtLib string
	// Session are the ONNX Runtime settings.
	Session ort.Options
	// BatchSize is the number of pairs per teacher call (default 8).
	BatchSize int
	// Shards is how many shards a worker process labels at once,
	// whatever number of bundles the runner runs (default
	// DefaultShardsInFlight); others wait before opening anything.
	Shards int
	// Batches is how many batches a worker process labels at once,
	// across its shards (default DefaultBatchesInFlight): while one
	// waits on ONNX Runtime, the next is decoded and resized.
	Batches int
	// Params are the GLIP post-processing settings.
	Params glip.Params
	// MaxPixels refuses larger images before decoding.
	MaxPixels int
	// Vocab switches to vocabulary mode: class names, label id = index.
	Vocab []string
	// CLIP are the region encoder's settings (scales, CPU crops).
	CLIPScales []float64
	CPUCrops   bool
	// Sink says where the shard's tables go.
	Sink sink.Config
	// Resume skips shards a previous run committed.
	Resume bool
	// Proposals is a proposals file (see ReadProposals); each DoFn
	// instance reads it once in Setup and holds it in memory. "" means
	// none.
	Proposals string
	// MaxProposals is the most proposals embedded per image (0:
	// label.DefaultMaxProposals).
	MaxProposals int
	// NoTeacherBoxes leaves the teacher's boxes out (only proposals are
	// embedded and written).
	NoTeacherBoxes bool
	// Float16 writes embeddings as half-precision bits
	// (schemas.Box.EmbeddingF16) instead of float32.
	Float16 bool
	// ClipScore gives every teacher box its CLIP region-text score
	// (schemas.Box.ClipScore) with the CLIP bundle's text tower.
	ClipScore bool
}

// LabelShards labels every shard of units (a PCollection of sink.Unit: a
// shard URI and its output name) and returns a PCollection of
// sink.ShardResult, one per committed shard.
func LabelShards(s beam.Scope, cfg Config, units beam.PCollection) beam.PCollection {
	s = s.Scope("ground.LabelShards")
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 8
	}
	if cfg.Shards <= 0 {
		cfg.Shards = DefaultShardsInFlight
	}
	if cfg.Batches <= 0 {
		cfg.Batches = DefaultBatchesInFlight
	}
	return beam.ParDo(s, &labelShardFn{Cfg: cfg}, units)
}

type labelShardFn struct {
	Cfg Config

	lab       *label.Labeler
	proposals map[string][][4]float32
	// shards and batches are the worker's gates (ort.WorkerGate),
	// shared by every instance of this DoFn in the process.
	shards, batches *ort.Gate
	teacher         *teacher.Teacher
	clip            *clip.Encoder
	text            *clip.TextEncoder
}

var (
	pairsIn   = beam.NewCounter("groundbeam", "pairs")
	labelled  = beam.NewCounter("groundbeam", "pairs_labelled")
	rejected  = beam.NewCounter("groundbeam", "pairs_rejected")
	boxes     = beam.NewCounter("groundbeam", "boxes")
	skipped   = beam.NewCounter("groundbeam", "phrases_skipped")
	truncated = beam.NewCounter("groundbeam", "prompts_truncated")
	dropped   = beam.NewCounter("groundbeam", "phrases_dropped")
	shardsOK  = beam.NewCounter("groundbeam", "shards_committed")
	resumed   = beam.NewCounter("groundbeam", "shards_resumed")
	perImage  = beam.NewDistribution("groundbeam", "boxes_per_image")
	setups    = beam.NewCounter("groundbeam", "dofn_setups")
	// shardsAt and batchesAt are how many shards and batches the worker
	// had in flight as each one was admitted (their max is the gates'
	// bound at work).
	shardsAt  = beam.NewDistribution("groundbeam", "shards_in_flight")
	batchesAt = beam.NewDistribution("groundbeam", "batches_in_flight")
)

// Setup opens the models from the worker's shared session cache.
func (f *labelShardFn) Setup(ctx context.Context) error {
	if f.Cfg.Proposals != "" {
		limit := f.Cfg.MaxProposals
		if limit <= 0 {
			limit = label.DefaultMaxProposals
		}
		// keep twice the limit: some may be dropped as degenerate
		var err error
		if f.proposals, err = ReadProposals(ctx, f.Cfg.Proposals, 2*limit); err != nil {
			return err
		}
	}
	if err := ort.Start(f.Cfg.OrtLib); err != nil {
		return err
	}
	tb, err := bundle.LoadVerified(f.Cfg.Teacher, bundle.KindGrounding, ort.Opened)
	if err != nil {
		return err
	}
	cb, err := bundle.LoadVerified(f.Cfg.CLIP, bundle.KindCLIP, ort.Opened)
	if err != nil {
		return err
	}
	params := f.Cfg.Params
	// the batches in flight share the worker's cores
	sess := f.Cfg.Session.SharedBy(f.Cfg.Batches, runtime.NumCPU())
	if f.teacher, err = teacher.Open(tb, &teacher.Options{Params: &params, Session: sess, Vocab: f.Cfg.Vocab}); err != nil {
		return err
	}
	if f.clip, err = clip.Open(cb, &clip.Options{Session: sess, Scales: f.Cfg.CLIPScales, CPUCrops: f.Cfg.CPUCrops}); err != nil {
		f.teacher.Close()
		return err
	}
	var scorer *clip.Scorer
	if f.Cfg.ClipScore {
		if f.text, err = clip.OpenText(cb, &clip.TextOptions{Session: sess}); err != nil {
			f.clip.Close()
			f.teacher.Close()
			return err
		}
		scorer = clip.NewScorer(f.text)
	}
	f.lab = label.New(f.teacher, f.clip, &label.Options{MaxPixels: f.Cfg.MaxPixels, Vocab: f.Cfg.Vocab,
		MaxProposals: f.Cfg.MaxProposals, NoTeacherBoxes: f.Cfg.NoTeacherBoxes, Float16: f.Cfg.Float16, Scorer: scorer})
	f.shards = ort.WorkerGate("ground.shards", f.Cfg.Shards)
	f.batches = ort.WorkerGate("ground.batches", f.Cfg.Batches)
	setups.Inc(ctx, 1)
	slog.Debug("labeller ready", "teacher", tb.Identity, "clip", cb.Identity)
	return nil
}

// ProcessElement labels one shard and commits its files.
func (f *labelShardFn) ProcessElement(ctx context.Context, u sink.Unit, emit func(sink.ShardResult)) error {
	shard := u.Shard
	if f.Cfg.Resume {
		res, ok, err := sink.Committed(ctx, f.Cfg.Sink, u)
		if err != nil {
			return err
		}
		if ok {
			resumed.Inc(ctx, 1)
			emit(res)
			return nil
		}
	}
	// Wait for a worker slot before opening anything: a waiting shard
	// holds nothing but its name.
	ticket := f.shards.Ticket()
	if err := f.shards.Acquire(ctx, ticket); err != nil {
		return fmt.Errorf("shard %s: %w", shard, err)
	}
	defer f.shards.Release()
	shardsAt.Update(ctx, int64(f.shards.Held()))
	w, err := sink.NewShardWriter(ctx, f.Cfg.Sink, u)
	if err != nil {
		return err
	}
	res, err := f.label(ctx, shard, ticket, w)
	if err != nil {
		w.Abort(context.WithoutCancel(ctx))
		return fmt.Errorf("shard %s: %w", shard, err)
	}
	shardsOK.Inc(ctx, 1)
	emit(res)
	return nil
}

// DefaultShardsInFlight and DefaultBatchesInFlight are the worker's
// default gates (Config.Shards, Config.Batches). Two batches keep the
// sessions fed: on the CPU each runs with half the cores
// (ort.Options.SharedBy), and while one batch is decoded and resized the
// other runs, so the CPU work around the sessions overlaps inference
// instead of adding to it. Two shards let the next shard read its first
// batch while the last batches of the one before run and it commits.
// Peak memory follows these, not the number of bundles the runner starts.
// On two cores, one, three and four batches in flight were 2-11% slower
// than two (BenchmarkLabelSettings).
const (
	DefaultShardsInFlight  = 2
	DefaultBatchesInFlight = 2
)

// pending is a batch being labelled, or a rejected input, in input order.
type pending struct {
	reject *schemas.ErrorRow
	done   chan struct{}
	outs   []label.Outcome
	st     label.Stats
	err    error
	held   int // batches in flight when this one was admitted
}

func (f *labelShardFn) label(ctx context.Context, shard string, ticket uint64, w *sink.ShardWriter) (sink.ShardResult, error) {
	inFlight := f.batches.Limit()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var queue []*pending
	// write commits the oldest entry's results, in input order.
	write := func(p *pending) error {
		if p.reject != nil {
			rejected.Inc(ctx, 1)
			return w.Reject(ctx, *p.reject)
		}
		<-p.done
		if p.err != nil {
			return p.err
		}
		for _, o := range p.outs {
			if o.Err != nil {
				rejected.Inc(ctx, 1)
				if err := w.Reject(ctx, *o.Err); err != nil {
					return err
				}
				continue
			}
			labelled.Inc(ctx, 1)
			perImage.Update(ctx, int64(len(o.Row.Boxes)))
			if err := w.Label(ctx, *o.Row); err != nil {
				return err
			}
		}
		batchesAt.Update(ctx, int64(p.held))
		boxes.Inc(ctx, int64(p.st.Boxes))
		skipped.Inc(ctx, int64(p.st.SkippedPhrases))
		truncated.Inc(ctx, int64(p.st.Truncated))
		dropped.Inc(ctx, int64(p.st.DroppedPhrases))
		return nil
	}
	// drain writes entries until at most keep batches are in flight.
	drain := func(keep int) error {
		for len(queue) > 0 {
			running := 0
			for _, p := range queue {
				if p.reject == nil {
					running++
				}
			}
			if running <= keep && queue[0].reject == nil {
				return nil
			}
			if err := write(queue[0]); err != nil {
				return err
			}
			queue = queue[1:]
		}
		return nil
	}
	start := func(batch []label.Pair) {
		p := &pending{done: make(chan struct{})}
		go func() {
			defer close(p.done)
			// the oldest shard's batches go first
			if p.err = f.batches.Acquire(ctx, ticket); p.err != nil {
				return
			}
			defer f.batches.Release()
			p.held = f.batches.Held()
			outs, st, err := f.lab.Label(ctx, batch)
			if err != nil {
				err = fmt.Errorf("label batch of %d: %w", len(batch), err)
			}
			p.outs, p.st, p.err = outs, st, err
		}()
		queue = append(queue, p)
	}
	batch := make([]label.Pair, 0, f.Cfg.BatchSize)
	err := source.Read(ctx, shard, nil, func(it source.Item) error {
		pairsIn.Inc(ctx, 1)
		if it.Reject != nil {
			queue = append(queue, &pending{reject: it.Reject})
			return drain(inFlight)
		}
		p := it.Pair
		p.Proposals = f.proposals[p.Key]
		batch = append(batch, p)
		if len(batch) == f.Cfg.BatchSize {
			start(batch)
			batch = make([]label.Pair, 0, f.Cfg.BatchSize)
			return drain(inFlight - 1)
		}
		return nil
	})
	if err == nil && len(batch) > 0 {
		start(batch)
	}
	if err == nil {
		err = drain(0)
	}
	if err != nil {
		cancel()
		for _, p := range queue {
			if p.done != nil {
				<-p.done // let ONNX Runtime finish before the batch is dropped
			}
		}
		return sink.ShardResult{}, err
	}
	res, err := w.Commit(ctx)
	// What the shard's batches freed goes back to the system, so the
	// worker's memory does not creep up with the number of shards.
	ort.TrimMemory()
	return res, err
}

// Teardown releases the models (the sessions stay cached for the worker).
func (f *labelShardFn) Teardown() {
	if f.text != nil {
		f.text.Close()
	}
	if f.clip != nil {
		f.clip.Close()
	}
	if f.teacher != nil {
		f.teacher.Close()
	}
}
