package label_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/storage"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/parquet-go/parquet-go"
	"google.golang.org/api/iterator"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/ort"
	"github.com/groundbeam/groundbeam/pipelines/label"
	"github.com/groundbeam/groundbeam/sampleset"
	"github.com/groundbeam/groundbeam/schemas"
	"github.com/groundbeam/groundbeam/transforms/sink"
)

func TestMain(m *testing.M) { ptest.Main(m) }

// readTable reads every Parquet file of OUT/table from the bucket.
func readTable[T any](t *testing.T, c *storage.Client, bucket, prefix string) (rows []T, files []string) {
	t.Helper()
	ctx := context.Background()
	it := c.Bucket(bucket).Objects(ctx, &storage.Query{Prefix: prefix})
	for {
		a, err := it.Next()
		if err == iterator.Done {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, a.Name)
		r, err := c.Bucket(bucket).Object(a.Name).NewReader(ctx)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		got, err := parquet.Read[T](bytes.NewReader(raw), int64(len(raw)))
		if err != nil {
			t.Fatalf("read %s: %v", a.Name, err)
		}
		// The file's own schema is the row type's (whose columns the
		// README lists, checked in package schemas).
		f, err := parquet.OpenFile(bytes.NewReader(raw), int64(len(raw)))
		if err != nil {
			t.Fatal(err)
		}
		var zero T
		if got, want := fmt.Sprint(schemas.ColumnsOf(f.Schema())), fmt.Sprint(schemas.Columns(zero)); got != want {
			t.Errorf("%s has columns %s, want %s", a.Name, got, want)
		}
		rows = append(rows, got...)
	}
	return rows, files
}

// TestLabelOnGCS runs the whole label job on Prism against an in-process
// GCS server: shards uploaded to a bucket, output read back from another.
func TestLabelOnGCS(t *testing.T) {
	testenv.InitORT(t)
	teacherDir, clipDir := testenv.Bundles(t, nil)
	tb, err := bundle.Load(teacherDir, bundle.KindGrounding)
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := sampleset.Pairs(&sampleset.Options{Pairs: 12, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	var objs []fakestorage.Object
	for i, s := range testenv.Shards(t, pairs, 3) {
		objs = append(objs, testenv.Object("corpus", "shards/"+sampleset.ShardName(i), s))
	}
	objs = append(objs, testenv.Object("corpus", "other/readme.txt", []byte("not a shard")))
	srv := testenv.GCS(t, objs...)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "out"})

	before := ort.SessionsCreated()
	cfg := label.Config{
		Input: "gs://corpus/shards/*.tar", Output: "gs://out/run1",
		Teacher: teacherDir, CLIP: clipDir, BatchSize: 4, OrtLib: testenv.ORTLib(t),
	}
	res, err := label.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}

	rows, files := readTable[schemas.LabelRow](t, srv.Client(), "out", "run1/labels/")
	if len(files) != 3 {
		t.Errorf("labels files %v, want one per shard", files)
	}
	if len(rows) != len(pairs) {
		t.Fatalf("%d rows, want one per pair (%d)", len(rows), len(pairs))
	}
	byKey := map[string]sampleset.Pair{}
	for _, p := range pairs {
		byKey[p.Key] = p
	}
	boxes := 0
	for _, r := range rows {
		p, ok := byKey[r.Key]
		if !ok {
			t.Errorf("row key %q is no input pair", r.Key)
			continue
		}
		delete(byKey, r.Key)
		if r.Caption != p.Caption {
			t.Errorf("%s: caption %q, want %q", r.Key, r.Caption, p.Caption)
		}
		if r.Teacher != tb.Identity || !strings.HasPrefix(r.CLIP, "clip-tiny@") {
			t.Errorf("%s: provenance %q/%q, want teacher %q", r.Key, r.Teacher, r.CLIP, tb.Identity)
		}
		if !strings.HasPrefix(r.Source, "gs://corpus/shards/shard-") {
			t.Errorf("%s: source %q", r.Key, r.Source)
		}
		for _, b := range r.Boxes {
			boxes++
			x := b.XYXY
			if len(x) != 4 || x[0] < 0 || x[1] < 0 || x[2] > float32(r.Width) || x[3] > float32(r.Height) || x[0] >= x[2] || x[1] >= x[3] {
				t.Errorf("%s: box %v outside the %dx%d image", r.Key, x, r.Width, r.Height)
			}
			var n float64
			for _, v := range b.Embedding {
				n += float64(v) * float64(v)
			}
			if len(b.Embedding) == 0 || math.Abs(math.Sqrt(n)-1) > 1e-4 {
				t.Errorf("%s: embedding of %d values has norm %g", r.Key, len(b.Embedding), math.Sqrt(n))
			}
			if b.Phrase == "" || !strings.Contains(strings.ToLower(r.Caption), strings.ToLower(b.Phrase)) {
				t.Errorf("%s: phrase %q is not in the caption %q", r.Key, b.Phrase, r.Caption)
			}
		}
	}
	if len(byKey) != 0 {
		t.Errorf("pairs with no row: %v", byKey)
	}
	if boxes == 0 {
		t.Error("no boxes at all")
	}
	m := res.Manifest
	if m.Totals.InputPairs != int64(len(pairs)) || m.Totals.Labelled != int64(len(pairs)) || m.Totals.Boxes != int64(boxes) {
		t.Errorf("manifest totals %+v, want %d pairs and %d boxes", m.Totals, len(pairs), boxes)
	}
	// One session per model for the whole worker, however many bundles
	// and DoFn instances ran.
	if got := ort.SessionsCreated() - before; got != 2 {
		t.Errorf("%d sessions created for %d pairs, want 2 (teacher and CLIP image tower)", got, len(pairs))
	}
	if res.Counters["dofn_setups"] < 1 {
		t.Errorf("counters %v", res.Counters)
	}

	// A second run in the same worker process reuses the sessions.
	cfg.Output = "gs://out/run2"
	if _, err := label.Run(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	if got := ort.SessionsCreated() - before; got != 2 {
		t.Errorf("after a second run %d sessions were created, want still 2", got)
	}
	rows2, _ := readTable[schemas.LabelRow](t, srv.Client(), "out", "run2/labels/")
	sort.Slice(rows, func(i, j int) bool { return rows[i].Key < rows[j].Key })
	sort.Slice(rows2, func(i, j int) bool { return rows2[i].Key < rows2[j].Key })
	if len(rows2) != len(rows) {
		t.Fatalf("second run: %d rows, first %d", len(rows2), len(rows))
	}
	for i := range rows {
		if len(rows[i].Boxes) != len(rows2[i].Boxes) {
			t.Errorf("%s: %d boxes, then %d: the job is not deterministic", rows[i].Key, len(rows[i].Boxes), len(rows2[i].Boxes))
		}
	}
	if _, err := sink.ReadManifest(context.Background(), "gs://out/run2"); err != nil {
		t.Error(err)
	}
}

// TestCancelResume cancels a run once a shard is committed, reruns it with
// Resume, and checks the output equals a clean run's: same rows, no key
// twice, no temporary files.
func TestCancelResume(t *testing.T) {
	testenv.InitORT(t)
	teacherDir, clipDir := testenv.Bundles(t, nil)
	pairs, err := sampleset.Pairs(&sampleset.Options{Pairs: 24, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	in := t.TempDir()
	for i, s := range testenv.Shards(t, pairs, 6) {
		if err := os.WriteFile(filepath.Join(in, sampleset.ShardName(i)), s, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := func(out string) label.Config {
		return label.Config{Input: filepath.Join(in, "*.tar"), Output: out, Teacher: teacherDir, CLIP: clipDir, BatchSize: 2, OrtLib: testenv.ORTLib(t)}
	}
	clean := t.TempDir()
	if _, err := label.Run(context.Background(), cfg(clean)); err != nil {
		t.Fatal(err)
	}

	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		defer cancel()
		for ctx.Err() == nil {
			if m, _ := filepath.Glob(filepath.Join(out, sink.MarkerDir, "*.json")); len(m) > 0 {
				return
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	_, err = label.Run(ctx, cfg(out))
	cancel()
	t.Logf("cancelled run: %v", err)

	c := cfg(out)
	c.Resume = true
	res, err := label.Run(context.Background(), c)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("resumed %d of 6 shards", res.Manifest.ResumedShards)
	if res.Manifest.ResumedShards < 1 {
		t.Errorf("resumed %d shards, want at least the one committed before the cancel", res.Manifest.ResumedShards)
	}
	want := localRows(t, clean)
	got := localRows(t, out)
	if len(got) != len(want) {
		t.Fatalf("%d rows after resume, clean run %d", len(got), len(want))
	}
	seen := map[string]bool{}
	for i := range got {
		if seen[got[i].Key] {
			t.Errorf("key %s twice", got[i].Key)
		}
		seen[got[i].Key] = true
		if got[i].Key != want[i].Key || len(got[i].Boxes) != len(want[i].Boxes) || got[i].Caption != want[i].Caption {
			t.Errorf("row %d: %s with %d boxes, clean run %s with %d", i, got[i].Key, len(got[i].Boxes), want[i].Key, len(want[i].Boxes))
		}
	}
	if res.Manifest.Totals != (sink.Totals{InputPairs: 24, Labelled: 24, Boxes: res.Manifest.Totals.Boxes}) {
		t.Errorf("totals %+v", res.Manifest.Totals)
	}
	filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), sink.TempPrefix) {
			t.Errorf("temporary file left: %s", p)
		}
		return nil
	})
}

// localRows reads every labels file under out, sorted by key.
func localRows(t *testing.T, out string) []schemas.LabelRow {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(out, "labels", "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []schemas.LabelRow
	for _, f := range files {
		r, err := parquet.ReadFile[schemas.LabelRow](f)
		if err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r...)
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Key < rows[j].Key })
	return rows
}
