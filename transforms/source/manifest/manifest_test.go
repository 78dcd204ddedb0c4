package manifest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
)

func TestResolveImage(t *testing.T) {
	tests := []struct {
		name, base, ref string
		want            string
		problem         string // substring; "" means resolved
	}{
		{name: "relative local", base: "/data/m", ref: "imgs/a.jpg", want: "/data/m/imgs/a.jpg"},
		{name: "relative local dot-dot", base: "/data/m", ref: "../imgs/a.jpg", want: "/data/imgs/a.jpg"},
		{name: "relative local base", base: "data", ref: "./a.jpg", want: "data/a.jpg"},
		{name: "relative no base", base: "", ref: "a/b.jpg", want: "a/b.jpg"},
		{name: "absolute local", base: "/data/m", ref: "/srv/x/a.jpg", want: "/srv/x/a.jpg"},
		{name: "absolute local cleaned", base: "", ref: "/srv//x/./a.jpg", want: "/srv/x/a.jpg"},
		{name: "gs as is", base: "/data", ref: "gs://bkt/x/a.jpg", want: "gs://bkt/x/a.jpg"},
		{name: "s3 as is", base: "gs://other", ref: "s3://bkt/a.jpg", want: "s3://bkt/a.jpg"},
		{name: "uppercase scheme", base: "", ref: "GS://bkt/a.jpg", want: "gs://bkt/a.jpg"},
		{name: "relative to gs base", base: "gs://bkt/dir", ref: "imgs/a.jpg", want: "gs://bkt/dir/imgs/a.jpg"},
		{name: "relative to bucket root", base: "s3://bkt", ref: "a.jpg", want: "s3://bkt/a.jpg"},
		{name: "dot-dot within bucket", base: "gs://bkt/d/e", ref: "../a.jpg", want: "gs://bkt/d/a.jpg"},
		{name: "dot-dot leaves bucket", base: "gs://bkt/d", ref: "../../a.jpg", problem: "leaves the bucket"},
		{name: "absolute path on remote base", base: "s3://bkt/d", ref: "/x/a.jpg", want: "s3://bkt/x/a.jpg"},
		{name: "file url", base: "gs://bkt", ref: "file:///srv/a.jpg", want: "/srv/a.jpg"},
		{name: "file url with host", ref: "file://host/srv/a.jpg", problem: "invalid file url"},
		{name: "gcs https path style", ref: "https://storage.googleapis.com/bkt/p/a%20b.jpg", want: "gs://bkt/p/a b.jpg"},
		{name: "gcs https host style", ref: "https://bkt.storage.googleapis.com/a.jpg", want: "gs://bkt/a.jpg"},
		{name: "s3 https virtual host", ref: "https://bkt.s3.amazonaws.com/p/a.jpg?X-Amz-Signature=1", want: "s3://bkt/p/a.jpg"},
		{name: "s3 https regional virtual host", ref: "https://my.bkt.s3.eu-west-1.amazonaws.com/a.jpg", want: "s3://my.bkt/a.jpg"},
		{name: "s3 https dash region", ref: "http://bkt.s3-us-west-2.amazonaws.com/a.jpg", want: "s3://bkt/a.jpg"},
		{name: "s3 https path style", ref: "https://s3.us-east-1.amazonaws.com/bkt/a.jpg", want: "s3://bkt/a.jpg"},
		{name: "http not supported", ref: "http://example.com/a.jpg", problem: "url scheme not supported: http"},
		{name: "https not supported", ref: "https://example.com/a.jpg", problem: "url scheme not supported: https"},
		{name: "https bucket without key", ref: "https://storage.googleapis.com/bkt/", problem: "not supported"},
		{name: "ftp not supported", ref: "ftp://h/a.jpg", problem: "url scheme not supported: ftp"},
		{name: "data not supported", ref: "data:image/png;base64,AAAA", problem: "url scheme not supported: data"},
		{name: "gs without key", ref: "gs://bkt", problem: "invalid image uri"},
		{name: "gs folder", ref: "gs://bkt/dir/", problem: "invalid image uri"},
		{name: "empty", ref: "  ", problem: problemNoImage},
		{name: "nul byte", ref: "a\x00.jpg", problem: "invalid image path"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, problem := resolveImage(tc.base, tc.ref)
			if tc.problem != "" {
				if !strings.Contains(problem, tc.problem) || got != "" {
					t.Fatalf("resolveImage(%q, %q) = %q, %q; want problem %q", tc.base, tc.ref, got, problem, tc.problem)
				}
				return
			}
			if problem != "" || got != tc.want {
				t.Fatalf("resolveImage(%q, %q) = %q, %q; want %q", tc.base, tc.ref, got, problem, tc.want)
			}
		})
	}
}

func TestDir(t *testing.T) {
	tests := []struct{ in, want string }{
		{"gs://b/d/m.jsonl", "gs://b/d"},
		{"gs://b/m.jsonl", "gs://b"},
		{"s3://b/x/y/m.parquet", "s3://b/x/y"},
		{"data/m.jsonl", "data"},
		{"m.jsonl", "."},
		{"/abs/m.jsonl", "/abs"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := Dir(tc.in); got != tc.want {
				t.Fatalf("Dir(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	tests := []struct {
		name string
		opts *Options
		ok   bool
	}{
		{name: "nil", ok: true},
		{name: "zero", opts: &Options{}, ok: true},
		{name: "negative caption", opts: &Options{MaxCaptionBytes: -1}},
		{name: "negative line", opts: &Options{MaxLineBytes: -1}},
		{name: "negative image", opts: &Options{MaxImageBytes: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewJSONL(strings.NewReader(""), "", tc.opts).Next()
			if tc.ok && err != io.EOF || !tc.ok && !errors.Is(err, ErrOptions) {
				t.Fatalf("NewJSONL: err = %v, want ok=%v", err, tc.ok)
			}
			err = ReadParquet(bytes.NewReader(nil), 0, "", tc.opts, func(Record) error { return nil })
			if tc.ok && !errors.Is(err, ErrCorrupt) || !tc.ok && !errors.Is(err, ErrOptions) {
				t.Fatalf("ReadParquet: err = %v, want ok=%v", err, tc.ok)
			}
			_, err = NewFolder(context.Background(), LocalFS{}, t.TempDir(), tc.opts)
			if tc.ok && !errors.Is(err, ErrNoCaptions) || !tc.ok && !errors.Is(err, ErrOptions) {
				t.Fatalf("NewFolder: err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	if _, err := NewJSONL(nil, "", nil).Next(); err == nil || err == io.EOF {
		t.Fatalf("nil reader: err = %v", err)
	}
}
