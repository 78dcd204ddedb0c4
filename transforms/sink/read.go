package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/parquet-go/parquet-go"

	"github.com/groundbeam/groundbeam/schemas"
)

// OpenReaderAt opens name for random access, as Parquet needs: a local
// file as it is, an object through the file system's ranged reads when it
// has them (s3://), or else spooled to a local temporary file. The returned
// function closes it (and removes the spool).
func OpenReaderAt(ctx context.Context, name string) (io.ReaderAt, int64, func(), error) {
	fs, err := filesystem.New(ctx, name)
	if err != nil {
		return nil, 0, nil, err
	}
	if x, ok := fs.(interface {
		OpenReaderAt(context.Context, string) (io.ReaderAt, int64, error)
	}); ok {
		ra, n, err := x.OpenReaderAt(ctx, name)
		if err != nil {
			fs.Close()
			return nil, 0, nil, err
		}
		return ra, n, func() { fs.Close() }, nil
	}
	rc, err := fs.OpenRead(ctx, name)
	if err != nil {
		fs.Close()
		return nil, 0, nil, err
	}
	if f, ok := rc.(*os.File); ok {
		st, err := f.Stat()
		if err != nil {
			f.Close()
			fs.Close()
			return nil, 0, nil, err
		}
		return f, st.Size(), func() { f.Close(); fs.Close() }, nil
	}
	defer fs.Close()
	defer rc.Close()
	tmp, err := os.CreateTemp("", "groundbeam-*.parquet")
	if err != nil {
		return nil, 0, nil, fmt.Errorf("spool: %w", err)
	}
	cleanup := func() { tmp.Close(); os.Remove(tmp.Name()) }
	n, err := io.Copy(tmp, rc)
	if err != nil {
		cleanup()
		return nil, 0, nil, fmt.Errorf("spool: %w", err)
	}
	return tmp, n, cleanup, nil
}

// ReadRows streams the rows of one of the output's Parquet files (local,
// gs:// or s3://) to fn, batch at a time (batch ≥ 1). Each batch is fn's
// to keep: its rows' strings are their own, not views of the reader's
// pages. T is a row type of package schemas or a projection of one
// (schemas.LabelRowNoEmbeddings), whose columns alone are read. A file
// written by a newer schema version, or without T's columns, is an error
// naming the file; an error from fn is returned as it is.
func ReadRows[T any](ctx context.Context, name string, batch int, fn func([]T) error) error {
	ra, size, done, err := OpenReaderAt(ctx, name)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	defer done()
	pf, err := parquet.OpenFile(ra, size)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	if v, ok := pf.Lookup(schemas.MetaSchemaVersion); ok {
		if n, err := strconv.Atoi(v); err != nil || n > schemas.Version {
			return fmt.Errorf("read %s: schema version %q, this build reads up to %d", name, v, schemas.Version)
		}
	}
	r, err := newReader[T](pf)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	defer r.Close()
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		buf := make([]T, batch)
		n, rerr := r.Read(buf)
		for i := range n {
			own(&buf[i])
		}
		if n > 0 {
			if err := fn(buf[:n]); err != nil {
				return err
			}
		}
		if errors.Is(rerr, io.EOF) {
			return nil
		}
		if rerr != nil {
			return fmt.Errorf("read %s: %w", name, rerr)
		}
	}
}

// newReader turns parquet-go's panic on an incompatible schema into an
// error.
func newReader[T any](pf *parquet.File) (r *parquet.GenericReader[T], err error) {
	defer func() {
		if p := recover(); p != nil {
			r, err = nil, fmt.Errorf("incompatible schema: %v", p)
		}
	}()
	return parquet.NewGenericReader[T](pf), nil
}

// own copies a row's strings out of the reader's buffers (parquet-go may
// hand out strings that point into a page it reuses).
func own(row any) {
	switch r := row.(type) {
	case *schemas.LabelRow:
		clone(&r.Key, &r.Source, &r.Shard, &r.Caption, &r.Teacher, &r.CLIP, &r.ParamsHash)
		for i := range r.Boxes {
			clone(&r.Boxes[i].Phrase, &r.Boxes[i].Kind)
		}
	case *schemas.LabelRowNoEmbeddings:
		clone(&r.Key, &r.Source, &r.Shard, &r.Caption, &r.Teacher, &r.CLIP, &r.ParamsHash)
		for i := range r.Boxes {
			clone(&r.Boxes[i].Phrase, &r.Boxes[i].Kind)
		}
	case *schemas.ErrorRow:
		clone(&r.Key, &r.Source, &r.Shard, &r.Stage, &r.Reason)
	}
}

// clone replaces each string by a copy of its own.
func clone(ss ...*string) {
	for _, s := range ss {
		*s = strings.Clone(*s)
	}
}
