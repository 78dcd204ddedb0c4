package vocab

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
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
	if err := ort.Start(f.Cfg.OrtLib); err != nil {
		return err
	}
	cb, err := bundle.LoadVerified(f.Cfg.CLIP, bundle.KindCLIP, ort.Opened)
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
	final := join(join(cfg.Out, Table), name)
	fs, err := filesystem.New(ctx, final)
	if err != nil {
		return sink.FileInfo{}, fmt.Errorf("output %s: %w", cfg.Out, err)
	}
	defer fs.Close()
	opts := []parquet.WriterOption{
		parquet.Compression(&zstd.Codec{}),
		parquet.KeyValueMetadata(schemas.MetaSchemaVersion, strconv.Itoa(schemas.Version)),
		parquet.KeyValueMetadata(schemas.MetaCLIP, rowsCLIP(rows)),
		parquet.KeyValueMetadata(schemas.MetaTemplates, cfg.TemplatesID),
	}
	if cfg.RowGroup > 0 {
		opts = append(opts, parquet.MaxRowsPerRowGroup(cfg.RowGroup))
	}
	// A chunk is a few hundred names: it is encoded in memory and written
	// with sink's retrying temporary-name-then-rename commit.
	var buf bytes.Buffer
	if err := parquet.Write(&buf, rows, opts...); err != nil {
		return sink.FileInfo{}, fmt.Errorf("encode %s: %w", final, err)
	}
	if err := sink.WriteAtomic(ctx, fs, final, buf.Bytes()); err != nil {
		return sink.FileInfo{}, err
	}
	sum := sha256.Sum256(buf.Bytes())
	return sink.FileInfo{Table: Table, Path: Table + "/" + name, Rows: int64(len(rows)), Bytes: int64(buf.Len()),
		SHA256: hex.EncodeToString(sum[:])}, nil
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
	return sink.WriteAtomic(ctx, fs, join(f.Out, ManifestFile), append(raw, '\n'))
}

func remove(ctx context.Context, fs filesystem.Interface, name string) error {
	rm, ok := fs.(filesystem.Remover)
	if !ok {
		return fmt.Errorf("remove %s: the filesystem cannot remove", name)
	}
	return rm.Remove(ctx, name)
}

// join joins a local or object-store folder and a name.
func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return strings.TrimRight(dir, "/") + "/" + name
}
