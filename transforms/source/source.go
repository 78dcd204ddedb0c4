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
	"log/slog"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

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

// Expand lists the shards a comma-separated list of patterns names,
// sorted and without duplicates. A pattern is a glob, or a WebDataset
// brace list ("gs://b/{00000..41407}.tar", see Braces) whose names may be
// globs themselves. It runs where the pipeline is built, so a pattern that
// matches nothing fails before any work starts. A brace list that names
// some shards that do not exist keeps them: each becomes an error row
// when it is read (and a warning here), as a shard deleted after listing
// does.
func Expand(ctx context.Context, patterns string) ([]string, error) {
	items, err := SplitPatterns(patterns)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, p := range items {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		var files []string
		if strings.Contains(p, "{") {
			files, err = expandBraces(ctx, p)
		} else {
			files, err = list(ctx, p)
		}
		if err != nil {
			return nil, err
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

// list returns the files a glob matches.
func list(ctx context.Context, glob string) ([]string, error) {
	fs, err := filesystem.New(ctx, glob)
	if err != nil {
		return nil, fmt.Errorf("input %s: %w", glob, err)
	}
	defer fs.Close()
	files, err := fs.List(ctx, glob)
	if err != nil {
		return nil, fmt.Errorf("list input %s: %w", glob, err)
	}
	return files, nil
}

// maxBraceListings bounds the listings one brace pattern may need: one
// per glob it expands to and one per folder its plain names are in.
const maxBraceListings = 10000

// expandBraces lists the shards a brace pattern names. Plain names are
// checked with one listing per folder (of the names' common prefix), not
// one request per name; names that are globs are listed each. Plain
// names that do not exist are kept when any name exists.
func expandBraces(ctx context.Context, pattern string) ([]string, error) {
	names, err := Braces(pattern)
	if err != nil {
		return nil, err
	}
	var globs []string
	byDir := map[string][]string{}
	var dirs []string
	for _, n := range names {
		if strings.ContainsAny(n, "*?[") {
			globs = append(globs, n)
			continue
		}
		d := n[:strings.LastIndex(n, "/")+1]
		if _, ok := byDir[d]; !ok {
			dirs = append(dirs, d)
		}
		byDir[d] = append(byDir[d], n)
	}
	if k := len(globs) + len(dirs); k > maxBraceListings {
		return nil, fmt.Errorf("input %s: its names need %d listings (globs and folders), over %d: name fewer folders", pattern, k, maxBraceListings)
	}
	var out, missing []string
	for _, g := range globs {
		files, err := list(ctx, g)
		if err != nil {
			return nil, err
		}
		out = append(out, files...)
	}
	for _, d := range dirs {
		want := byDir[d]
		files, err := list(ctx, commonPrefix(want)+"*")
		if err != nil {
			return nil, err
		}
		have := make(map[string]bool, len(files))
		for _, f := range files {
			have[pathKey(f)] = true
		}
		for _, n := range want {
			if have[pathKey(n)] {
				out = append(out, n)
			} else {
				missing = append(missing, n)
			}
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	if len(missing) > 0 {
		slog.Warn("the input names shards that do not exist: each becomes an error row", "pattern", pattern,
			"missing", len(missing), "first", missing[0])
	}
	return append(out, missing...), nil
}

// commonPrefix is the longest prefix all of names share.
func commonPrefix(names []string) string {
	p := names[0]
	for _, n := range names[1:] {
		i := 0
		for i < len(p) && i < len(n) && p[i] == n[i] {
			i++
		}
		p = p[:i]
	}
	for !utf8.ValidString(p) { // never cut a character in two
		p = p[:len(p)-1]
	}
	return p
}

// pathKey compares a listed file with a name: object URIs as they are,
// local paths cleaned (a listing of "./a/*" gives "a/x").
func pathKey(p string) string {
	if strings.Contains(p, "://") {
		return p
	}
	return filepath.Clean(p)
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
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission) || errors.Is(err, ErrImageTooLarge) ||
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
