// Package sink writes groundbeam's outputs: per input shard, a labels and
// an errors Parquet file, made visible only when complete (temporary name,
// then rename), and a commit marker written last; after the run,
// `_manifest.json` lists what was committed.
package sink

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"strconv"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/groundbeam/groundbeam/schemas"
)

// Tables.
const (
	TableLabels = "labels"
	TableErrors = "errors"
)

// TempPrefix starts the name of every file not yet committed.
const TempPrefix = ".tmp-"

// FileInfo describes one committed output file.
type FileInfo struct {
	// Table is TableLabels or TableErrors.
	Table string `json:"table"`
	// Path is relative to the output folder.
	Path string `json:"path"`
	// Shard is the input shard the rows came from.
	Shard string `json:"shard"`
	Rows  int64  `json:"rows"`
	// Boxes counts the boxes in a labels file.
	Boxes  int64  `json:"boxes,omitempty"`
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
}

// Meta is the provenance written into every file's key-value metadata.
type Meta struct {
	Teacher string
	CLIP    string
	Params  string
}

// tableWriter streams rows of one table into a temporary object. On an
// object store the file is spooled to a local temporary file first and
// uploaded when complete, so that an upload that fails on a transient
// fault can be tried again (a stream handed to an object store's writer
// cannot be replayed).
type tableWriter[T any] struct {
	fs    filesystem.Interface
	tmp   string
	final string
	w     io.WriteCloser
	spool *os.File // on object stores: the file being written
	ch    *countingHash
	pw    *parquet.GenericWriter[T]
	rows  int64
}

func newTableWriter[T any](ctx context.Context, fs filesystem.Interface, final, tmp string, cfg Config) (*tableWriter[T], error) {
	meta, rowGroup := cfg.Meta, cfg.RowGroup
	var w io.WriteCloser
	var spool *os.File
	if isLocal(tmp) {
		var err error
		if w, err = fs.OpenWrite(ctx, tmp); err != nil {
			return nil, fmt.Errorf("write %s: %w", tmp, err)
		}
	} else {
		var err error
		if spool, err = os.CreateTemp("", "groundbeam-spool-*.parquet"); err != nil {
			return nil, fmt.Errorf("write %s: spool: %w", tmp, err)
		}
		w = spool
	}
	ch := &countingHash{w: w, h: sha256.New()}
	opts := []parquet.WriterOption{
		parquet.Compression(&zstd.Codec{}),
		parquet.KeyValueMetadata(schemas.MetaSchemaVersion, strconv.Itoa(schemas.Version)),
		parquet.KeyValueMetadata(schemas.MetaTeacher, meta.Teacher),
		parquet.KeyValueMetadata(schemas.MetaCLIP, meta.CLIP),
		parquet.KeyValueMetadata(schemas.MetaParams, meta.Params),
		parquet.KeyValueMetadata(schemas.MetaSettings, cfg.Settings.Hash),
	}
	if rowGroup > 0 {
		opts = append(opts, parquet.MaxRowsPerRowGroup(rowGroup))
	}
	return &tableWriter[T]{fs: fs, tmp: tmp, final: final, w: w, spool: spool, ch: ch, pw: parquet.NewGenericWriter[T](ch, opts...)}, nil
}

func (t *tableWriter[T]) write(row T) error {
	if _, err := t.pw.Write([]T{row}); err != nil {
		return fmt.Errorf("write %s: %w", t.tmp, err)
	}
	t.rows++
	return nil
}

// commit writes the footer, closes the object (GCS and S3 create it only
// then; a spooled file is uploaded now) and renames it to its final name.
// Object-store calls are retried on transient faults.
func (t *tableWriter[T]) commit(ctx context.Context) (FileInfo, error) {
	if err := t.pw.Close(); err != nil {
		t.w.Close()
		return FileInfo{}, fmt.Errorf("write %s: %w", t.tmp, err)
	}
	if t.spool != nil {
		if err := upload(ctx, t.fs, t.tmp, func() (io.Reader, error) {
			_, err := t.spool.Seek(0, io.SeekStart)
			return t.spool, err
		}); err != nil {
			return FileInfo{}, err
		}
		t.dropSpool()
	} else if err := t.w.Close(); err != nil {
		return FileInfo{}, fmt.Errorf("commit %s: %w", t.tmp, err)
	}
	if err := renameRetry(ctx, t.fs, t.tmp, t.final, t.ch.n); err != nil {
		return FileInfo{}, err
	}
	return FileInfo{Rows: t.rows, Bytes: t.ch.n, SHA256: hex.EncodeToString(t.ch.h.Sum(nil))}, nil
}

// dropSpool closes and removes the local spool file, if any.
func (t *tableWriter[T]) dropSpool() {
	if t.spool != nil {
		t.spool.Close()
		os.Remove(t.spool.Name())
		t.spool = nil
	}
}

// abort drops the temporary object (or spool file).
func (t *tableWriter[T]) abort(ctx context.Context) {
	if t.spool != nil {
		t.dropSpool()
	} else {
		t.w.Close()
	}
	if rm, ok := t.fs.(filesystem.Remover); ok {
		removeRetry(ctx, rm, t.tmp)
	}
}

func rename(ctx context.Context, fs filesystem.Interface, from, to string) error {
	rn, ok := fs.(filesystem.Renamer)
	if !ok {
		return fmt.Errorf("rename %s: the filesystem cannot rename", from)
	}
	if err := rn.Rename(ctx, from, to); err != nil {
		return fmt.Errorf("rename %s to %s: %w", from, to, err)
	}
	return nil
}

type countingHash struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

// join joins an object-store or local folder and a name.
func join(dir, name string) string {
	if dir == "" {
		return name
	}
	if dir[len(dir)-1] == '/' {
		return dir + name
	}
	return dir + "/" + name
}
