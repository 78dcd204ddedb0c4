package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"

	"github.com/groundbeam/groundbeam/model/label"
	"github.com/groundbeam/groundbeam/transforms/source/manifest"
)

// readRecords turns manifest records into items, fetching images that the
// records name by URI. A missing image is a rejected pair; a storage fault
// is returned for retry.
func readRecords(ctx context.Context, shard string, next func() (manifest.Record, error), fn func(Item) error, reject func(key, member, reason string) error) error {
	f := newFetcher()
	defer f.close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		rec, err := next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if errors.Is(err, manifest.ErrCorrupt) {
				return reject("", "", "manifest breaks off: "+err.Error())
			}
			return fmt.Errorf("read %s: %w", shard, err)
		}
		if err := record(ctx, shard, rec, f, fn, reject); err != nil {
			return err
		}
	}
}

func record(ctx context.Context, shard string, rec manifest.Record, f *fetcher, fn func(Item) error, reject func(key, member, reason string) error) error {
	if rec.Problem != "" {
		return reject(rec.Key, rec.Member, rec.Problem)
	}
	img := rec.Image
	src := shard + "#" + rec.Member
	if img == nil {
		b, err := f.get(ctx, rec.ImageURI)
		if err != nil {
			if errors.Is(err, ErrImageTooLarge) {
				return reject(rec.Key, rec.Member, err.Error())
			}
			if Permanent(err) {
				return reject(rec.Key, rec.Member, "missing image "+rec.ImageURI+": "+err.Error())
			}
			return fmt.Errorf("fetch %s: %w", rec.ImageURI, err)
		}
		img, src = b, rec.ImageURI
	}
	return fn(Item{Pair: label.Pair{Key: rec.Key, Source: src, Shard: shard, Image: img, Caption: rec.Caption}})
}

// readParquet reads an img2dataset Parquet shard, with random access where
// the file system gives it and through a local temporary copy elsewhere.
func readParquet(ctx context.Context, shard string, fs filesystem.Interface, rc io.Reader, fn func(Item) error, reject func(key, member, reason string) error) error {
	var ra io.ReaderAt
	var size int64
	switch x := fs.(type) {
	case interface {
		OpenReaderAt(context.Context, string) (io.ReaderAt, int64, error)
	}:
		r, n, err := x.OpenReaderAt(ctx, shard)
		if err != nil {
			return fmt.Errorf("open %s: %w", shard, err)
		}
		ra, size = r, n
	default:
		if file, ok := rc.(*os.File); ok {
			st, err := file.Stat()
			if err != nil {
				return fmt.Errorf("stat %s: %w", shard, err)
			}
			ra, size = file, st.Size()
			break
		}
		tmp, err := os.CreateTemp("", "groundbeam-shard-*.parquet")
		if err != nil {
			return fmt.Errorf("copy %s: %w", shard, err)
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		n, err := io.Copy(tmp, rc)
		if err != nil {
			return fmt.Errorf("copy %s: %w", shard, err)
		}
		ra, size = tmp, n
	}
	f := newFetcher()
	defer f.close()
	err := manifest.ReadParquet(ra, size, manifest.Dir(shard), nil, func(rec manifest.Record) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		return record(ctx, shard, rec, f, fn, reject)
	})
	switch {
	case err == nil:
		return nil
	case errors.Is(err, manifest.ErrCorrupt), errors.Is(err, manifest.ErrSchema):
		return reject("", "", err.Error())
	}
	return err
}

// readFolder reads a folder of images through its captions file.
func readFolder(ctx context.Context, shard string, fs filesystem.Interface, o Options, fn func(Item) error, reject func(key, member, reason string) error) error {
	r, err := manifest.NewFolder(ctx, fs, manifest.Dir(shard), nil)
	if err != nil {
		if errors.Is(err, manifest.ErrNoCaptions) || Permanent(err) {
			return reject("", "", err.Error())
		}
		return fmt.Errorf("open folder %s: %w", shard, err)
	}
	defer r.Close()
	return readRecords(ctx, shard, r.Next, fn, reject)
}

// fetcher reads whole objects, one file system (and so one storage
// client) per scheme for all it reads.
type fetcher struct {
	fs map[string]filesystem.Interface
}

func newFetcher() *fetcher { return &fetcher{fs: map[string]filesystem.Interface{}} }

// ErrImageTooLarge is wrapped by the error for an image object over
// MaxImageBytes; it is Permanent.
var ErrImageTooLarge = errors.New("image over the size limit")

func (f *fetcher) get(ctx context.Context, uri string) ([]byte, error) {
	scheme := ""
	for i := 0; i+2 < len(uri); i++ {
		if uri[i:i+3] == "://" {
			scheme = uri[:i]
			break
		}
	}
	fs, ok := f.fs[scheme]
	if !ok {
		var err error
		if fs, err = filesystem.New(ctx, uri); err != nil {
			return nil, err
		}
		f.fs[scheme] = fs
	}
	r, err := fs.OpenRead(ctx, uri)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, MaxImageBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxImageBytes {
		return nil, fmt.Errorf("%w: %s is over %d bytes", ErrImageTooLarge, uri, MaxImageBytes)
	}
	return b, nil
}

func (f *fetcher) close() {
	for _, fs := range f.fs {
		fs.Close()
	}
}
