package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// parquetSeeds are small img2dataset-style shards: url rows, inline image
// bytes, integer keys, the Hugging Face image struct, a schema without a
// caption, and damaged copies.
func parquetSeeds(t testing.TB) map[string][]byte {
	urls := []urlRow{
		{Key: "000000000", URL: "gs://b/0.jpg", Caption: str("a red square"), Status: "success"},
		{Key: "000000001", URL: "../img/1.jpg", Caption: nil, Status: "success"},
		{Key: "000000002", URL: "http://x/2.jpg", Caption: str("fetch failed"), Status: "failed_to_download", ErrorMessage: str("404")},
	}
	bytesRows := []bytesRow{
		{Key: "a", Caption: str("a cat"), Jpg: []byte("\xff\xd8\xff not really a jpeg"), Status: "success"},
		{Key: "b", Caption: str(" caf\xe9 "), Jpg: nil, URL: "s3://b/b.jpg", Status: "success"},
	}
	ok := writeParquet(t, urls, 2)
	damaged := bytes.Clone(ok)
	for i := len(damaged) / 3; i < len(damaged)/3+12 && i < len(damaged); i++ {
		damaged[i] = 0xff
	}
	return map[string][]byte{
		"url-rows":      ok,
		"bytes-rows":    writeParquet(t, bytesRows, 1),
		"int-keys":      writeParquet(t, []intKeyRow{{Key: 7, Caption: "a dog", URL: "gs://b/7.jpg"}}, 1),
		"hf-image":      writeParquet(t, []hfRow{{Text: "a bird", Image: hfImage{Bytes: []byte("img")}}}, 1),
		"no-caption":    writeParquet(t, []noCaptionRow{{Key: "k", URL: "gs://b/k.jpg"}}, 1),
		"damaged-page":  damaged,
		"footer-cut":    ok[:len(ok)-9],
		"magic-only":    []byte("PAR1PAR1"),
		"footer-length": append(append(append([]byte("PAR1"), make([]byte, 8)...), 0xff, 0xff, 0xff, 0x7f), "PAR1"...),
	}
}

// FuzzParquet feeds arbitrary bytes to ReadParquet as an img2dataset
// Parquet shard. It must not panic or hang; it fails only with ErrCorrupt
// or ErrSchema (the reader is in memory, so never with an I/O error); the
// records it gives have keys and members, usable ones a clean caption and
// an image, problem ones none. The committed corpus in
// testdata/fuzz/FuzzParquet runs as plain tests; GROUNDBEAM_WRITE_SEEDS=1
// rewrites it.
func FuzzParquet(f *testing.F) {
	for _, data := range parquetSeeds(f) {
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		n := 0
		err := ReadParquet(bytes.NewReader(data), int64(len(data)), "gs://bkt/dir", &Options{MaxCaptionBytes: 64, MaxImageBytes: 1 << 16}, func(rec Record) error {
			n++
			if rec.Key == "" || !strings.HasPrefix(rec.Member, "row ") {
				t.Fatalf("record without key or member: %+v", rec)
			}
			if rec.Problem == "" {
				if !rec.HasCaption || rec.Caption == "" || strings.TrimSpace(rec.Caption) != rec.Caption ||
					len(rec.Caption) > 64 || !utf8.ValidString(rec.Caption) {
					t.Fatalf("usable record with a bad caption: %+v", rec)
				}
				if rec.ImageURI == "" && len(rec.Image) == 0 {
					t.Fatalf("usable record without an image: %+v", rec)
				}
				if len(rec.Image) > 1<<16 {
					t.Fatalf("image of %d bytes over the limit", len(rec.Image))
				}
			} else if rec.ImageURI != "" || rec.Image != nil {
				t.Fatalf("problem record keeps an image: %+v", rec)
			}
			return nil
		})
		if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrSchema) {
			t.Fatalf("error wraps neither ErrCorrupt nor ErrSchema: %v", err)
		}
	})
}

// TestWriteParquetSeeds rewrites the committed seed corpus when
// GROUNDBEAM_WRITE_SEEDS=1.
func TestWriteParquetSeeds(t *testing.T) {
	if os.Getenv("GROUNDBEAM_WRITE_SEEDS") != "1" {
		t.Skip("set GROUNDBEAM_WRITE_SEEDS=1 to rewrite testdata/fuzz/FuzzParquet")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzParquet")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range parquetSeeds(t) {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(data)))
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
