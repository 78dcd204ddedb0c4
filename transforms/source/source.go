// Package source reads image-text pairs from object storage (gs://, s3://,
// local paths): it expands input globs into shards and streams a shard's
// samples, many per opened object. Samples that cannot be used come out as
// schemas.ErrorRow with a reason; only failures of the storage itself are
// errors.
package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"sort"
	"strings"

	"cloud.google.com/go/storage"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"google.golang.org/api/googleapi"

	"github.com/groundbeam/groundbeam/model/label"
	"github.com/groundbeam/groundbeam/schemas"
	"github.com/groundbeam/groundbeam/transforms/source/manifest"
	"github.com/groundbeam/groundbeam/transforms/source/s3fs"
	"github.com/groundbeam/groundbeam/transforms/source/wds"
)

func init() {
	// s3:// for every binary that reads or writes corpora, workers
	// included; settings come from pipeline options or the environment.
	s3fs.Register(s3fs.Options{})
}

// ErrNoMatch is returned by Expand when a pattern matches nothing.
var ErrNoMatch = errors.New("input matches nothing")

// Expand lists the shards a comma-separated list of globs names, sorted and
// without duplicates. It runs where the pipeline is built, so a pattern
// that matches nothing fails before any work starts.
func Expand(ctx context.Context, patterns string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, p := range strings.Split(patterns, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		fs, err := filesystem.New(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", p, err)
		}
		files, err := fs.List(ctx, p)
		fs.Close()
		if err != nil {
			return nil, fmt.Errorf("list input %s: %w", p, err)
		}
		n := 0
		for _, f := range files {
			if Kind(f) == "" || seen[f] {
				continue
			}
			seen[f] = true
			out = append(out, f)
			n++
		}
		if n == 0 {
			return nil, fmt.Errorf("%w: %s", ErrNoMatch, p)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %q", ErrNoMatch, patterns)
	}
	sort.Strings(out)
	return out, nil
}

// Shard kinds.
const (
	// KindTar is a WebDataset tar shard (img2dataset layout).
	KindTar = "tar"
	// KindJSONL is a JSONL manifest: {"key", "image", "caption"} per line.
	KindJSONL = "jsonl"
	// KindParquet is an img2dataset Parquet shard (url or image bytes).
	KindParquet = "parquet"
	// KindFolder is a folder of images described by its captions file
	// (captions.tsv or captions.jsonl); the shard is that file.
	KindFolder = "folder"
)

// Kind names the reader a shard takes from its name, or "" when groundbeam
// reads no such file.
func Kind(shard string) string {
	b := strings.ToLower(path.Base(shard))
	switch {
	case b == manifest.CaptionsTSV || b == manifest.CaptionsJSONL:
		return KindFolder
	case strings.HasSuffix(b, ".tar"), strings.HasSuffix(b, ".tar.gz"), strings.HasSuffix(b, ".tgz"):
		return KindTar
	case strings.HasSuffix(b, ".jsonl"):
		return KindJSONL
	case strings.HasSuffix(b, ".parquet"):
		return KindParquet
	}
	return ""
}

// Options limit what a shard may hold.
type Options struct {
	// MaxMemberBytes is the largest image read into memory.
	MaxMemberBytes int64
}

// Item is one thing a shard yields: a pair to label or a rejected input.
type Item struct {
	Pair   label.Pair
	Reject *schemas.ErrorRow
}

// Read streams a shard's items to fn in order. A shard that does not exist
// or cannot be parsed becomes a rejected item and Read returns nil; an
// error is returned only for failures worth retrying (storage faults) or
// from fn.
func Read(ctx context.Context, shard string, opts *Options, fn func(Item) error) error {
	var o Options
	if opts != nil {
		o = *opts
	}
	reject := func(key, member, reason string) error {
		src := shard
		if member != "" {
			src += "#" + member
		}
		return fn(Item{Reject: &schemas.ErrorRow{Key: key, Source: src, Shard: shard, Stage: schemas.StageRead, Reason: reason, SchemaVersion: schemas.Version}})
	}
	fs, err := filesystem.New(ctx, shard)
	if err != nil {
		return reject("", "", err.Error())
	}
	defer fs.Close()
	kind := Kind(shard)
	if kind == KindFolder {
		return readFolder(ctx, shard, fs, o, fn, reject)
	}
	rc, err := fs.OpenRead(ctx, shard)
	if err != nil {
		if Permanent(err) {
			return reject("", "", "open shard: "+err.Error())
		}
		return fmt.Errorf("open %s: %w", shard, err)
	}
	defer rc.Close()
	switch kind {
	case KindTar:
		return readTar(ctx, shard, rc, o, fn, reject)
	case KindJSONL:
		r := manifest.NewJSONL(rc, manifest.Dir(shard), nil)
		return readRecords(ctx, shard, r.Next, fn, reject)
	case KindParquet:
		return readParquet(ctx, shard, fs, rc, fn, reject)
	}
	return reject("", "", "unknown shard kind")
}

func readTar(ctx context.Context, shard string, rc io.Reader, o Options, fn func(Item) error, reject func(key, member, reason string) error) error {
	r, err := wds.NewReader(rc, &wds.Options{MaxMemberBytes: o.MaxMemberBytes})
	if err != nil {
		return reject("", "", err.Error())
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		smp, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if errors.Is(err, wds.ErrCorrupt) {
				return reject("", "", "shard breaks off: "+err.Error())
			}
			return fmt.Errorf("read %s: %w", shard, err)
		}
		if smp.Problem != "" {
			if err := reject(smp.Key, smp.Member, smp.Problem); err != nil {
				return err
			}
			continue
		}
		if err := fn(Item{Pair: label.Pair{Key: smp.Key, Source: shard + "#" + smp.Member, Shard: shard, Image: smp.Image, Caption: smp.Caption}}); err != nil {
			return err
		}
	}
}

// Permanent reports whether a storage error will not go away on retry:
// the object is missing or access is denied (os.ErrNotExist,
// os.ErrPermission, the GCS client's sentinels, or an HTTP 401, 403, 404
// or 410 answer from GCS or S3).
func Permanent(err error) bool {
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) ||
		errors.Is(err, storage.ErrObjectNotExist) || errors.Is(err, storage.ErrBucketNotExist) {
		return true
	}
	code := 0
	var gerr *googleapi.Error
	var herr interface{ HTTPStatusCode() int } // the AWS SDK's response errors
	switch {
	case errors.As(err, &gerr):
		code = gerr.Code
	case errors.As(err, &herr):
		code = herr.HTTPStatusCode()
	}
	switch code {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusGone:
		return true
	}
	return false
}
