// Package testenv sets up what groundbeam's tests run against: the real
// ONNX Runtime library, tiny model bundles, a generated corpus, and an
// in-process GCS server (fake-gcs-server) the storage clients talk to.
package testenv

import (
	"bytes"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/groundbeam/groundbeam/model/ort"
	"github.com/groundbeam/groundbeam/model/tiny"
	"github.com/groundbeam/groundbeam/sampleset"
)

// ORTLib returns the ONNX Runtime library, or fails the test saying how to
// get one. It looks where groundbeam itself looks, then in the module
// root's cache.
func ORTLib(t testing.TB) string {
	t.Helper()
	p, err := findORTLib()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func findORTLib() (string, error) {
	if p, err := ort.FindLibrary(""); err == nil {
		return p, nil
	}
	if root := moduleRoot(); root != "" {
		p := filepath.Join(root, ".cache", "ort", ort.LibraryFile)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no ONNX Runtime library: run `make deps` or set $%s", ort.LibraryEnv)
}

// Main runs a package's tests with ONNX Runtime loaded, for packages
// whose tests call tiny.WriteBundles themselves (its fixtures need ONNX
// Runtime): `func TestMain(m *testing.M) { testenv.Main(m) }`.
func Main(m *testing.M) {
	lib, err := findORTLib()
	if err == nil {
		err = ort.Init(lib)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testenv:", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// InitORT loads the library into this process.
func InitORT(t testing.TB) {
	t.Helper()
	if err := ort.Init(ORTLib(t)); err != nil {
		t.Fatal(err)
	}
}

// ModuleRoot is the folder holding go.mod above the working directory.
func ModuleRoot(t testing.TB) string { return moduleRoot() }

func moduleRoot() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// Bundles writes the tiny teacher and CLIP bundles under a temporary
// folder and returns their folders. It loads ONNX Runtime into the
// process (InitORT), which computes the bundles' fixtures.
func Bundles(t testing.TB, opts *tiny.BundleOptions) (teacher, clip string) {
	t.Helper()
	InitORT(t)
	tb, cb, err := tiny.WriteBundles(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return tb.Dir, cb.Dir
}

// Shards splits pairs into n tar shards in memory.
func Shards(t testing.TB, pairs []sampleset.Pair, n int) [][]byte {
	t.Helper()
	out := make([][]byte, n)
	per := (len(pairs) + n - 1) / n
	for i := range n {
		lo, hi := min(i*per, len(pairs)), min((i+1)*per, len(pairs))
		var buf bytes.Buffer
		if err := sampleset.WriteTar(&buf, pairs[lo:hi]); err != nil {
			t.Fatal(err)
		}
		out[i] = buf.Bytes()
	}
	return out
}

// GCS starts an in-process GCS server holding objects, points the storage
// clients of this process at it ($STORAGE_EMULATOR_HOST) and stops it when
// the test ends.
//
// cloud.google.com/go/storage reads through the XML API at
// $STORAGE_EMULATOR_HOST/bucket/object; fake-gcs-server serves that path
// only when the request's host is its public host, hence PublicHost.
func GCS(t testing.TB, objects ...fakestorage.Object) *fakestorage.Server {
	t.Helper()
	srv, err := fakestorage.NewServerWithOptions(fakestorage.Options{
		Scheme: "http", Host: "127.0.0.1", PublicHost: "127.0.0.1", InitialObjects: objects, Writer: io.Discard,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	u, err := url.Parse(srv.URL())
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("STORAGE_EMULATOR_HOST", u.Host)
	return srv
}

// Object is a fake-gcs-server object with content.
func Object(bucket, name string, content []byte) fakestorage.Object {
	return fakestorage.Object{ObjectAttrs: fakestorage.ObjectAttrs{BucketName: bucket, Name: name}, Content: content}
}
