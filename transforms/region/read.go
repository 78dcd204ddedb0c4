package region

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"

	"github.com/groundbeam/groundbeam/schemas"
	"github.com/groundbeam/groundbeam/transforms/source"
)

// readRows is how many rows are decoded at a time.
const readRows = 256

// readLabels reads every row of a committed labels file, dropping the old
// embeddings as it goes so that memory holds boxes without them.
func readLabels(ctx context.Context, name string) ([]schemas.LabelRow, error) {
	var rows []schemas.LabelRow
	err := readFile(ctx, name, func(batch []schemas.LabelRow) error {
		for i := range batch {
			own(&batch[i])
			for j := range batch[i].Boxes {
				batch[i].Boxes[j].Embedding = nil
				batch[i].Boxes[j].EmbeddingF16 = nil // rewritten as float32
			}
		}
		rows = append(rows, batch...)
		return nil
	})
	return rows, err
}

// own copies a row's strings out of the reader's buffers (parquet-go may
// hand out strings that point into a page it reuses), so rows can be kept
// across reads.
func own(r *schemas.LabelRow) {
	r.Key, r.Source, r.Shard = strings.Clone(r.Key), strings.Clone(r.Source), strings.Clone(r.Shard)
	r.Caption, r.Teacher, r.CLIP = strings.Clone(r.Caption), strings.Clone(r.Teacher), strings.Clone(r.CLIP)
	r.ParamsHash = strings.Clone(r.ParamsHash)
	for i := range r.Boxes {
		r.Boxes[i].Phrase = strings.Clone(r.Boxes[i].Phrase)
	}
}

// readFile streams the rows of one Parquet file (local, gs:// or s3://)
// to fn, readRows at a time; each batch is fn's to keep. A file written
// by a newer schema version is an error.
func readFile[T any](ctx context.Context, name string, fn func([]T) error) error {
	ra, size, done, err := source.OpenReaderAt(ctx, name)
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
		buf := make([]T, readRows)
		n, rerr := r.Read(buf)
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
