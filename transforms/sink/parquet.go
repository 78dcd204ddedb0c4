// Package sink writes groundbeam's outputs: one Parquet file per input
// shard and table, made visible only when complete (temporary name, then
// rename), and `_manifest.json` listing what was committed.
package sink

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"path"
	"strconv"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/groundbeam/groundbeam/schemas"
)

// FileInfo describes one committed output file.
type FileInfo struct {
	// Table is "labels" or "errors".
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

// writeFile writes rows as Parquet to dir/name through a temporary name in
// the same folder, renaming it once the footer is written and the object
// closed. The temporary name is unique per attempt, so a retried bundle
// never writes into another attempt's file.
func writeFile[T any](ctx context.Context, dir, name, attempt string, rows []T, rowGroup int64, meta Meta) (FileInfo, error) {
	final := join(dir, name)
	tmp := join(dir, TempPrefix+name+"."+attempt)
	fs, err := filesystem.New(ctx, final)
	if err != nil {
		return FileInfo{}, fmt.Errorf("write %s: %w", final, err)
	}
	defer fs.Close()
	w, err := fs.OpenWrite(ctx, tmp)
	if err != nil {
		return FileInfo{}, fmt.Errorf("write %s: %w", tmp, err)
	}
	ch := &countingHash{w: w, h: sha256.New()}
	opts := []parquet.WriterOption{
		parquet.Compression(&zstd.Codec{}),
		parquet.KeyValueMetadata(schemas.MetaSchemaVersion, strconv.Itoa(schemas.Version)),
		parquet.KeyValueMetadata(schemas.MetaTeacher, meta.Teacher),
		parquet.KeyValueMetadata(schemas.MetaCLIP, meta.CLIP),
		parquet.KeyValueMetadata(schemas.MetaParams, meta.Params),
	}
	if rowGroup > 0 {
		opts = append(opts, parquet.MaxRowsPerRowGroup(rowGroup))
	}
	pw := parquet.NewGenericWriter[T](ch, opts...)
	if _, err := pw.Write(rows); err != nil {
		w.Close()
		return FileInfo{}, fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := pw.Close(); err != nil {
		w.Close()
		return FileInfo{}, fmt.Errorf("write %s: %w", tmp, err)
	}
	// The object exists only once Close succeeds (GCS, S3 commit on Close).
	if err := w.Close(); err != nil {
		return FileInfo{}, fmt.Errorf("commit %s: %w", tmp, err)
	}
	rn, ok := fs.(filesystem.Renamer)
	if !ok {
		return FileInfo{}, fmt.Errorf("write %s: filesystem cannot rename", final)
	}
	if err := rn.Rename(ctx, tmp, final); err != nil {
		return FileInfo{}, fmt.Errorf("rename %s to %s: %w", tmp, final, err)
	}
	return FileInfo{Rows: int64(len(rows)), Bytes: ch.n, SHA256: hex.EncodeToString(ch.h.Sum(nil))}, nil
}

// TempPrefix starts the name of every file not yet committed.
const TempPrefix = ".tmp-"

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

// Rel returns p relative to the output folder out, for the manifest.
func Rel(out, p string) string {
	if len(p) > len(out) && p[:len(out)] == out {
		r := p[len(out):]
		for len(r) > 0 && r[0] == '/' {
			r = r[1:]
		}
		return r
	}
	return path.Base(p)
}
