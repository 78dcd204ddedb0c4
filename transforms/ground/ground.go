// Package ground labels pairs inside Beam: a DoFn that batches pairs,
// runs the grounding teacher and the CLIP region encoder (model/label), and
// emits labelled rows and rejected inputs. Models are loaded in Setup into
// the worker's shared session cache, never per element or bundle.
package ground

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/clip"
	"github.com/groundbeam/groundbeam/model/glip"
	"github.com/groundbeam/groundbeam/model/label"
	"github.com/groundbeam/groundbeam/model/ort"
	"github.com/groundbeam/groundbeam/model/teacher"
	"github.com/groundbeam/groundbeam/schemas"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*schemas.LabelRow)(nil)).Elem())
	register.DoFn4x1[context.Context, label.Pair, func(schemas.LabelRow), func(schemas.ErrorRow), error](&labelFn{})
	register.Emitter1[schemas.LabelRow]()
	register.Emitter1[schemas.ErrorRow]()
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
	// Params are the GLIP post-processing settings.
	Params glip.Params
	// MaxPixels refuses larger images before decoding.
	MaxPixels int
}

// Label runs the teacher and CLIP on pairs, returning labelled rows and
// rejected inputs.
func Label(s beam.Scope, cfg Config, pairs beam.PCollection) (rows, rejected beam.PCollection) {
	s = s.Scope("ground.Label")
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 8
	}
	return beam.ParDo2(s, &labelFn{Cfg: cfg}, pairs)
}

type labelFn struct {
	Cfg Config

	lab     *label.Labeler
	teacher *teacher.Teacher
	clip    *clip.Encoder
	buf     []label.Pair
}

var (
	labelled  = beam.NewCounter("groundbeam", "pairs_labelled")
	rejectedC = beam.NewCounter("groundbeam", "pairs_rejected_label")
	boxes     = beam.NewCounter("groundbeam", "boxes")
	skipped   = beam.NewCounter("groundbeam", "phrases_skipped")
	truncated = beam.NewCounter("groundbeam", "prompts_truncated")
	perImage  = beam.NewDistribution("groundbeam", "boxes_per_image")
	setups    = beam.NewCounter("groundbeam", "dofn_setups")
)

// Setup opens the models from the worker's shared session cache.
func (f *labelFn) Setup(ctx context.Context) error {
	lib, err := ort.FindLibrary(f.Cfg.OrtLib)
	if err != nil {
		return err
	}
	if err := ort.Init(lib); err != nil {
		return err
	}
	tb, err := bundle.Load(f.Cfg.Teacher, bundle.KindGrounding)
	if err != nil {
		return err
	}
	cb, err := bundle.Load(f.Cfg.CLIP, bundle.KindCLIP)
	if err != nil {
		return err
	}
	params := f.Cfg.Params
	if f.teacher, err = teacher.Open(tb, &teacher.Options{Params: &params, Session: f.Cfg.Session}); err != nil {
		return err
	}
	if f.clip, err = clip.Open(cb, &clip.Options{Session: f.Cfg.Session}); err != nil {
		f.teacher.Close()
		return err
	}
	f.lab = label.New(f.teacher, f.clip, &label.Options{MaxPixels: f.Cfg.MaxPixels})
	setups.Inc(ctx, 1)
	slog.Debug("labeller ready", "teacher", tb.Identity, "clip", cb.Identity)
	return nil
}

// ProcessElement buffers a pair and labels a full batch.
func (f *labelFn) ProcessElement(ctx context.Context, p label.Pair, emit func(schemas.LabelRow), reject func(schemas.ErrorRow)) error {
	f.buf = append(f.buf, p)
	if len(f.buf) >= f.Cfg.BatchSize {
		return f.flush(ctx, emit, reject)
	}
	return nil
}

// FinishBundle labels what is left in the batch.
func (f *labelFn) FinishBundle(ctx context.Context, emit func(schemas.LabelRow), reject func(schemas.ErrorRow)) error {
	return f.flush(ctx, emit, reject)
}

func (f *labelFn) flush(ctx context.Context, emit func(schemas.LabelRow), reject func(schemas.ErrorRow)) error {
	if len(f.buf) == 0 {
		return nil
	}
	outs, st, err := f.lab.Label(ctx, f.buf)
	if err != nil {
		return fmt.Errorf("label batch of %d: %w", len(f.buf), err)
	}
	for _, o := range outs {
		if o.Err != nil {
			rejectedC.Inc(ctx, 1)
			reject(*o.Err)
			continue
		}
		labelled.Inc(ctx, 1)
		perImage.Update(ctx, int64(len(o.Row.Boxes)))
		emit(*o.Row)
	}
	boxes.Inc(ctx, int64(st.Boxes))
	skipped.Inc(ctx, int64(st.SkippedPhrases))
	truncated.Inc(ctx, int64(st.Truncated))
	f.buf = f.buf[:0]
	return nil
}

// Teardown releases the models (the sessions stay cached for the worker).
func (f *labelFn) Teardown() {
	if f.clip != nil {
		f.clip.Close()
	}
	if f.teacher != nil {
		f.teacher.Close()
	}
}
