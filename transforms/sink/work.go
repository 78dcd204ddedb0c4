package sink

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

func init() {
	register.DoFn3x1[context.Context, []byte, func(string), error](&readWorkFn{})
	register.Emitter1[string]()
	register.Function1x2[string, Unit, error](DecodeUnit)
}

// WorkFile is the file in the output folder that lists a job's units of
// work, one JSON object per line. The launcher writes it (WriteWork) and
// the pipeline reads it (ReadWork), so the graph sent to the runner holds
// its path, not the list: runners cap a job's graph (Dataflow at 10 MB,
// which a list of 50,000 shards would pass), and the list grows with the
// corpus.
const WorkFile = "_work.jsonl"

// maxWorkLine is the longest line ReadWork accepts.
const maxWorkLine = 16 << 20

// Unit is one input shard and the base name of its output files (see
// Names): what a job commits as a whole.
type Unit struct {
	Shard string `json:"shard"`
	Name  string `json:"name"`
}

// Units pairs each shard, in order, with its output name (Names).
func Units(shards []string) []Unit {
	names := Names(shards)
	out := make([]Unit, len(shards))
	for i, s := range shards {
		out[i] = Unit{Shard: s, Name: names[s]}
	}
	return out
}

// WriteWork writes units (JSON values) to OUT/_work.jsonl, one per line,
// replacing any earlier list atomically, and returns the file's path.
func WriteWork[T any](ctx context.Context, out string, units []T) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	for i, u := range units {
		if err := enc.Encode(u); err != nil {
			return "", fmt.Errorf("work unit %d: %w", i, err)
		}
	}
	p := join(out, WorkFile)
	fs, err := filesystem.New(ctx, p)
	if err != nil {
		return "", fmt.Errorf("output %s: %w", out, err)
	}
	defer fs.Close()
	if err := WriteAtomic(ctx, fs, p, buf.Bytes()); err != nil {
		return "", fmt.Errorf("write the work list %s: %w", p, err)
	}
	return p, nil
}

// ReadWork returns the lines of a work file (WriteWork) as a
// PCollection<string>, reshuffled so that the runner spreads the units
// over its workers.
func ReadWork(s beam.Scope, path string) beam.PCollection {
	s = s.Scope("sink.ReadWork")
	return beam.Reshuffle(s, beam.ParDo(s, &readWorkFn{Path: path}, beam.Impulse(s)))
}

type readWorkFn struct {
	Path string
}

// ProcessElement emits every non-blank line of the work file.
func (f *readWorkFn) ProcessElement(ctx context.Context, _ []byte, emit func(string)) error {
	fs, err := filesystem.New(ctx, f.Path)
	if err != nil {
		return fmt.Errorf("work list %s: %w", f.Path, err)
	}
	defer fs.Close()
	r, err := fs.OpenRead(ctx, f.Path)
	if err != nil {
		return fmt.Errorf("work list %s: %w", f.Path, err)
	}
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxWorkLine)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) > 0 {
			emit(sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("work list %s: %w", f.Path, err)
	}
	return nil
}

// DecodeUnit parses one line of a work file of Units.
func DecodeUnit(line string) (Unit, error) {
	return DecodeWork(line, func(u Unit) Unit { return u })
}

// DecodeWork parses one line of a work file (WriteWork) into a T and
// checks that the unit it names (unit) has a shard and a name.
func DecodeWork[T any](line string, unit func(T) Unit) (T, error) {
	var v T
	if err := json.Unmarshal([]byte(line), &v); err != nil {
		return v, fmt.Errorf("work unit %q: %w", line, err)
	}
	if u := unit(v); u.Shard == "" || u.Name == "" {
		return v, fmt.Errorf("work unit %q: want a shard and a name", line)
	}
	return v, nil
}
