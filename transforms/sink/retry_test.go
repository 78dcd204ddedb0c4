package sink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/api/googleapi"
)

// flakyFS is an in-memory object store whose calls fail as told: each
// entry of fail is consumed by one call of its operation.
type flakyFS struct {
	mu      sync.Mutex
	objects map[string][]byte
	fail    map[string][]error // op → errors to return, in order
	// lostRename makes the next rename happen but report a reset.
	lostRename bool
	calls      map[string]int
}

func newFlaky() *flakyFS {
	return &flakyFS{objects: map[string][]byte{}, fail: map[string][]error{}, calls: map[string]int{}}
}

func (f *flakyFS) next(op string) error {
	f.calls[op]++
	if q := f.fail[op]; len(q) > 0 {
		f.fail[op] = q[1:]
		return q[0]
	}
	return nil
}

func (f *flakyFS) Close() error { return nil }

func (f *flakyFS) List(_ context.Context, glob string) ([]string, error) { return nil, nil }

func (f *flakyFS) OpenRead(_ context.Context, name string) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.objects[name]
	if !ok {
		return nil, fs.ErrNotExist
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

type flakyWriter struct {
	f    *flakyFS
	name string
	buf  bytes.Buffer
}

func (w *flakyWriter) Write(p []byte) (int, error) { return w.buf.Write(p) }

func (w *flakyWriter) Close() error {
	w.f.mu.Lock()
	defer w.f.mu.Unlock()
	if err := w.f.next("close"); err != nil {
		return err
	}
	w.f.objects[w.name] = bytes.Clone(w.buf.Bytes())
	return nil
}

func (f *flakyFS) OpenWrite(_ context.Context, name string) (io.WriteCloser, error) {
	return &flakyWriter{f: f, name: name}, nil
}

func (f *flakyFS) Size(_ context.Context, name string) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	b, ok := f.objects[name]
	if !ok {
		return 0, fs.ErrNotExist
	}
	return int64(len(b)), nil
}

func (f *flakyFS) Rename(_ context.Context, from, to string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.next("rename"); err != nil {
		return err
	}
	b, ok := f.objects[from]
	if !ok {
		return fmt.Errorf("copy %s: %w", from, fs.ErrNotExist)
	}
	f.objects[to] = b
	delete(f.objects, from)
	if f.lostRename {
		f.lostRename = false
		return &url.Error{Op: "Delete", URL: "http://127.0.0.1/" + from, Err: errors.New("read tcp 127.0.0.1:1->127.0.0.1:2: read: connection reset by peer")}
	}
	return nil
}

func (f *flakyFS) Remove(_ context.Context, name string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.next("remove"); err != nil {
		return err
	}
	if _, ok := f.objects[name]; !ok {
		return fs.ErrNotExist
	}
	delete(f.objects, name)
	return nil
}

func fastRetries(t *testing.T) {
	old := []time.Duration{retryFirst, retryMax}
	retryFirst, retryMax = time.Millisecond, 4*time.Millisecond
	t.Cleanup(func() { retryFirst, retryMax = old[0], old[1] })
}

func TestTransient(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&googleapi.Error{Code: 503}, true},
		{fmt.Errorf("commit x: %w", &googleapi.Error{Code: 429}), true},
		{fmt.Errorf("a: %w, b: %w", errors.New("x"), &googleapi.Error{Code: 500}), true},
		{&googleapi.Error{Code: 403}, false},
		{&googleapi.Error{Code: 404}, false},
		{io.ErrUnexpectedEOF, true},
		{fs.ErrNotExist, false},
		{context.Canceled, false},
		{nil, false},
	} {
		if got := Transient(tt.err); got != tt.want {
			t.Errorf("Transient(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// TestWriteAtomicRetries: a marker written through an object store that
// answers 503 to uploads, renames and removes is written once all the same;
// a permanent error is not retried.
func TestWriteAtomicRetries(t *testing.T) {
	fastRetries(t)
	ctx := context.Background()
	unavailable := &googleapi.Error{Code: 503, Message: "injected"}

	f := newFlaky()
	f.fail["close"] = []error{unavailable, unavailable}
	f.fail["rename"] = []error{unavailable}
	if err := WriteAtomic(ctx, f, "gs://b/out/_shards/a.json", []byte("marker")); err != nil {
		t.Fatal(err)
	}
	if string(f.objects["gs://b/out/_shards/a.json"]) != "marker" || len(f.objects) != 1 {
		t.Errorf("objects %v", f.objects)
	}
	if f.calls["close"] != 3 || f.calls["rename"] != 2 {
		t.Errorf("calls %v, want 3 uploads and 2 renames", f.calls)
	}

	// The rename happened, but its answer was lost: the retry finds the
	// temporary object gone and the final one in place.
	f = newFlaky()
	f.lostRename = true
	if err := WriteAtomic(ctx, f, "gs://b/out/m.json", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if string(f.objects["gs://b/out/m.json"]) != "x" || len(f.objects) != 1 {
		t.Errorf("objects %v", f.objects)
	}

	f = newFlaky()
	f.fail["close"] = []error{&googleapi.Error{Code: 403, Message: "denied"}}
	err := WriteAtomic(ctx, f, "gs://b/out/m.json", []byte("x"))
	if err == nil || !strings.Contains(err.Error(), "403") || f.calls["close"] != 1 {
		t.Errorf("403: error %v after %d uploads, want one failed upload", err, f.calls["close"])
	}

	f = newFlaky()
	f.fail["remove"] = []error{unavailable}
	if err := removeRetry(ctx, f, "gs://b/gone"); err != nil || f.calls["remove"] != 2 {
		t.Errorf("remove of a missing object after a 503: %v, %d calls", err, f.calls["remove"])
	}
}

// TestTableWriterSpoolsAndRetries: a labels file for an object store is
// spooled locally, so its upload can be retried whole after a 503.
func TestTableWriterSpoolsAndRetries(t *testing.T) {
	fastRetries(t)
	ctx := context.Background()
	f := newFlaky()
	f.fail["close"] = []error{&googleapi.Error{Code: 503}, &googleapi.Error{Code: 502}}
	tw, err := newTableWriter[struct {
		Key string `parquet:"key"`
	}](ctx, f, "gs://b/out/labels/s.parquet", "gs://b/out/labels/.tmp-s.parquet.1", Config{})
	if err != nil {
		t.Fatal(err)
	}
	if tw.spool == nil {
		t.Fatal("no spool for an object store")
	}
	spool := tw.spool.Name()
	for i := range 100 {
		if err := tw.write(struct {
			Key string `parquet:"key"`
		}{fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	fi, err := tw.commit(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := f.objects["gs://b/out/labels/s.parquet"]
	if int64(len(got)) != fi.Bytes || fi.Rows != 100 || len(f.objects) != 1 {
		t.Errorf("committed %d bytes, file info %+v, objects %d", len(got), fi, len(f.objects))
	}
	if f.calls["close"] != 3 {
		t.Errorf("%d uploads, want 3", f.calls["close"])
	}
	if _, err := f.Size(ctx, spool); err == nil {
		t.Error("spool is in the store")
	}
	if isLocal("gs://b/x") || isLocal("s3://b/x") || !isLocal("/tmp/x") || !isLocal("file:///tmp/x") {
		t.Error("isLocal")
	}
}

// TestRemoveAll removes many objects concurrently, retrying transient
// failures; a permanent failure is returned naming its object.
func TestRemoveAll(t *testing.T) {
	fastRetries(t)
	ctx := context.Background()
	for _, tt := range []struct {
		name    string
		fail    []error
		wantErr bool
	}{
		{name: "all removed", fail: nil},
		{name: "transient faults retried", fail: []error{&googleapi.Error{Code: 503}, &googleapi.Error{Code: 429}}},
		{name: "permanent fault", fail: []error{&googleapi.Error{Code: 403}}, wantErr: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFlaky()
			var names []string
			for i := range 500 {
				n := fmt.Sprintf("gs://b/out/_shards/%05d.json", i)
				f.objects[n] = []byte("{}")
				names = append(names, n)
			}
			f.fail["remove"] = tt.fail
			err := removeAll(ctx, f, names)
			if tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), "gs://b/out/_shards/") {
					t.Fatalf("err %v, want the failed object named", err)
				}
				return
			}
			if err != nil || len(f.objects) != 0 {
				t.Fatalf("err %v, %d objects left", err, len(f.objects))
			}
			if f.calls["remove"] != len(names)+len(tt.fail) {
				t.Errorf("%d remove calls for %d objects and %d faults", f.calls["remove"], len(names), len(tt.fail))
			}
		})
	}
}
