package sink

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"

	"github.com/groundbeam/groundbeam/schemas"
)

// MarkerDir is the folder of per-shard commit markers.
const MarkerDir = "_shards"

// Config says where and how a shard's tables are written.
type Config struct {
	// Out is the output folder (local path, gs:// or s3://).
	Out string
	// RowGroup is the most rows per Parquet row group (0: writer default).
	RowGroup int64
	// Meta is the provenance written into every file.
	Meta Meta
	// DecodeMinShort goes into the manifest: the shorter side that JPEG
	// decoding may shrink an image to (DCT scaling) before its boxes are
	// cropped and embedded; 0 when images are decoded at full size.
	DecodeMinShort int
	// Settings are the run's settings: their hash goes into every commit
	// marker and Parquet file, the whole object into the manifest.
	Settings Settings
}

// ShardResult is one committed input shard: what its commit marker holds.
type ShardResult struct {
	Shard string `json:"shard"`
	// Pairs is every input pair the shard gave: Labelled + Rejected.
	Pairs    int64 `json:"pairs"`
	Labelled int64 `json:"labelled"`
	Rejected int64 `json:"rejected"`
	Boxes    int64 `json:"boxes"`
	// Files are the shard's committed files (none when it gave no rows).
	Files []FileInfo `json:"files"`
	// Settings is the hash of the settings the shard was written with.
	Settings string `json:"settings,omitempty"`
	// Resumed says a rerun found the shard committed and skipped it.
	Resumed bool `json:"-"`
}

// ShardWriter streams one input shard's labelled rows and rejected inputs
// into temporary Parquet objects; Commit renames them into place and writes
// the shard's marker last, so a shard is either wholly committed or not at
// all, and a retried shard replaces its files instead of adding rows.
type ShardWriter struct {
	cfg     Config
	shard   string
	name    string
	attempt string
	fs      filesystem.Interface
	labels  *tableWriter[schemas.LabelRow]
	errs    *tableWriter[schemas.ErrorRow]
	res     ShardResult
}

// NewShardWriter starts writing a unit's shard under the unit's name.
func NewShardWriter(ctx context.Context, cfg Config, u Unit) (*ShardWriter, error) {
	fs, err := filesystem.New(ctx, join(cfg.Out, "x"))
	if err != nil {
		return nil, fmt.Errorf("output %s: %w", cfg.Out, err)
	}
	var b [6]byte
	rand.Read(b[:])
	return &ShardWriter{cfg: cfg, shard: u.Shard, name: u.Name, attempt: hex.EncodeToString(b[:]), fs: fs,
		res: ShardResult{Shard: u.Shard, Files: []FileInfo{}, Settings: cfg.Settings.Hash}}, nil
}

func (w *ShardWriter) paths(table string) (final, tmp string) {
	dir := join(w.cfg.Out, table)
	return join(dir, w.name+".parquet"), join(dir, TempPrefix+w.name+".parquet."+w.attempt)
}

// Label adds a labelled row.
func (w *ShardWriter) Label(ctx context.Context, row schemas.LabelRow) error {
	if w.labels == nil {
		final, tmp := w.paths(TableLabels)
		t, err := newTableWriter[schemas.LabelRow](ctx, w.fs, final, tmp, w.cfg)
		if err != nil {
			return err
		}
		w.labels = t
	}
	w.res.Labelled++
	w.res.Boxes += int64(len(row.Boxes))
	return w.labels.write(row)
}

// Reject adds a rejected input.
func (w *ShardWriter) Reject(ctx context.Context, row schemas.ErrorRow) error {
	if w.errs == nil {
		final, tmp := w.paths(TableErrors)
		t, err := newTableWriter[schemas.ErrorRow](ctx, w.fs, final, tmp, w.cfg)
		if err != nil {
			return err
		}
		w.errs = t
	}
	w.res.Rejected++
	return w.errs.write(row)
}

// Commit makes the shard's files visible and writes its marker.
func (w *ShardWriter) Commit(ctx context.Context) (ShardResult, error) {
	defer w.fs.Close()
	for _, t := range []struct {
		table string
		c     func(context.Context) (FileInfo, error)
	}{
		{TableLabels, commitFn(w.labels)},
		{TableErrors, commitFn(w.errs)},
	} {
		if t.c == nil {
			continue
		}
		fi, err := t.c(ctx)
		if err != nil {
			return ShardResult{}, err
		}
		fi.Table, fi.Path, fi.Shard = t.table, t.table+"/"+w.name+".parquet", w.shard
		if t.table == TableLabels {
			fi.Boxes = w.res.Boxes
		}
		w.res.Files = append(w.res.Files, fi)
	}
	w.res.Pairs = w.res.Labelled + w.res.Rejected
	raw, err := json.Marshal(w.res)
	if err != nil {
		return ShardResult{}, err
	}
	if err := WriteAtomic(ctx, w.fs, join(join(w.cfg.Out, MarkerDir), w.name+".json"), raw); err != nil {
		return ShardResult{}, err
	}
	return w.res, nil
}

func commitFn[T any](t *tableWriter[T]) func(context.Context) (FileInfo, error) {
	if t == nil {
		return nil
	}
	return t.commit
}

// Abort drops whatever the shard wrote.
func (w *ShardWriter) Abort(ctx context.Context) {
	if w.labels != nil {
		w.labels.abort(ctx)
	}
	if w.errs != nil {
		w.errs.abort(ctx)
	}
	w.fs.Close()
}

// Committed reports whether a previous run committed the unit's shard
// with the same settings: its marker exists, names cfg's settings hash,
// and each file it lists is present with the recorded size.
func Committed(ctx context.Context, cfg Config, u Unit) (ShardResult, bool, error) {
	marker := join(join(cfg.Out, MarkerDir), u.Name+".json")
	fs, err := filesystem.New(ctx, marker)
	if err != nil {
		return ShardResult{}, false, err
	}
	defer fs.Close()
	r, err := fs.OpenRead(ctx, marker)
	if err != nil {
		return ShardResult{}, false, nil // not committed (or unreadable: redo it)
	}
	raw, err := io.ReadAll(r)
	r.Close()
	if err != nil {
		return ShardResult{}, false, nil
	}
	var res ShardResult
	if err := json.Unmarshal(raw, &res); err != nil || res.Shard != u.Shard || res.Settings != cfg.Settings.Hash {
		return ShardResult{}, false, nil
	}
	for _, f := range res.Files {
		size, err := fs.Size(ctx, join(cfg.Out, f.Path))
		if err != nil || size != f.Bytes {
			return ShardResult{}, false, nil
		}
	}
	res.Resumed = true
	return res, true, nil
}

// WriteAtomic writes data to final through a temporary name in the same
// folder, retrying transient object-store faults, so a reader sees the
// whole object or none of it.
func WriteAtomic(ctx context.Context, fs filesystem.Interface, final string, data []byte) error {
	i := len(final) - 1
	for i >= 0 && final[i] != '/' {
		i--
	}
	tmp := final[:i+1] + TempPrefix + final[i+1:]
	if err := upload(ctx, fs, tmp, func() (io.Reader, error) { return bytes.NewReader(data), nil }); err != nil {
		return err
	}
	return renameRetry(ctx, fs, tmp, final, int64(len(data)))
}

// CheckWritable fails fast when the output folder cannot be written: it
// writes, renames and removes a probe object.
func CheckWritable(ctx context.Context, out string) error {
	probe := join(out, TempPrefix+"probe")
	fs, err := filesystem.New(ctx, probe)
	if err != nil {
		return fmt.Errorf("output %s: %w", out, err)
	}
	defer fs.Close()
	if err := WriteAtomic(ctx, fs, probe, []byte("ok")); err != nil {
		return fmt.Errorf("output %s is not writable: %w", out, err)
	}
	if rm, ok := fs.(filesystem.Remover); ok {
		if err := removeRetry(ctx, rm, probe); err != nil {
			return fmt.Errorf("output %s: remove probe: %w", out, err)
		}
	}
	return nil
}
