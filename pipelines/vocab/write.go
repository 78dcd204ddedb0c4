package vocab

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"path"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/clip"
	"github.com/groundbeam/groundbeam/model/ort"
	"github.com/groundbeam/groundbeam/schemas"
	"github.com/groundbeam/groundbeam/transforms/sink"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*Chunk)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*sink.FileInfo)(nil)).Elem())
	register.DoFn3x1[context.Context, Chunk, func(sink.FileInfo), error](&embedChunkFn{})
	register.Emitter1[sink.FileInfo]()
	register.DoFn3x1[context.Context, []byte, func(*sink.FileInfo) bool, error](&manifestFn{})
	register.Iter1[sink.FileInfo]()
}

// Chunk is a run of consecutive names, embedded and written as one file.
type Chunk struct {
	// Index numbers the chunk's file (vocab/vocab-00000.parquet, ...).
	Index int
	// First is the label id of Names[0].
	First int
	Names []string
}

// fileName is chunk i's file name inside OUT/vocab.
func fileName(i int) string { return fmt.Sprintf("vocab-%05d.parquet", i) }

// chunkConfig is what the embedding DoFn needs; it travels as JSON.
type chunkConfig struct {
	CLIP      string
	OrtLib    string
	Session   ort.Options
	Templates []string
	// TemplatesID is the templates' identity, for the files' metadata.
	TemplatesID string
	BatchSize   int
	RowGroup    int64
	Out         string
}

var (
	namesOut  = beam.NewCounter("groundbeam", "names")
	prompts   = beam.NewCounter("groundbeam", "prompts")
	truncated = beam.NewCounter("groundbeam", "prompts_truncated")
	filesOut  = beam.NewCounter("groundbeam", "files_committed")
)

type embedChunkFn struct {
	Cfg chunkConfig

	enc *clip.TextEncoder
}

// Setup opens the CLIP text tower from the worker's shared session cache.
func (f *embedChunkFn) Setup(ctx context.Context) error {
	lib, err := ort.FindLibrary(f.Cfg.OrtLib)
	if err != nil {
		return err
	}
	if err := ort.Init(lib); err != nil {
		return err
	}
	cb, err := bundle.Load(f.Cfg.CLIP, bundle.KindCLIP)
	if err != nil {
		return fmt.Errorf("clip: %w", err)
	}
	f.enc, err = clip.OpenText(cb, &clip.TextOptions{Batch: f.Cfg.BatchSize, Session: f.Cfg.Session})
	return err
}

// ProcessElement embeds a chunk's names and commits its file.
func (f *embedChunkFn) ProcessElement(ctx context.Context, c Chunk, emit func(sink.FileInfo)) error {
	before := f.enc.Truncated()
	embs, err := f.enc.EmbedNames(ctx, c.Names, f.Cfg.Templates)
	if err != nil {
		return fmt.Errorf("names %d to %d: %w", c.First, c.First+len(c.Names)-1, err)
	}
	truncated.Inc(ctx, f.enc.Truncated()-before)
	prompts.Inc(ctx, int64(len(c.Names)*len(f.Cfg.Templates)))
	rows := make([]schemas.VocabRow, len(c.Names))
	for i, n := range c.Names {
		rows[i] = schemas.VocabRow{LabelID: int32(c.First + i), Name: n, Embedding: embs[i], CLIP: f.enc.Identity(),
			Templates: int32(len(f.Cfg.Templates)), SchemaVersion: schemas.Version}
	}
	fi, err := writeFile(ctx, f.Cfg, fileName(c.Index), rows)
	if err != nil {
		return err
	}
	fi.Shard = fmt.Sprintf("label_id %d-%d", c.First, c.First+len(c.Names)-1)
	namesOut.Inc(ctx, int64(len(rows)))
	filesOut.Inc(ctx, 1)
	emit(fi)
	return nil
}

// Teardown releases the text tower (its session stays cached).
func (f *embedChunkFn) Teardown() {
	if f.enc != nil {
		f.enc.Close()
	}
}

// writeFile writes rows to OUT/vocab/name under a temporary name and
// renames it into place once complete, so a retried chunk replaces its
// file and a reader never sees a partial one.
func writeFile(ctx context.Context, cfg chunkConfig, name string, rows []schemas.VocabRow) (sink.FileInfo, error) {
	dir := join(cfg.Out, Table)
	final := join(dir, name)
	var b [6]byte
	rand.Read(b[:])
	tmp := join(dir, sink.TempPrefix+name+"."+hex.EncodeToString(b[:]))
	fs, err := filesystem.New(ctx, final)
	if err != nil {
		return sink.FileInfo{}, fmt.Errorf("output %s: %w", cfg.Out, err)
	}
	defer fs.Close()
	w, err := fs.OpenWrite(ctx, tmp)
	if err != nil {
		return sink.FileInfo{}, fmt.Errorf("write %s: %w", tmp, err)
	}
	ch := &countingHash{w: w, h: sha256.New()}
	opts := []parquet.WriterOption{
		parquet.Compression(&zstd.Codec{}),
		parquet.KeyValueMetadata(schemas.MetaSchemaVersion, strconv.Itoa(schemas.Version)),
		parquet.KeyValueMetadata(schemas.MetaCLIP, rowsCLIP(rows)),
		parquet.KeyValueMetadata(schemas.MetaTemplates, cfg.TemplatesID),
	}
	if cfg.RowGroup > 0 {
		opts = append(opts, parquet.MaxRowsPerRowGroup(cfg.RowGroup))
	}
	pw := parquet.NewGenericWriter[schemas.VocabRow](ch, opts...)
	if _, err := pw.Write(rows); err != nil {
		w.Close()
		remove(ctx, fs, tmp)
		return sink.FileInfo{}, fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := pw.Close(); err != nil {
		w.Close()
		remove(ctx, fs, tmp)
		return sink.FileInfo{}, fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := w.Close(); err != nil {
		remove(ctx, fs, tmp)
		return sink.FileInfo{}, fmt.Errorf("commit %s: %w", tmp, err)
	}
	if err := rename(ctx, fs, tmp, final); err != nil {
		return sink.FileInfo{}, err
	}
	return sink.FileInfo{Table: Table, Path: Table + "/" + name, Rows: int64(len(rows)), Bytes: ch.n,
		SHA256: hex.EncodeToString(ch.h.Sum(nil))}, nil
}

func rowsCLIP(rows []schemas.VocabRow) string {
	if len(rows) == 0 {
		return ""
	}
	return rows[0].CLIP
}

// manifestFn writes OUT/_vocab_manifest.json once every chunk is
// committed, after removing temporary files of failed attempts and the
// files of an earlier run that this run did not write.
type manifestFn struct {
	Out      string
	Manifest Manifest
}

// ProcessElement runs once, after every file is written.
func (f *manifestFn) ProcessElement(ctx context.Context, _ []byte, files func(*sink.FileInfo) bool) error {
	m := f.Manifest
	m.Files = []sink.FileInfo{}
	var rows int64
	var fi sink.FileInfo
	for files(&fi) {
		m.Files = append(m.Files, fi)
		rows += fi.Rows
		fi = sink.FileInfo{}
	}
	if rows != int64(m.Names) {
		return fmt.Errorf("vocab files hold %d rows, want one per name (%d)", rows, m.Names)
	}
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	keep := map[string]bool{}
	for _, fi := range m.Files {
		keep[path.Base(fi.Path)] = true
	}
	glob := join(join(f.Out, Table), "*")
	fs, err := filesystem.New(ctx, glob)
	if err != nil {
		return err
	}
	defer fs.Close()
	names, err := fs.List(ctx, glob)
	if err != nil {
		return fmt.Errorf("list %s: %w", glob, err)
	}
	for _, n := range names {
		b := path.Base(n)
		if keep[b] || !(strings.HasPrefix(b, sink.TempPrefix) || strings.HasSuffix(b, ".parquet")) {
			continue
		}
		if err := remove(ctx, fs, n); err != nil {
			return fmt.Errorf("remove %s: %w", n, err)
		}
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(ctx, fs, join(f.Out, ManifestFile), append(raw, '\n'))
}

func remove(ctx context.Context, fs filesystem.Interface, name string) error {
	rm, ok := fs.(filesystem.Remover)
	if !ok {
		return fmt.Errorf("remove %s: the filesystem cannot remove", name)
	}
	return rm.Remove(ctx, name)
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

// writeAtomic writes data to final through a temporary name.
func writeAtomic(ctx context.Context, fs filesystem.Interface, final string, data []byte) error {
	dir, base := path.Split(final)
	tmp := dir + sink.TempPrefix + base
	w, err := fs.OpenWrite(ctx, tmp)
	if err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if _, err := w.Write(data); err != nil {
		w.Close()
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("commit %s: %w", tmp, err)
	}
	return rename(ctx, fs, tmp, final)
}

// countingHash counts and hashes the bytes written through it.
type countingHash struct {
	w io.Writer
	h hash.Hash
	n int64
}

// Write writes p through, counting and hashing what was written.
func (c *countingHash) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

// join joins a local or object-store folder and a name.
func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return strings.TrimRight(dir, "/") + "/" + name
}
