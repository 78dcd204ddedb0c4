package label_test

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/groundbeam/groundbeam/internal/s3test"
	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/tiny"
	"github.com/groundbeam/groundbeam/pipelines/label"
	"github.com/groundbeam/groundbeam/report"
	"github.com/groundbeam/groundbeam/sampleset"
	"github.com/groundbeam/groundbeam/schemas"
	"github.com/groundbeam/groundbeam/transforms/sink"
)

// gcsFaults is what the handler in front of fake-gcs-server does wrong.
type gcsFaults struct {
	// every: every n-th request fails (0: none), in turn with 503, a
	// connection reset (the handler aborts without answering) and, for
	// object reads, a body cut half-way (else 503).
	every atomic.Int64
	// forbidden answers 403 to requests whose path contains it.
	forbidden atomic.Value // string

	requests, failed, reset, cut, denied atomic.Int64
}

// cutWriter passes half of a response body (at least one byte) through,
// then drops the connection.
type cutWriter struct {
	http.ResponseWriter
	limit, written int64
	started        bool
}

func (c *cutWriter) WriteHeader(code int) {
	c.started = true
	var size int64
	fmt.Sscan(c.Header().Get("Content-Length"), &size)
	c.limit = max(size/2, 1)
	c.ResponseWriter.WriteHeader(code)
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if !c.started {
		c.WriteHeader(http.StatusOK)
	}
	if c.written+int64(len(p)) >= c.limit {
		c.ResponseWriter.Write(p[:c.limit-c.written])
		if fl, ok := c.ResponseWriter.(http.Flusher); ok {
			fl.Flush()
		}
		panic(http.ErrAbortHandler)
	}
	c.written += int64(len(p))
	return c.ResponseWriter.Write(p)
}

// faultyGCS starts fake-gcs-server without a listener and serves it through
// a handler that injects faults, and points the storage clients of this
// process at it.
func faultyGCS(t *testing.T, f *gcsFaults, objects ...fakestorage.Object) *fakestorage.Server {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		NoListener: true, PublicHost: "127.0.0.1", InitialObjects: objects, Writer: io.Discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	inner := srv.HTTPHandler()
	f.forbidden.Store("")
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := f.requests.Add(1)
		if fb := f.forbidden.Load().(string); fb != "" && strings.Contains(r.URL.Path, fb) {
			f.denied.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"error":{"code":403,"message":"injected: access denied"}}`)
			return
		}
		if e := f.every.Load(); e > 0 && n%e == 0 {
			kind := (n / e) % 3
			if kind == 2 && r.Method == http.MethodGet && !strings.HasPrefix(r.URL.Path, "/storage/") {
				// An object read (XML API): half of the body, then the
				// connection drops.
				f.cut.Add(1)
				inner.ServeHTTP(&cutWriter{ResponseWriter: w}, r)
				return
			}
			io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
			if kind == 1 {
				f.reset.Add(1)
				panic(http.ErrAbortHandler) // the client sees the connection drop
			}
			f.failed.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, `{"error":{"code":503,"message":"injected fault %d"}}`, n)
			return
		}
		inner.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	t.Cleanup(srv.Stop)
	t.Setenv("STORAGE_EMULATOR_HOST", strings.TrimPrefix(front.URL, "http://"))
	return srv
}

// smallCorpus is 16 generated pairs in 4 tar shards.
func smallCorpus(t *testing.T) ([]sampleset.Pair, [][]byte) {
	t.Helper()
	pairs, err := sampleset.Pairs(&sampleset.Options{Pairs: 16, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	return pairs, testenv.Shards(t, pairs, 4)
}

// output is what a run wrote, read back through the file systems.
type output struct {
	labels map[string]schemas.LabelRow
	errs   []schemas.ErrorRow
}

func readOutput(t *testing.T, out string) output {
	t.Helper()
	ctx := context.Background()
	o := output{labels: map[string]schemas.LabelRow{}}
	if err := report.ReadLabels(ctx, out, func(r schemas.LabelRow) error {
		if _, dup := o.labels[r.Key]; dup {
			t.Errorf("%s: key %s written twice", out, r.Key)
		}
		o.labels[r.Key] = r
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := report.ReadErrors(ctx, out, func(r schemas.ErrorRow) error {
		o.errs = append(o.errs, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return o
}

// sameRow reports how got differs from want, ignoring where the pair was
// read from and the models' identities.
func sameRow(got, want schemas.LabelRow) string {
	if got.Caption != want.Caption || got.Width != want.Width || got.Height != want.Height {
		return fmt.Sprintf("caption/size %q %dx%d, want %q %dx%d", got.Caption, got.Width, got.Height, want.Caption, want.Width, want.Height)
	}
	if len(got.Boxes) != len(want.Boxes) {
		return fmt.Sprintf("%d boxes, want %d", len(got.Boxes), len(want.Boxes))
	}
	for i, b := range got.Boxes {
		w := want.Boxes[i]
		if b.Phrase != w.Phrase || b.CharStart != w.CharStart || math.Abs(float64(b.Score-w.Score)) > 1e-5 {
			return fmt.Sprintf("box %d: %q %.5f, want %q %.5f", i, b.Phrase, b.Score, w.Phrase, w.Score)
		}
		for k := range b.XYXY {
			if math.Abs(float64(b.XYXY[k]-w.XYXY[k])) > 1e-3 {
				return fmt.Sprintf("box %d: %v, want %v", i, b.XYXY, w.XYXY)
			}
		}
		for k := range b.Embedding {
			if math.Abs(float64(b.Embedding[k]-w.Embedding[k])) > 1e-4 {
				return fmt.Sprintf("box %d: embedding differs at %d", i, k)
			}
		}
	}
	return ""
}

// compare checks that got holds exactly want's labelled rows.
func compare(t *testing.T, got, want output) {
	t.Helper()
	if len(got.labels) != len(want.labels) {
		t.Errorf("%d labelled rows, the fault-free run has %d", len(got.labels), len(want.labels))
	}
	for k, w := range want.labels {
		g, ok := got.labels[k]
		if !ok {
			t.Errorf("%s: lost", k)
			continue
		}
		if d := sameRow(g, w); d != "" {
			t.Errorf("%s: %s", k, d)
		}
	}
	for k := range got.labels {
		if _, ok := want.labels[k]; !ok {
			t.Errorf("%s: labelled, but not by the fault-free run", k)
		}
	}
}

// cleanRun labels shards from local files into a local folder, without
// faults, once per test binary.
var cleanRun = struct {
	sync.Once
	out output
}{}

func faultFree(t *testing.T, teacher, clip string, shards [][]byte) output {
	t.Helper()
	cleanRun.Do(func() {
		in, out := t.TempDir(), t.TempDir()
		for i, s := range shards {
			if err := os.WriteFile(filepath.Join(in, sampleset.ShardName(i)), s, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := label.Run(context.Background(), label.Config{Input: filepath.Join(in, "*.tar"), Output: out,
			Teacher: teacher, CLIP: clip, BatchSize: 4, OrtLib: testenv.ORTLib(t)}); err != nil {
			t.Fatal(err)
		}
		cleanRun.out = readOutput(t, out)
	})
	if cleanRun.out.labels == nil {
		t.Fatal("the fault-free run failed")
	}
	return cleanRun.out
}

// TestStorageFaults runs the label job against object stores that fail one
// request in five, reading the shards and writing every output through
// them: the output must equal a fault-free run's, with no temporary files.
func TestStorageFaults(t *testing.T) {
	testenv.InitORT(t)
	teacher, clip := testenv.Bundles(t, nil)
	pairs, shards := smallCorpus(t)
	want := faultFree(t, teacher, clip, shards)
	if len(want.labels) != len(pairs) || len(want.errs) != 0 {
		t.Fatalf("fault-free run: %d labelled, %d rejected of %d", len(want.labels), len(want.errs), len(pairs))
	}
	ctx := context.Background()

	t.Run("gcs 503, resets and cut bodies", func(t *testing.T) {
		var objs []fakestorage.Object
		for i, s := range shards {
			objs = append(objs, testenv.Object("corpus", "shards/"+sampleset.ShardName(i), s))
		}
		f := &gcsFaults{}
		srv := faultyGCS(t, f, objs...)
		srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "out"})
		f.every.Store(5)
		res, err := label.Run(ctx, label.Config{Input: "gs://corpus/shards/*.tar", Output: "gs://out/faulty",
			Teacher: teacher, CLIP: clip, BatchSize: 4, OrtLib: testenv.ORTLib(t)})
		f.every.Store(0)
		t.Logf("%d requests, %d answered 503, %d reset, %d bodies cut", f.requests.Load(), f.failed.Load(), f.reset.Load(), f.cut.Load())
		if err != nil {
			t.Fatal(err)
		}
		if f.failed.Load() == 0 || f.reset.Load() == 0 {
			t.Error("no fault was injected")
		}
		compare(t, readOutput(t, "gs://out/faulty"), want)
		checkTotals(t, res, len(pairs), 0)
		objects, _, err := srv.ListObjectsWithOptions("out", fakestorage.ListOptions{Prefix: "faulty/"})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range objects {
			if strings.HasPrefix(path.Base(o.Name), sink.TempPrefix) {
				t.Errorf("temporary object left: %s", o.Name)
			}
		}
	})

	t.Run("s3 503 and cut bodies", func(t *testing.T) {
		_, client, stats := s3test.ServerStats(t, s3test.FailEvery(5), s3test.CutBodies(5))
		for i, s := range shards {
			s3test.Put(t, client, "corpus", "shards/"+sampleset.ShardName(i), s)
		}
		before := stats.Requests.Load()
		res, err := label.Run(ctx, label.Config{Input: "s3://corpus/shards/*.tar", Output: "s3://out/faulty",
			Teacher: teacher, CLIP: clip, BatchSize: 4, OrtLib: testenv.ORTLib(t)})
		t.Logf("%d requests, %d answered 503, %d bodies cut", stats.Requests.Load()-before, stats.Failed.Load(), stats.Cut.Load())
		if err != nil {
			t.Fatal(err)
		}
		compare(t, readOutput(t, "s3://out/faulty"), want)
		checkTotals(t, res, len(pairs), 0)
	})
}

func checkTotals(t *testing.T, res *label.Result, pairs, rejected int) {
	t.Helper()
	m := res.Manifest.Totals
	if m.InputPairs != int64(pairs) || m.Rejected != int64(rejected) || m.Labelled+m.Rejected != m.InputPairs {
		t.Errorf("manifest totals %+v, want %d pairs, %d rejected", m, pairs, rejected)
	}
}

// TestPermanentStorageErrors: a shard deleted after the input was listed
// (404) and one the job may not read (403) each become a row of the errors
// table; the other shards are labelled and the run succeeds.
func TestPermanentStorageErrors(t *testing.T) {
	testenv.InitORT(t)
	teacher, clip := testenv.Bundles(t, nil)
	_, shards := smallCorpus(t)
	want := faultFree(t, teacher, clip, shards)
	var objs []fakestorage.Object
	for i, s := range shards {
		objs = append(objs, testenv.Object("corpus", "shards/"+sampleset.ShardName(i), s))
	}
	f := &gcsFaults{}
	srv := faultyGCS(t, f, objs...)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "out"})
	ctx := context.Background()
	cfg := label.Config{Input: "gs://corpus/shards/*.tar", Output: "gs://out/perm",
		Teacher: teacher, CLIP: clip, BatchSize: 4, OrtLib: testenv.ORTLib(t)}
	p, plan, err := label.Build(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Shards) != 4 {
		t.Fatalf("planned %v", plan.Shards)
	}
	deleted, denied := sampleset.ShardName(1), sampleset.ShardName(2)
	if err := srv.Client().Bucket("corpus").Object("shards/" + deleted).Delete(ctx); err != nil {
		t.Fatal(err)
	}
	f.forbidden.Store("shards/" + denied)
	res, err := label.Execute(ctx, p, plan, cfg.Output)
	f.forbidden.Store("")
	if err != nil {
		t.Fatal(err)
	}
	if f.denied.Load() == 0 {
		t.Error("no request was denied")
	}
	got := readOutput(t, cfg.Output)
	reasons := map[string]schemas.ErrorRow{}
	for _, e := range got.errs {
		reasons[path.Base(e.Shard)] = e
	}
	for shard, wantReason := range map[string]string{deleted: "exist", denied: "403"} {
		e, ok := reasons[shard]
		if !ok {
			t.Errorf("%s: no error row (errors: %+v)", shard, got.errs)
			continue
		}
		if e.Stage != schemas.StageRead || e.Key != "" || !strings.Contains(e.Reason, wantReason) {
			t.Errorf("%s: error row %+v, want stage read, no key, a reason with %q", shard, e, wantReason)
		}
		t.Logf("%s: %s", shard, e.Reason)
	}
	if len(got.errs) != 2 {
		t.Errorf("%d error rows, want 2: %+v", len(got.errs), got.errs)
	}
	// The two other shards' pairs are labelled as in the fault-free run.
	kept := output{labels: map[string]schemas.LabelRow{}}
	for k, r := range want.labels {
		if b := path.Base(r.Shard); b != deleted && b != denied {
			kept.labels[k] = r
		}
	}
	compare(t, got, kept)
	checkTotals(t, res, len(kept.labels)+2, 2)
}

// TestUnwritableOutput: an output the job cannot write fails the run when
// it is built, before any shard is read or any model runs, with an error
// that says so.
func TestUnwritableOutput(t *testing.T) {
	testenv.InitORT(t)
	teacher, clip := testenv.Bundles(t, nil)
	_, shards := smallCorpus(t)
	in := t.TempDir()
	for i, s := range shards {
		if err := os.WriteFile(filepath.Join(in, sampleset.ShardName(i)), s, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &gcsFaults{}
	srv := faultyGCS(t, f)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "locked"})
	f.forbidden.Store("/locked")
	for _, tt := range []struct{ name, out, want string }{
		{"local path under a file", filepath.Join(file, "out"), "not writable"},
		{"gcs bucket that does not exist", "gs://no-such-bucket/out", "not writable"},
		{"gcs bucket that denies writes", "gs://locked/out", "not writable"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, _, err := label.Build(context.Background(), label.Config{Input: filepath.Join(in, "*.tar"), Output: tt.out,
				Teacher: teacher, CLIP: clip, OrtLib: testenv.ORTLib(t)})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Build: %v, want an error saying %q", err, tt.want)
			}
			t.Logf("refused in %v: %v", time.Since(start).Round(time.Millisecond), err)
		})
	}
}

// faultyTeacher writes a teacher bundle whose vocabulary has one word more
// than its graph's embedding table: a caption with that word makes ONNX
// Runtime's Gather fail on the whole batch, as a model and tokenizer that do
// not quite match do in real life; every other caption runs as with the
// tiny teacher.
func faultyTeacher(t *testing.T, dir string) (word string) {
	t.Helper()
	graph, err := tiny.Grounding(nil)
	if err != nil {
		t.Fatal(err)
	}
	word = "zyzzyva"
	vocab := append(tiny.WordPieceVocab(tiny.DefaultGroundingVocabSize), word)
	good, _, err := tiny.WriteBundles(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	m := good.Manifest
	m.Name = "glip-tiny-faulty"
	m.Fixtures = "" // its files are not copied
	if _, err := bundle.Write(dir, m, map[string][]byte{"model.onnx": graph, "vocab.txt": []byte(strings.Join(vocab, "\n") + "\n")}); err != nil {
		t.Fatal(err)
	}
	return word
}

// TestModelFault: an ONNX Runtime error on a batch is retried element by
// element; the element that fails alone goes to the errors table with
// stage infer, the rest of its batch is labelled as by a sound teacher.
func TestModelFault(t *testing.T) {
	testenv.InitORT(t)
	teacher, clip := testenv.Bundles(t, nil)
	pairs, shards := smallCorpus(t)
	want := faultFree(t, teacher, clip, shards)
	bad := filepath.Join(t.TempDir(), "teacher")
	word := faultyTeacher(t, bad)

	// Pair 5 (second batch of its shard) gets the word.
	victim := pairs[5].Key
	pairs[5].Caption = "a " + word + " and " + pairs[5].Caption
	in, out := t.TempDir(), t.TempDir()
	for i, s := range testenv.Shards(t, pairs, 4) {
		if err := os.WriteFile(filepath.Join(in, sampleset.ShardName(i)), s, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	res, err := label.Run(context.Background(), label.Config{Input: filepath.Join(in, "*.tar"), Output: out,
		Teacher: bad, CLIP: clip, BatchSize: 4, OrtLib: testenv.ORTLib(t)})
	if err != nil {
		t.Fatal(err)
	}
	got := readOutput(t, out)
	if len(got.errs) != 1 || got.errs[0].Key != victim || got.errs[0].Stage != schemas.StageInfer {
		t.Fatalf("errors %+v, want one row for %s at stage infer", got.errs, victim)
	}
	t.Logf("%s rejected: %s", victim, got.errs[0].Reason)
	if !strings.Contains(got.errs[0].Reason, "out of") && !strings.Contains(strings.ToLower(got.errs[0].Reason), "indices") {
		t.Errorf("reason %q does not carry ONNX Runtime's message", got.errs[0].Reason)
	}
	// Pairs of other batches come out as in the fault-free run; the
	// victim's batch mates, run one by one, are labelled too, though not
	// bit for bit as in their batch (padded to their own size, not the
	// batch's).
	victimShard := want.labels[victim].Shard
	others := output{labels: map[string]schemas.LabelRow{}}
	for k, r := range want.labels {
		if r.Shard != victimShard {
			others.labels[k] = r
			continue
		}
		if k == victim {
			continue
		}
		g, ok := got.labels[k]
		if !ok {
			t.Errorf("%s, in the failing batch, is not labelled", k)
			continue
		}
		if g.Caption != r.Caption || g.Width != r.Width || g.Height != r.Height {
			t.Errorf("%s: %q %dx%d, want %q %dx%d", k, g.Caption, g.Width, g.Height, r.Caption, r.Width, r.Height)
		}
		delete(got.labels, k)
	}
	compare(t, got, others)
	checkTotals(t, res, len(pairs), 1)
}
