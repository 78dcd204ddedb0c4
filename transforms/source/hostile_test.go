package source_test

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"cloud.google.com/go/storage"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"google.golang.org/api/googleapi"

	"github.com/groundbeam/groundbeam/transforms/source"
)

func TestPermanent(t *testing.T) {
	s3err := func(code int) error {
		return fmt.Errorf("s3fs: open s3://b/k: %w", &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: code}}, Err: errors.New("api error")}})
	}
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"local missing", fmt.Errorf("open: %w", fs.ErrNotExist), true},
		{"local permission", fmt.Errorf("open: %w", fs.ErrPermission), true},
		{"gcs object missing", fmt.Errorf("x: %w", storage.ErrObjectNotExist), true},
		{"gcs bucket missing", storage.ErrBucketNotExist, true},
		{"gcs 403", fmt.Errorf("open: %w", &googleapi.Error{Code: 403}), true},
		{"gcs 401", &googleapi.Error{Code: 401}, true},
		{"gcs 503", &googleapi.Error{Code: 503}, false},
		{"gcs 429", &googleapi.Error{Code: 429}, false},
		{"s3 403", s3err(403), true},
		{"s3 404", s3err(404), true},
		{"s3 503", s3err(503), false},
		{"reset", errors.New("read tcp: connection reset by peer"), false},
	} {
		if got := source.Permanent(tt.err); got != tt.want {
			t.Errorf("%s: Permanent(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

// TestReadHostileTar reads a tar shard built to attack a reader that
// extracts: members named with "../" and absolute paths, links to files
// outside, device files, a FIFO, and a member claiming more bytes than the
// limit. Read writes nothing anywhere and follows nothing: each such sample
// comes out rejected with its reason, the sound one labelled.
func TestReadHostileTar(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.txt")
	if err := os.WriteFile(secret, []byte("do not read me"), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	add := func(h tar.Header, body string) {
		if h.Typeflag == 0 {
			h.Typeflag = tar.TypeReg
		}
		if h.Typeflag == tar.TypeReg {
			h.Size = int64(len(body))
		}
		h.Mode = 0o644
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatal(err)
		}
		if body != "" {
			tw.Write([]byte(body))
		}
	}
	add(tar.Header{Name: "../../escape.jpg"}, "j")
	add(tar.Header{Name: "../../escape.txt"}, "a caption")
	add(tar.Header{Name: "/abs/k.jpg"}, "j")
	add(tar.Header{Name: "lnk.jpg", Typeflag: tar.TypeSymlink, Linkname: secret}, "")
	add(tar.Header{Name: "lnk.txt"}, "a caption")
	add(tar.Header{Name: "hard.jpg", Typeflag: tar.TypeLink, Linkname: "../../etc/passwd"}, "")
	add(tar.Header{Name: "chr.jpg", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 5}, "")
	add(tar.Header{Name: "blk.jpg", Typeflag: tar.TypeBlock, Devmajor: 8}, "")
	add(tar.Header{Name: "fifo.jpg", Typeflag: tar.TypeFifo}, "")
	add(tar.Header{Name: "big.jpg"}, strings.Repeat("x", 70<<20))
	add(tar.Header{Name: "big.txt"}, "a caption")
	add(tar.Header{Name: "ok.jpg"}, "j")
	add(tar.Header{Name: "ok.txt"}, "a sound caption")
	tw.Close()
	shard := filepath.Join(dir, "in", "shard-00000.tar")
	os.MkdirAll(filepath.Dir(shard), 0o755)
	if err := os.WriteFile(shard, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	before := listTree(t, dir)

	got := map[string]string{} // key → reason ("" when usable)
	err := source.Read(context.Background(), shard, nil, func(it source.Item) error {
		if it.Reject != nil {
			got[it.Reject.Key] = it.Reject.Reason
			return nil
		}
		if bytes.Contains(it.Pair.Image, []byte("do not read me")) {
			t.Errorf("%s: a link was followed", it.Pair.Key)
		}
		got[it.Pair.Key] = ""
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]string{
		"escape": "unsafe member name", "abs/k": "unsafe member name",
		"lnk": "unsupported member type symlink", "hard": "unsupported member type hardlink",
		"chr": "unsupported member type character device", "blk": "unsupported member type block device",
		"fifo": "unsupported member type fifo", "big": "larger than", "ok": "",
	} {
		reason, ok := got[key]
		switch {
		case !ok:
			t.Errorf("%s: no item (items %v)", key, got)
		case want == "" && reason != "":
			t.Errorf("%s: rejected: %s", key, reason)
		case !strings.Contains(reason, want):
			t.Errorf("%s: reason %q, want %q", key, reason, want)
		}
	}
	if len(got) != 9 {
		t.Errorf("%d items, want 9: %v", len(got), got)
	}
	if after := listTree(t, dir); after != before {
		t.Errorf("reading the shard changed the file system:\n%s\nthen\n%s", before, after)
	}
	if _, err := os.Stat(filepath.Join(dir, "..", "..", "escape.jpg")); err == nil {
		t.Error("escape.jpg was written outside")
	}
}

func listTree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(filepath.Dir(dir), func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			fmt.Fprintln(&b, p)
		}
		return nil
	})
	return b.String()
}
