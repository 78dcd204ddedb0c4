package sink

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"reflect"
	"sort"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/groundbeam/groundbeam/schemas"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*FileInfo)(nil)).Elem())
	register.Function1x2(labelShard)
	register.Function1x2(errorShard)
	register.DoFn4x1[context.Context, string, func(*schemas.LabelRow) bool, func(FileInfo), error](&writeLabelsFn{})
	register.DoFn4x1[context.Context, string, func(*schemas.ErrorRow) bool, func(FileInfo), error](&writeErrorsFn{})
	register.Iter1[schemas.LabelRow]()
	register.Iter1[schemas.ErrorRow]()
	register.Emitter1[FileInfo]()
}

// Config says where and how tables are written.
type Config struct {
	// Out is the output folder (local path, gs:// or s3://).
	Out string
	// Names maps each input shard to the base name of its output files.
	Names map[string]string
	// RowGroup is the most rows per Parquet row group (0: writer default).
	RowGroup int64
	// Meta is the provenance written into every file.
	Meta Meta
}

func labelShard(r schemas.LabelRow) (string, schemas.LabelRow) { return r.Shard, r }
func errorShard(r schemas.ErrorRow) (string, schemas.ErrorRow) { return r.Shard, r }

// WriteLabels writes the labelled rows of each input shard to
// OUT/labels/NAME.parquet and returns the committed files.
func WriteLabels(s beam.Scope, cfg Config, rows beam.PCollection) beam.PCollection {
	s = s.Scope("sink.WriteLabels")
	keyed := beam.ParDo(s, labelShard, rows)
	return beam.ParDo(s, &writeLabelsFn{Cfg: cfg}, beam.GroupByKey(s, keyed))
}

// WriteErrors writes the rejected inputs of each input shard to
// OUT/errors/NAME.parquet and returns the committed files.
func WriteErrors(s beam.Scope, cfg Config, rows beam.PCollection) beam.PCollection {
	s = s.Scope("sink.WriteErrors")
	keyed := beam.ParDo(s, errorShard, rows)
	return beam.ParDo(s, &writeErrorsFn{Cfg: cfg}, beam.GroupByKey(s, keyed))
}

type writeLabelsFn struct{ Cfg Config }

// ProcessElement writes one shard's rows, sorted by key.
func (f *writeLabelsFn) ProcessElement(ctx context.Context, shard string, iter func(*schemas.LabelRow) bool, emit func(FileInfo)) error {
	var rows []schemas.LabelRow
	var r schemas.LabelRow
	var nBoxes int64
	for iter(&r) {
		rows = append(rows, r)
		nBoxes += int64(len(r.Boxes))
		r = schemas.LabelRow{}
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].Key < rows[j].Key })
	info, err := writeTable(ctx, f.Cfg, "labels", shard, rows)
	if err != nil {
		return err
	}
	info.Boxes = nBoxes
	emit(info)
	return nil
}

type writeErrorsFn struct{ Cfg Config }

// ProcessElement writes one shard's rejected inputs, sorted by key.
func (f *writeErrorsFn) ProcessElement(ctx context.Context, shard string, iter func(*schemas.ErrorRow) bool, emit func(FileInfo)) error {
	var rows []schemas.ErrorRow
	var r schemas.ErrorRow
	for iter(&r) {
		rows = append(rows, r)
		r = schemas.ErrorRow{}
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].Key != rows[j].Key {
			return rows[i].Key < rows[j].Key
		}
		return rows[i].Source < rows[j].Source
	})
	info, err := writeTable(ctx, f.Cfg, "errors", shard, rows)
	if err != nil {
		return err
	}
	emit(info)
	return nil
}

func writeTable[T any](ctx context.Context, cfg Config, table, shard string, rows []T) (FileInfo, error) {
	name, ok := cfg.Names[shard]
	if !ok {
		name = "shard-" + hashName(shard)
	}
	dir := join(cfg.Out, table)
	var b [6]byte
	rand.Read(b[:])
	info, err := writeFile(ctx, dir, name+".parquet", hex.EncodeToString(b[:]), rows, cfg.RowGroup, cfg.Meta)
	if err != nil {
		return FileInfo{}, err
	}
	info.Table = table
	info.Path = table + "/" + name + ".parquet"
	info.Shard = shard
	return info, nil
}
