// Package source reads image-text pairs from object storage (gs://, s3://,
// local paths) into a PCollection of label.Pair, one shard per element so
// Beam spreads the work, many samples per opened object. Samples that
// cannot be used leave as schemas.ErrorRow with a reason.
package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"reflect"
	"sort"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/groundbeam/groundbeam/model/label"
	"github.com/groundbeam/groundbeam/schemas"
	"github.com/groundbeam/groundbeam/transforms/source/wds"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*label.Pair)(nil)).Elem())
	beam.RegisterType(reflect.TypeOf((*schemas.ErrorRow)(nil)).Elem())
	register.DoFn4x1[context.Context, string, func(label.Pair), func(schemas.ErrorRow), error](&readTarFn{})
	register.Emitter1[label.Pair]()
	register.Emitter1[schemas.ErrorRow]()
}

// ErrNoMatch is returned by Expand when a pattern matches nothing.
var ErrNoMatch = errors.New("input matches nothing")

// Expand lists the shards a comma-separated list of globs names, sorted and
// without duplicates. It runs where the pipeline is built, so a pattern
// that matches nothing fails before any work starts.
func Expand(ctx context.Context, patterns string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for _, p := range strings.Split(patterns, ",") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		fs, err := filesystem.New(ctx, p)
		if err != nil {
			return nil, fmt.Errorf("input %s: %w", p, err)
		}
		files, err := fs.List(ctx, p)
		fs.Close()
		if err != nil {
			return nil, fmt.Errorf("list input %s: %w", p, err)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%w: %s", ErrNoMatch, p)
		}
		for _, f := range files {
			if !seen[f] {
				seen[f] = true
				out = append(out, f)
			}
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %q", ErrNoMatch, patterns)
	}
	sort.Strings(out)
	return out, nil
}

// ReadTars reads WebDataset tar shards (img2dataset layout). It returns the
// usable pairs and the rejected samples.
func ReadTars(s beam.Scope, shards beam.PCollection) (pairs, rejected beam.PCollection) {
	s = s.Scope("source.ReadTars")
	return beam.ParDo2(s, &readTarFn{}, shards)
}

type readTarFn struct{}

var (
	pairsRead    = beam.NewCounter("groundbeam", "pairs_read")
	pairsProblem = beam.NewCounter("groundbeam", "pairs_rejected_read")
)

// ProcessElement streams one shard, emitting a pair per usable sample and an
// error row per unusable one. A shard that cannot be opened, or breaks off,
// is an error row too: the run goes on.
func (f *readTarFn) ProcessElement(ctx context.Context, shard string, emit func(label.Pair), reject func(schemas.ErrorRow)) error {
	fs, err := filesystem.New(ctx, shard)
	if err != nil {
		return fmt.Errorf("read %s: %w", shard, err)
	}
	defer fs.Close()
	rc, err := fs.OpenRead(ctx, shard)
	if err != nil {
		pairsProblem.Inc(ctx, 1)
		reject(schemas.ErrorRow{Source: shard, Shard: shard, Stage: schemas.StageRead, Reason: "open shard: " + err.Error(), SchemaVersion: schemas.Version})
		return nil
	}
	defer rc.Close()
	r, err := wds.NewReader(rc, nil)
	if err != nil {
		pairsProblem.Inc(ctx, 1)
		reject(schemas.ErrorRow{Source: shard, Shard: shard, Stage: schemas.StageRead, Reason: err.Error(), SchemaVersion: schemas.Version})
		return nil
	}
	for {
		smp, err := r.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			pairsProblem.Inc(ctx, 1)
			reject(schemas.ErrorRow{Source: shard, Shard: shard, Stage: schemas.StageRead, Reason: "shard breaks off: " + err.Error(), SchemaVersion: schemas.Version})
			return nil
		}
		src := shard + "#" + smp.Member
		if smp.Problem != "" {
			pairsProblem.Inc(ctx, 1)
			reject(schemas.ErrorRow{Key: smp.Key, Source: src, Shard: shard, Stage: schemas.StageRead, Reason: smp.Problem, SchemaVersion: schemas.Version})
			continue
		}
		pairsRead.Inc(ctx, 1)
		emit(label.Pair{Key: smp.Key, Source: src, Shard: shard, Image: smp.Image, Caption: smp.Caption})
	}
}

// ShardName is the base name of a shard without its extension, used to
// name the output files made from it.
func ShardName(shard string) string {
	b := path.Base(shard)
	if i := strings.Index(b, "."); i > 0 {
		b = b[:i]
	}
	return b
}
