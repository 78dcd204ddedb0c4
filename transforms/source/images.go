package source

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
)

// MaxImageBytes is the largest image OpenImage reads into memory.
const MaxImageBytes = 64 << 20

// SplitSource splits a row's source into the tar shard and the member
// inside it ("gs://b/s.tar#000000001.jpg" gives "gs://b/s.tar" and
// "000000001.jpg"). A source without '#' is a plain object: member is "".
func SplitSource(source string) (shard, member string) {
	i := strings.LastIndex(source, "#")
	if i <= 0 || i == len(source)-1 {
		return source, ""
	}
	return source[:i], source[i+1:]
}

// OpenImage returns the encoded image bytes a row's source points at. For
// "SHARD#MEMBER" it streams the tar shard (plain or gzip-compressed) up to
// the member; when no shard of that name can be opened, the whole source
// is tried as an object name before giving up. A plain source is read as
// one object. Images larger than MaxImageBytes are refused.
func OpenImage(ctx context.Context, source string) ([]byte, error) {
	data, errs := OpenImages(ctx, []string{source})
	return data[0], errs[0]
}

// OpenImages is OpenImage for many sources at once: it reads every tar
// shard once, collecting all requested members in a single streaming scan
// that stops as soon as the last one is found. The results are in the
// order of sources: for each, either the bytes or an error.
func OpenImages(ctx context.Context, sources []string) ([][]byte, []error) {
	data := make([][]byte, len(sources))
	errs := make([]error, len(sources))
	err := EachImage(ctx, sources, func(i int, b []byte, err error) error {
		data[i], errs[i] = b, err
		return nil
	})
	if err != nil { // only the context's: fn never fails
		for i := range errs {
			if data[i] == nil && errs[i] == nil {
				errs[i] = err
			}
		}
	}
	return data, errs
}

// EachImage reads the images sources point at, as OpenImages does (each
// tar shard in one streaming scan), and calls fn once per source, with its
// index in sources and either its bytes or its error, as soon as they are
// known: tar members in shard order, so that only one image is held at a
// time. An error from fn, or the context's, stops it and is returned.
func EachImage(ctx context.Context, sources []string, fn func(i int, data []byte, err error) error) error {
	objects := newFetcher() // one client for all the plain objects
	defer objects.close()
	readObject := func(name string) ([]byte, error) {
		b, err := objects.get(ctx, name)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", name, err)
		}
		return b, nil
	}
	byShard := map[string]map[string][]int{} // shard -> member -> indices
	var shards []string
	for i, s := range sources {
		shard, member := SplitSource(s)
		if member == "" {
			if err := ctx.Err(); err != nil {
				return err
			}
			b, err := readObject(s)
			if err := fn(i, b, err); err != nil {
				return err
			}
			continue
		}
		if byShard[shard] == nil {
			byShard[shard] = map[string][]int{}
			shards = append(shards, shard)
		}
		byShard[shard][member] = append(byShard[shard][member], i)
	}
	for _, shard := range shards {
		members := byShard[shard]
		done := map[string]bool{}
		err := scanTar(ctx, shard, members, func(member string, b []byte, merr error) error {
			done[member] = true
			for _, i := range members[member] {
				var err error
				if merr != nil {
					b, err = nil, fmt.Errorf("open %s: %w", sources[i], merr)
				}
				if err := fn(i, b, err); err != nil {
					return err
				}
			}
			return nil
		})
		var cbErr callbackError
		switch {
		case errors.As(err, &cbErr):
			return cbErr.err
		case ctx.Err() != nil:
			return ctx.Err()
		}
		for member, idx := range members {
			if done[member] {
				continue
			}
			for _, i := range idx {
				var b []byte
				var oerr error
				switch {
				case errors.Is(err, errOpenShard):
					// Not a shard after all: maybe an object whose name has '#'.
					if b, oerr = readObject(sources[i]); oerr != nil {
						b, oerr = nil, fmt.Errorf("open %s: %w", sources[i], err)
					}
				case err != nil:
					oerr = fmt.Errorf("open %s: %w", sources[i], err)
				default:
					oerr = fmt.Errorf("open %s: no such member in the shard", sources[i])
				}
				if err := fn(i, b, oerr); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// callbackError marks an error returned by the caller's fn inside a scan,
// so that it is passed through unwrapped.
type callbackError struct{ err error }

// Error returns the caller's error's text.
func (c callbackError) Error() string { return c.err.Error() }

// errOpenShard is wrapped when the shard itself cannot be opened.
var errOpenShard = errors.New("cannot open shard")

// scanTar streams shard and calls visit for each wanted member, once, with
// its bytes or, for a member that cannot be used, its own error. It stops
// early once every wanted member has been visited. An error from visit
// comes back wrapped in callbackError; other errors are for the shard as a
// whole.
func scanTar(ctx context.Context, shard string, wanted map[string][]int, visit func(member string, b []byte, err error) error) error {
	fs, err := filesystem.New(ctx, shard)
	if err != nil {
		return fmt.Errorf("%w %s: %w", errOpenShard, shard, err)
	}
	defer fs.Close()
	rc, err := fs.OpenRead(ctx, shard)
	if err != nil {
		return fmt.Errorf("%w %s: %w", errOpenShard, shard, err)
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 1<<16)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("read shard %s: %w", shard, err)
		}
		defer zr.Close()
		r = zr
	}
	tr := tar.NewReader(r)
	visited := map[string]bool{}
	call := func(name string, b []byte, err error) error {
		visited[name] = true
		if err := visit(name, b, err); err != nil {
			return callbackError{err}
		}
		return nil
	}
	for len(visited) < len(wanted) {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read shard %s: %w", shard, err)
		}
		name := hdr.Name
		if _, ok := wanted[name]; !ok || visited[name] {
			continue
		}
		var cerr error
		switch {
		case hdr.Typeflag != tar.TypeReg:
			cerr = call(name, nil, fmt.Errorf("member %s of %s is not a regular file", name, shard))
		case hdr.Size > MaxImageBytes:
			cerr = call(name, nil, fmt.Errorf("member %s of %s is %d bytes, over the %d byte limit", name, shard, hdr.Size, MaxImageBytes))
		default:
			b, err := io.ReadAll(tr)
			if err != nil {
				return fmt.Errorf("read member %s of %s: %w", name, shard, err)
			}
			cerr = call(name, b, nil)
		}
		if cerr != nil {
			return cerr
		}
	}
	return nil
}
