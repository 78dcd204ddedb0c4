package s3fs

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/groundbeam/groundbeam/internal/s3test"
)

func init() {
	Register(Options{PartSize: MinPartSize})
	testMaxBackoff = 20 * time.Millisecond
}

// openFS returns the registered file system, as Beam code gets it.
func openFS(t *testing.T) filesystem.Interface {
	t.Helper()
	f, err := filesystem.New(context.Background(), "s3://bucket/x")
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := f.(errFS); ok {
		t.Fatalf("registered constructor failed: %v", e.err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func payload(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

func writeObject(t *testing.T, f filesystem.Interface, uri string, data []byte, chunk int) {
	t.Helper()
	w, err := f.OpenWrite(context.Background(), uri)
	if err != nil {
		t.Fatal(err)
	}
	for p := data; len(p) > 0; {
		k := min(chunk, len(p))
		n, err := w.Write(p[:k])
		if err != nil || n != k {
			t.Fatalf("write: %d, %v", n, err)
		}
		p = p[k:]
	}
	if err := w.Close(); err != nil {
		t.Fatalf("close %s: %v", uri, err)
	}
}

func readObject(t *testing.T, f filesystem.Interface, uri string) []byte {
	t.Helper()
	r, err := f.OpenRead(context.Background(), uri)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", uri, err)
	}
	return b
}

// TestAWSDefaultsFromEnv records what the AWS default configuration (all
// that Beam's io/filesystem/s3 uses) does with the endpoint env vars:
// AWS_ENDPOINT_URL_S3 is honoured, and path-style is chosen only for an
// IP-literal endpoint; a host name gets virtual-host addressing.
func TestAWSDefaultsFromEnv(t *testing.T) {
	endpoint, _ := s3test.Server(t)
	ctx := context.Background()
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// What Beam's s3.New does: works against 127.0.0.1.
	client := s3.NewFromConfig(cfg)
	if _, err := client.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("envbucket"), Key: aws.String("k"), Body: strings.NewReader("v")}); err != nil {
		t.Fatalf("default config client against %s: %v", endpoint, err)
	}

	// With a host name, requests go to BUCKET.HOST unless UsePathStyle is
	// set, and no environment variable sets it.
	hostEndpoint := strings.Replace(endpoint, "127.0.0.1", "localhost", 1)
	t.Setenv("AWS_ENDPOINT_URL_S3", hostEndpoint)
	for _, pathStyle := range []bool{false, true} {
		cfg, err := config.LoadDefaultConfig(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var host atomic.Value
		cfg.HTTPClient = hostRecorder(func(h string) { host.Store(h) })
		cfg.RetryMaxAttempts = 1
		c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = pathStyle })
		c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("envbucket"), Key: aws.String("k")})
		want := strings.TrimPrefix(hostEndpoint, "http://")
		if !pathStyle {
			want = "envbucket." + want
		}
		if got, _ := host.Load().(string); got != want {
			t.Errorf("UsePathStyle=%v: request host %q, want %q", pathStyle, got, want)
		}
	}
}

// hostRecorder is an HTTP client that records the host and fails.
type hostRecorder func(string)

func (h hostRecorder) Do(r *http.Request) (*http.Response, error) {
	h(r.URL.Host)
	return nil, errors.New("recorded")
}

func TestReadWrite(t *testing.T) {
	s3test.Server(t)
	f := openFS(t)
	tests := []struct {
		name  string
		size  int
		chunk int
	}{
		{name: "empty", size: 0, chunk: 1},
		{name: "small", size: 1000, chunk: 7},
		{name: "exactly one part", size: int(MinPartSize), chunk: 1 << 20},
		{name: "multipart", size: 2*int(MinPartSize) + 12345, chunk: 333_333},
		{name: "multipart, one big write", size: 3*int(MinPartSize) + 1, chunk: 1 << 30},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			uri := "s3://rw/" + strings.ReplaceAll(tc.name, " ", "_") + ".bin"
			data := payload(tc.size)
			writeObject(t, f, uri, data, tc.chunk)
			if got := readObject(t, f, uri); !bytes.Equal(got, data) {
				t.Fatalf("read %d bytes, want %d (equal: %v)", len(got), len(data), bytes.Equal(got, data))
			}
			size, err := f.Size(context.Background(), uri)
			if err != nil || size != int64(tc.size) {
				t.Fatalf("Size = %d, %v; want %d", size, err, tc.size)
			}
			mod, err := f.(filesystem.LastModifiedGetter).LastModified(context.Background(), uri)
			if err != nil || time.Since(mod) > time.Hour {
				t.Fatalf("LastModified = %v, %v", mod, err)
			}
		})
	}
}

func TestWriteReplacesAndCommitsOnClose(t *testing.T) {
	_, client := s3test.Server(t)
	f := openFS(t)
	ctx := context.Background()
	uri := "s3://rw/obj"
	writeObject(t, f, uri, []byte("old"), 10)
	w, err := f.OpenWrite(ctx, uri)
	if err != nil {
		t.Fatal(err)
	}
	data := payload(int(MinPartSize) + 10)
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	// A part is uploaded, but the object is still the old one.
	if got := s3test.Get(t, client, "rw", "obj"); string(got) != "old" {
		t.Fatalf("object changed before Close: %d bytes", len(got))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got := s3test.Get(t, client, "rw", "obj"); !bytes.Equal(got, data) {
		t.Fatalf("object after Close: %d bytes, want %d", len(got), len(data))
	}
	if err := w.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Fatal("Write after Close succeeded")
	}
}

func TestWriteFailureFromClose(t *testing.T) {
	_, client := s3test.Server(t)
	f := openFS(t)
	ctx := context.Background()

	t.Run("upload aborted under the writer", func(t *testing.T) {
		w, err := f.OpenWrite(ctx, "s3://fail/a")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(payload(int(MinPartSize) + 1)); err != nil {
			t.Fatal(err)
		}
		ww := w.(*writer)
		ww.wg.Wait()
		if _, err := client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
			Bucket: aws.String("fail"), Key: aws.String("a"), UploadId: ww.uploadID,
		}); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err == nil {
			t.Fatal("Close succeeded after the upload was aborted")
		}
		if _, err := f.Size(ctx, "s3://fail/a"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("object exists after a failed write: %v", err)
		}
	})
	t.Run("context cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		w, err := f.OpenWrite(cctx, "s3://fail/b")
		if err != nil {
			t.Fatal(err)
		}
		w.Write(payload(int(MinPartSize) + 1))
		w.Write([]byte("more"))
		cancel()
		if err := w.Close(); !errors.Is(err, context.Canceled) {
			t.Fatalf("Close = %v, want context.Canceled", err)
		}
		if _, err := f.Size(ctx, "s3://fail/b"); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("object exists after a failed write: %v", err)
		}
		out, err := client.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("fail")})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Uploads) != 0 {
			t.Fatalf("%d multipart uploads left behind", len(out.Uploads))
		}
	})
	t.Run("small object, cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		w, _ := f.OpenWrite(cctx, "s3://fail/c")
		w.Write([]byte("x"))
		cancel()
		if err := w.Close(); err == nil {
			t.Fatal("Close succeeded with a cancelled context")
		}
	})
}

func TestList(t *testing.T) {
	_, client := s3test.Server(t)
	f := openFS(t)
	for _, k := range []string{
		"data/a.tar", "data/b.tar", "data/c.txt", "data/sp ace+plus.tar", "data/sub/d.tar",
		"data/sub/deeper/e.tar", "data/x/", "data-2/z.tar", "other/f.tar",
	} {
		s3test.Put(t, client, "lst", k, []byte(k))
	}
	tests := []struct {
		glob    string
		want    []string // keys
		wantErr bool
	}{
		{glob: "s3://lst/data/*.tar", want: []string{"data/a.tar", "data/b.tar", "data/sp ace+plus.tar"}},
		{glob: "s3://lst/data/?.tar", want: []string{"data/a.tar", "data/b.tar"}},
		{glob: "s3://lst/data/[ab].tar", want: []string{"data/a.tar", "data/b.tar"}},
		{glob: "s3://lst/data/*", want: []string{"data/a.tar", "data/b.tar", "data/c.txt", "data/sp ace+plus.tar"}},
		{glob: "s3://lst/data*/*.tar", want: []string{"data-2/z.tar", "data/a.tar", "data/b.tar", "data/sp ace+plus.tar"}},
		{glob: "s3://lst/data/sub/*", want: []string{"data/sub/d.tar"}},
		{glob: "s3://lst/data/*/*.tar", want: []string{"data/sub/d.tar"}},
		{glob: "s3://lst/data/**", want: []string{"data/a.tar", "data/b.tar", "data/c.txt", "data/sp ace+plus.tar", "data/sub/d.tar", "data/sub/deeper/e.tar"}},
		{glob: "s3://lst/data/**/*.tar", want: []string{"data/a.tar", "data/b.tar", "data/sp ace+plus.tar", "data/sub/d.tar", "data/sub/deeper/e.tar"}},
		{glob: "s3://lst/**/e.tar", want: []string{"data/sub/deeper/e.tar"}},
		{glob: "s3://lst/data/a.tar", want: []string{"data/a.tar"}},
		{glob: "s3://lst/data/a", want: nil},
		{glob: "s3://lst/nothing/*", want: nil},
		{glob: "s3://lst/data/[", wantErr: true},
		{glob: "s3://lst", wantErr: true},
		{glob: "gs://lst/data/*", wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.glob, func(t *testing.T) {
			got, err := f.List(context.Background(), tc.glob)
			if tc.wantErr {
				if err == nil {
					t.Fatalf("List(%q) = %q, want an error", tc.glob, got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, k := range tc.want {
				want = append(want, "s3://lst/"+k)
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("List(%q) = %q, want %q", tc.glob, got, want)
			}
		})
	}
}

func TestListPaginates(t *testing.T) {
	_, client := s3test.Server(t)
	f := openFS(t)
	const n = 1100 // more than one ListObjectsV2 page (1000)
	for i := range n {
		s3test.Put(t, client, "many", fmt.Sprintf("shards/%05d.tar", i), nil)
	}
	got, err := f.List(context.Background(), "s3://many/shards/*.tar")
	if err != nil || len(got) != n {
		t.Fatalf("listed %d objects, %v; want %d", len(got), err, n)
	}
}

func TestCopyRenameRemove(t *testing.T) {
	_, client := s3test.Server(t)
	f := openFS(t)
	ctx := context.Background()
	data := payload(5000)
	s3test.Put(t, client, "cp", "src/sp ace+plus%.bin", data)
	src := "s3://cp/src/sp ace+plus%.bin"

	if err := f.(filesystem.Copier).Copy(ctx, src, "s3://cp/copy.bin"); err != nil {
		t.Fatal(err)
	}
	if err := f.(filesystem.Copier).Copy(ctx, src, "s3://cp2/other-bucket.bin"); err != nil {
		t.Fatal(err)
	}
	for _, uri := range []string{src, "s3://cp/copy.bin", "s3://cp2/other-bucket.bin"} {
		if got := readObject(t, f, uri); !bytes.Equal(got, data) {
			t.Fatalf("%s: %d bytes after copy", uri, len(got))
		}
	}
	if err := f.(filesystem.Renamer).Rename(ctx, "s3://cp/copy.bin", "s3://cp/renamed.bin"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Size(ctx, "s3://cp/copy.bin"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("old name after rename: %v", err)
	}
	if got := readObject(t, f, "s3://cp/renamed.bin"); !bytes.Equal(got, data) {
		t.Fatalf("renamed: %d bytes", len(got))
	}
	if err := f.(filesystem.Remover).Remove(ctx, "s3://cp/renamed.bin"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.OpenRead(ctx, "s3://cp/renamed.bin"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("OpenRead after Remove: %v", err)
	}
	if err := f.(filesystem.Remover).Remove(ctx, "s3://cp/renamed.bin"); err != nil {
		t.Fatalf("removing a missing object: %v", err)
	}
	if err := f.(filesystem.Copier).Copy(ctx, "s3://cp/missing", "s3://cp/x"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("copy of a missing object: %v", err)
	}
}

func TestCopyLargeStreams(t *testing.T) {
	s3test.Server(t)
	f := openFS(t)
	old := maxCopyBytes
	maxCopyBytes = 100
	t.Cleanup(func() { maxCopyBytes = old })
	data := payload(int(MinPartSize) + 999)
	writeObject(t, f, "s3://big/src", data, 1<<20)
	if err := f.(filesystem.Renamer).Rename(context.Background(), "s3://big/src", "s3://big/dst"); err != nil {
		t.Fatal(err)
	}
	if got := readObject(t, f, "s3://big/dst"); !bytes.Equal(got, data) {
		t.Fatalf("streamed copy: %d bytes", len(got))
	}
}

func TestNotFound(t *testing.T) {
	s3test.Server(t)
	f := openFS(t)
	ctx := context.Background()
	if _, err := f.OpenRead(ctx, "s3://nf/missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenRead: %v", err)
	}
	if _, err := f.Size(ctx, "s3://nf/missing"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Size: %v", err)
	}
	for _, bad := range []string{"s3://", "s3://nf", "s3://nf/", "s3://nf/dir/", "/local/path"} {
		if _, err := f.OpenRead(ctx, bad); err == nil {
			t.Errorf("OpenRead(%q) succeeded", bad)
		}
		if _, err := f.OpenWrite(ctx, bad); err == nil {
			t.Errorf("OpenWrite(%q) succeeded", bad)
		}
	}
}

func TestReaderAt(t *testing.T) {
	_, client := s3test.Server(t)
	data := payload(10000)
	s3test.Put(t, client, "ra", "obj", data)
	f, err := New(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ra, size, err := f.OpenReaderAt(context.Background(), "s3://ra/obj")
	if err != nil || size != int64(len(data)) {
		t.Fatalf("OpenReaderAt: %d, %v", size, err)
	}
	tests := []struct {
		off, n int
		want   int
		eof    bool
	}{
		{off: 0, n: 10, want: 10},
		{off: 9990, n: 10, want: 10},
		{off: 9995, n: 10, want: 5, eof: true},
		{off: 10000, n: 10, want: 0, eof: true},
		{off: 1234, n: 5000, want: 5000},
	}
	for _, tc := range tests {
		p := make([]byte, tc.n)
		n, err := ra.ReadAt(p, int64(tc.off))
		if n != tc.want || (err == io.EOF) != tc.eof || (err != nil && err != io.EOF) {
			t.Errorf("ReadAt(%d, %d) = %d, %v", tc.off, tc.n, n, err)
			continue
		}
		if !bytes.Equal(p[:n], data[tc.off:tc.off+n]) {
			t.Errorf("ReadAt(%d, %d): wrong bytes", tc.off, tc.n)
		}
	}
}

// TestFaults runs the operations against a server that fails every third
// request with 503 and cuts every second GET body: retries and resumed
// reads hide both.
func TestFaults(t *testing.T) {
	_, _, stats := s3test.ServerStats(t, s3test.FailEvery(3), s3test.CutBodies(2))
	f := openFS(t)
	ctx := context.Background()
	data := payload(2*int(MinPartSize) + 77)
	for i := range 3 {
		uri := fmt.Sprintf("s3://faulty/obj-%d", i)
		writeObject(t, f, uri, data, 1<<20)
		if got := readObject(t, f, uri); !bytes.Equal(got, data) {
			t.Fatalf("%s: read %d bytes, want %d", uri, len(got), len(data))
		}
	}
	got, err := f.List(ctx, "s3://faulty/obj-*")
	if err != nil || len(got) != 3 {
		t.Fatalf("List = %q, %v", got, err)
	}
	// Ranged reads (Parquet's) resume cut bodies too.
	ra, size, err := f.(*FS).OpenReaderAt(ctx, "s3://faulty/obj-1")
	if err != nil || size != int64(len(data)) {
		t.Fatalf("OpenReaderAt: %d, %v", size, err)
	}
	for _, off := range []int64{0, 12345, int64(len(data)) - 4096} {
		p := make([]byte, 4096)
		if n, err := ra.ReadAt(p, off); n != len(p) || err != nil || !bytes.Equal(p, data[off:off+4096]) {
			t.Fatalf("ReadAt(%d): %d bytes, %v", off, n, err)
		}
	}
	if err := f.(filesystem.Renamer).Rename(ctx, "s3://faulty/obj-0", "s3://faulty/moved"); err != nil {
		t.Fatal(err)
	}
	if stats.Failed.Load() == 0 || stats.Cut.Load() == 0 {
		t.Fatalf("no faults injected: %d failed, %d cut", stats.Failed.Load(), stats.Cut.Load())
	}
	t.Logf("%d requests, %d failed with 503, %d bodies cut", stats.Requests.Load(), stats.Failed.Load(), stats.Cut.Load())
}

func TestReadGivesUpAfterResumes(t *testing.T) {
	_, client, _ := s3test.ServerStats(t, s3test.CutBodies(1))
	data := payload(100000)
	s3test.Put(t, client, "cut", "obj", data)
	f := openFS(t)
	r, err := f.OpenRead(context.Background(), "s3://cut/obj")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := io.ReadAll(r)
	if err == nil {
		t.Fatalf("read %d bytes without error from a server that cuts every body", len(got))
	}
	if !bytes.Equal(got, data[:len(got)]) {
		t.Fatal("bytes read before the error are wrong")
	}
}

func TestOptions(t *testing.T) {
	t.Setenv(EnvEndpoint, "http://env:9000")
	t.Setenv(EnvPathStyle, "")
	t.Setenv(EnvRegion, "env-region")
	tests := []struct {
		name     string
		opts     Options
		pipeline map[string]string
		env      map[string]string
		want     Options
		wantErr  bool
	}{
		{name: "env", want: Options{Endpoint: "http://env:9000", Region: "env-region", PartSize: DefaultPartSize}},
		{name: "explicit wins", opts: Options{Endpoint: "https://x/", Region: "r", PathStyle: true, PartSize: 6 << 20},
			want: Options{Endpoint: "https://x", Region: "r", PathStyle: true, PartSize: 6 << 20}},
		{name: "pipeline options win over env", pipeline: map[string]string{OptionEndpoint: "http://pipe:1", OptionPathStyle: "true", OptionRegion: "pr"},
			want: Options{Endpoint: "http://pipe:1", Region: "pr", PathStyle: true, PartSize: DefaultPartSize}},
		{name: "path style from env", env: map[string]string{EnvPathStyle: "1"},
			want: Options{Endpoint: "http://env:9000", Region: "env-region", PathStyle: true, PartSize: DefaultPartSize}},
		{name: "bad path style", env: map[string]string{EnvPathStyle: "maybe"}, wantErr: true},
		{name: "endpoint without scheme", opts: Options{Endpoint: "minio:9000"}, wantErr: true},
		{name: "endpoint with other scheme", opts: Options{Endpoint: "ftp://minio"}, wantErr: true},
		{name: "part too small", opts: Options{PartSize: 1 << 20}, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			for k, v := range tc.pipeline {
				runtime.GlobalOptions.Set(k, v)
				t.Cleanup(func() { runtime.GlobalOptions.Set(k, "") })
			}
			got, err := tc.opts.resolve()
			if tc.wantErr {
				if err == nil {
					t.Fatalf("resolve = %+v, want an error", got)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("resolve = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestRegisteredBadConfig(t *testing.T) {
	t.Setenv(EnvEndpoint, "not a url")
	f, err := filesystem.New(context.Background(), "s3://b/k")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.List(context.Background(), "s3://b/*"); err == nil || !strings.Contains(err.Error(), "endpoint") {
		t.Fatalf("List with a bad endpoint: %v", err)
	}
	Register(Options{PartSize: MinPartSize}) // a second Register only updates the options
}

func TestFlags(t *testing.T) {
	t.Setenv(EnvEndpoint, "http://env:1")
	t.Setenv(EnvPathStyle, "true")
	fset := flag.NewFlagSet("x", flag.ContinueOnError)
	o := Flags(fset)
	if err := fset.Parse([]string{"-s3_region=eu", "-s3_endpoint=http://flag:2"}); err != nil {
		t.Fatal(err)
	}
	if *o != (Options{Endpoint: "http://flag:2", PathStyle: true, Region: "eu"}) {
		t.Fatalf("flags = %+v", *o)
	}
}

func TestPathStyleHint(t *testing.T) {
	f := &FS{hintHost: true}
	err := f.wrapErr("list", "s3://b/x", &net.DNSError{Err: "no such host", Name: "b.minio", IsNotFound: true})
	if !strings.Contains(err.Error(), EnvPathStyle) {
		t.Fatalf("error without hint: %v", err)
	}
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) {
		t.Fatalf("hint lost the wrapped error: %v", err)
	}
}

func TestMatchSegments(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"a/*.tar", "a/b.tar", true},
		{"a/*.tar", "a/b/c.tar", false},
		{"a/**", "a/b/c.tar", true},
		{"a/**/c.tar", "a/c.tar", true},
		{"a/**/**/c.tar", "a/x/y/c.tar", true},
		{"**", "x", true},
		{"a/**/d", "a/b/c", false},
		{"a/?", "a/bb", false},
	}
	for _, tc := range tests {
		t.Run(tc.pattern+" "+tc.name, func(t *testing.T) {
			if got := matchSegments(strings.Split(tc.pattern, "/"), strings.Split(tc.name, "/")); got != tc.want {
				t.Fatalf("match = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestEffective(t *testing.T) {
	t.Setenv(EnvEndpoint, "")
	t.Setenv(EnvPathStyle, "")
	t.Cleanup(func() { runtime.GlobalOptions.Set(OptionEndpoint, "") })
	tests := []struct {
		endpoint string
		want     string
		wantErr  bool
	}{
		{endpoint: "http://pipe:9000/", want: "http://pipe:9000"},
		{endpoint: "", want: ""},
		{endpoint: "pipe:9000", wantErr: true},
	}
	for _, tc := range tests {
		runtime.GlobalOptions.Set(OptionEndpoint, tc.endpoint)
		got, err := Effective()
		if tc.wantErr != (err != nil) || got.Endpoint != tc.want && !tc.wantErr {
			t.Errorf("Effective with pipeline option %q = %+v, %v; want endpoint %q, error %v", tc.endpoint, got, err, tc.want, tc.wantErr)
		}
	}
}
