package label_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/ort"
	"github.com/groundbeam/groundbeam/model/tiny"
	"github.com/groundbeam/groundbeam/pipelines/label"
	"github.com/groundbeam/groundbeam/sampleset"
)

// benchTeachers are the teacher weights BenchmarkLabelVsSession runs at:
// the tiny teacher as it is (inference costs next to nothing, so the ratio
// shows the pipeline's own cost per pair), and made inference-heavy with
// extra hidden layers, so that inference dominates as it does with real
// teachers. The heavy one costs about 13 GFLOP per image; GLIP-T and
// Grounding DINO-T cost well over 100 GFLOP at 800×1333, so it is still
// lighter than any real teacher.
var benchTeachers = []struct {
	name          string
	layers, width int
}{
	{"teacher=tiny", 0, 0},
	{"teacher=heavy", 48, 2048},
}

// pairs and shards are the label benchmarks' input: 64 photo-like pairs
// of 640×480 in two shards.
const pairs, shards = 64, 2

// benchInput writes the benchmarks' input shards into a folder of the
// benchmark's own and returns the ONNX Runtime library, that folder and
// the shards' folder.
func benchInput(b *testing.B) (lib, dir, in string) {
	lib = testenv.ORTLib(b)
	testenv.InitORT(b)
	dir = b.TempDir()
	ps, err := sampleset.Pairs(&sampleset.Options{Pairs: pairs, Width: 640, Height: 480, Seed: 5})
	if err != nil {
		b.Fatal(err)
	}
	in = filepath.Join(dir, "in")
	if err := os.MkdirAll(in, 0o755); err != nil {
		b.Fatal(err)
	}
	for i, s := range testenv.Shards(b, ps, shards) {
		if err := os.WriteFile(filepath.Join(in, sampleset.ShardName(i)), s, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return lib, dir, in
}

// BenchmarkLabelVsSession measures the label job's throughput on the CPU
// against the bare ONNX Runtime sessions doing the same inference. The job
// runs with its defaults (region graph, crop scales 1.0 and 1.5, batch 8,
// two batches in flight, intra-op threads shared between them); every
// session records the input shapes it ran with, and the replay runs
// exactly those runs (same graphs, shapes and counts) with nothing around
// them, on twin sessions with ONNX Runtime's memory arena and spinning
// threads: with the job's thread count one run after another and two at
// a time, and with ONNX Runtime's own thread count (one per core) one
// after another. job/sessions is against the fastest of the three: what
// the pipeline around the sessions (decode, resize, tokenize,
// post-process, Parquet, Beam) leaves of the sessions' best throughput.
func BenchmarkLabelVsSession(b *testing.B) {
	lib, dir, in := benchInput(b)
	const batch = 8
	for _, tc := range benchTeachers {
		b.Run(tc.name, func(b *testing.B) {
			tb, cb, err := tiny.WriteBundles(filepath.Join(dir, tc.name), &tiny.BundleOptions{
				Grounding: &tiny.GroundingOptions{HeavyLayers: tc.layers, HeavyWidth: tc.width}})
			if err != nil {
				b.Fatal(err)
			}
			runs := 0
			run := func() {
				runs++
				if _, err := label.Run(context.Background(), label.Config{
					Input: filepath.Join(in, "*.tar"), Output: filepath.Join(dir, "out", fmt.Sprint(tc.name, runs)),
					Teacher: tb.Dir, CLIP: cb.Dir, OrtLib: lib, BatchSize: batch,
				}); err != nil {
					b.Fatal(err)
				}
			}
			for _, s := range bundleSessions(tb, cb) {
				s.ResetRunShapes() // from an earlier -count round
			}
			run() // opens the sessions and records their runs, untimed
			sessions := bundleSessions(tb, cb)
			work := replayWork(b, sessions, 1, cb, false)
			own := replayWork(b, sessions, 1, cb, true)
			// Each iteration runs the job, then the sessions alone one run
			// after another, then two at a time (as the job keeps two
			// batches in flight), then one after another with a thread per
			// core; alternating keeps the machine's drift out of the ratio,
			// which is taken against the fastest replay.
			var pipeline, seq, par, ortSeq time.Duration
			timed := func(f func()) time.Duration {
				start := time.Now()
				f()
				return time.Since(start)
			}
			for b.Loop() {
				pipeline += timed(run)
				seq += timed(func() { replay(b, work, 1) })
				par += timed(func() { replay(b, work, 2) })
				ortSeq += timed(func() { replay(b, own, 1) })
			}
			rate := func(d time.Duration) float64 { return float64(pairs*b.N) / d.Seconds() }
			best := min(seq, par, ortSeq)
			b.ReportMetric(rate(pipeline), "job-pairs/s")
			b.ReportMetric(rate(seq), "sessions-x1-pairs/s")
			b.ReportMetric(rate(par), "sessions-x2-pairs/s")
			b.ReportMetric(rate(ortSeq), "sessions-ort-threads-x1-pairs/s")
			b.ReportMetric(best.Seconds()/pipeline.Seconds(), "job/sessions")
			b.ReportMetric((pipeline-best).Seconds()*1e3/float64(pairs*b.N), "overhead-ms/pair")
		})
	}
}

// bundleSessions returns the cached sessions of the two bundles' graphs.
func bundleSessions(bundles ...*bundle.Bundle) []*ort.Session {
	var out []*ort.Session
	for _, s := range ort.Sessions() {
		for _, bd := range bundles {
			if id := s.Identity(); id == bd.Identity || strings.HasPrefix(id, bd.Identity+"/") {
				out = append(out, s)
			}
		}
	}
	return out
}

// replay runs work on par goroutines, each taking every par-th run.
func replay(b *testing.B, work []replayRun, par int) {
	errs := make(chan error, par)
	for g := range par {
		go func() {
			var err error
			for i := g; i < len(work) && err == nil; i += par {
				_, err = work[i].s.Run(context.Background(), work[i].in)
			}
			errs <- err
		}()
	}
	for range par {
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
}

// replayRun is one session run of a replay.
type replayRun struct {
	s  *ort.Session
	in []ort.Tensor
}

// replayWork turns the sessions' recorded runs over n pipeline runs into
// the runs of one: each shape combination's runs divided by n, with
// constant inputs (token ids 1, mask 1, pixels 0.5, region boxes covering
// the image's top-left quarter). ortThreads runs them with ONNX Runtime's
// own intra-op thread count instead of the job's.
func replayWork(b *testing.B, sessions []*ort.Session, n int, cb *bundle.Bundle, ortThreads bool) []replayRun {
	var work []replayRun
	boxes := cb.Manifest.Inputs[bundle.InBoxes]
	for _, s := range sessions {
		names := s.Inputs()
		// The replay runs on a twin session with ONNX Runtime's own
		// defaults (memory arena, spinning threads): the fastest a
		// session alone runs, whatever the job chose.
		key := s.Key()
		key.Identity += "#bare"
		key.Arena, key.Spin = true, true
		if ortThreads {
			key.Identity += "-ort-threads"
			key.IntraOpThreads = 0
		}
		bare, err := ort.Acquire(key, names, s.Outputs())
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(bare.Release)
		for _, rs := range s.RunShapes() {
			if rs.Other {
				b.Fatalf("%s ran with too many shapes to replay", s.Identity())
			}
			if rs.Runs%int64(n) != 0 {
				b.Fatalf("%s: %d runs of %v over %d pipeline runs", s.Identity(), rs.Runs, rs.Shapes, n)
			}
			in := make([]ort.Tensor, len(rs.Shapes))
			for i, shape := range rs.Shapes {
				size := int64(1)
				for _, d := range shape {
					size *= d
				}
				t := ort.Tensor{Shape: shape}
				switch rs.Types[i] {
				case "int64":
					t.I64 = make([]int64, size)
					for j := range t.I64 {
						t.I64[j] = 1
					}
				case "uint8":
					t.U8 = make([]uint8, size)
				default:
					t.F32 = make([]float32, size)
					for j := range t.F32 {
						t.F32[j] = 0.5
					}
				}
				if names[i] == boxes && len(shape) == 2 && shape[1] == 4 {
					img := rs.Shapes[0] // [1,3,H,W], or [1,H,W,3] for uint8
					bw, bh := float32(img[3]/2), float32(img[2]/2)
					if rs.Types[0] == "uint8" {
						bw, bh = float32(img[2]/2), float32(img[1]/2)
					}
					for j := 0; j < len(t.F32); j += 4 {
						t.F32[j], t.F32[j+1], t.F32[j+2], t.F32[j+3] = 0, 0, bw, bh
					}
				}
				in[i] = t
			}
			for range rs.Runs / int64(n) {
				work = append(work, replayRun{s: bare, in: in})
			}
		}
	}
	if len(work) == 0 {
		b.Fatal("the pipeline ran no session")
	}
	return work
}

// BenchmarkLabelSettings measures the label job's throughput on the CPU
// at several batch sizes and numbers of batches in flight, with the
// inference-heavy teacher, to choose the defaults: each iteration runs
// every setting once, in turn, so the machine's drift spreads over all of
// them. Intra-op threads follow the batches in flight
// (ort.Options.SharedBy).
func BenchmarkLabelSettings(b *testing.B) {
	lib, dir, in := benchInput(b)
	heavy := benchTeachers[len(benchTeachers)-1]
	tb, cb, err := tiny.WriteBundles(filepath.Join(dir, "heavy"), &tiny.BundleOptions{
		Grounding: &tiny.GroundingOptions{HeavyLayers: heavy.layers, HeavyWidth: heavy.width}})
	if err != nil {
		b.Fatal(err)
	}
	settings := []struct{ batch, inFlight int }{
		{8, 1}, {8, 2}, {8, 3}, {8, 4}, {4, 3}, {16, 3},
	}
	took := make([]time.Duration, len(settings))
	runs := 0
	run := func(batch, inFlight int) time.Duration {
		runs++
		start := time.Now()
		if _, err := label.Run(context.Background(), label.Config{
			Input: filepath.Join(in, "*.tar"), Output: filepath.Join(dir, "out", fmt.Sprint(runs)),
			Teacher: tb.Dir, CLIP: cb.Dir, OrtLib: lib, BatchSize: batch, BatchesInFlight: inFlight,
		}); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	run(8, 3) // opens the sessions (one thread each on two cores), untimed
	run(8, 1) // and those with a thread per core
	for b.Loop() {
		for i, s := range settings {
			took[i] += run(s.batch, s.inFlight)
		}
	}
	for i, s := range settings {
		b.ReportMetric(float64(pairs*b.N)/took[i].Seconds(), fmt.Sprintf("batch%d-inflight%d-pairs/s", s.batch, s.inFlight))
	}
}
