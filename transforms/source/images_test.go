package source_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/groundbeam/groundbeam/sampleset"
	"github.com/groundbeam/groundbeam/transforms/source"
)

func TestOpenImage(t *testing.T) {
	dir := t.TempDir()
	pairs, err := sampleset.Pairs(&sampleset.Options{Pairs: 5})
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	if err := sampleset.WriteTar(&plain, pairs); err != nil {
		t.Fatal(err)
	}
	shard := filepath.Join(dir, "s.tar")
	gzShard := filepath.Join(dir, "s.tar.gz")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(plain.Bytes())
	zw.Close()
	object := filepath.Join(dir, "img#1.png") // a plain object whose name has '#'
	big := filepath.Join(dir, "big.tar")
	var bigTar bytes.Buffer
	tw := tar.NewWriter(&bigTar)
	tw.WriteHeader(&tar.Header{Name: "huge.jpg", Typeflag: tar.TypeReg, Mode: 0o644, Size: source.MaxImageBytes + 1})
	bigTar.Write(make([]byte, 1024)) // the header alone is enough to refuse it
	for name, data := range map[string][]byte{shard: plain.Bytes(), gzShard: gz.Bytes(), object: pairs[4].Image, big: bigTar.Bytes()} {
		if err := os.WriteFile(name, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// an object one byte over the limit (sparse: nothing is written)
	hugeObject := filepath.Join(dir, "huge.jpg")
	if f, err := os.Create(hugeObject); err != nil || f.Truncate(source.MaxImageBytes+1) != nil || f.Close() != nil {
		t.Fatal("sparse file", err)
	}
	tests := []struct {
		name, source string
		want         []byte
		wantErr      string
	}{
		{"jpeg member", shard + "#000000000.jpg", pairs[0].Image, ""},
		{"png member", shard + "#000000004.png", pairs[4].Image, ""},
		{"gzip shard", gzShard + "#000000002.jpg", pairs[2].Image, ""},
		{"plain object", filepath.Join(dir, "img#1.png"), pairs[4].Image, ""},
		{"missing member", shard + "#nope.jpg", nil, "nope.jpg: no such member"},
		{"missing shard", filepath.Join(dir, "gone.tar") + "#000000000.jpg", nil, "gone.tar"},
		{"missing object", filepath.Join(dir, "gone.jpg"), nil, "gone.jpg"},
		{"oversized member", big + "#huge.jpg", nil, "byte limit"},
		{"oversized object", hugeObject, nil, "image over the size limit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := source.OpenImage(context.Background(), tt.source)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("got %d bytes, want the %d bytes written", len(got), len(tt.want))
			}
		})
	}

	// Many members of one shard in one call, in the order asked.
	sources := []string{shard + "#000000003.jpg", shard + "#000000001.jpg", shard + "#nope.jpg", shard + "#000000003.jpg"}
	data, errs := source.OpenImages(context.Background(), sources)
	for i, want := range [][]byte{pairs[3].Image, pairs[1].Image, nil, pairs[3].Image} {
		if want == nil {
			if errs[i] == nil {
				t.Errorf("OpenImages[%d]: no error for a missing member", i)
			}
			continue
		}
		if errs[i] != nil || !bytes.Equal(data[i], want) {
			t.Errorf("OpenImages[%d]: err %v, %d bytes, want %d bytes", i, errs[i], len(data[i]), len(want))
		}
	}
}

func TestSplitSource(t *testing.T) {
	tests := []struct{ in, shard, member string }{
		{"gs://b/s.tar#000000001.jpg", "gs://b/s.tar", "000000001.jpg"},
		{"gs://b/a#b/s.tar#x/1.jpg", "gs://b/a#b/s.tar", "x/1.jpg"},
		{"gs://b/img.jpg", "gs://b/img.jpg", ""},
		{"#x", "#x", ""},
		{"s.tar#", "s.tar#", ""},
	}
	for _, tt := range tests {
		shard, member := source.SplitSource(tt.in)
		if shard != tt.shard || member != tt.member {
			t.Errorf("SplitSource(%q) = %q, %q; want %q, %q", tt.in, shard, member, tt.shard, tt.member)
		}
	}
}
