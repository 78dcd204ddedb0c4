package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"sort"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/groundbeam/groundbeam/schemas"
)

func init() {
	beam.RegisterType(reflect.TypeOf((*ShardResult)(nil)).Elem())
	register.DoFn3x1[context.Context, []byte, func(*ShardResult) bool, error](&writeManifestFn{})
	register.Iter1[ShardResult]()
}

// ManifestFile is the manifest's name inside the output folder.
const ManifestFile = "_manifest.json"

// Manifest is OUT/_manifest.json, written after a successful run.
type Manifest struct {
	SchemaVersion int    `json:"schema_version"`
	Teacher       string `json:"teacher"`
	CLIP          string `json:"clip"`
	Params        string `json:"params_hash"`
	// Settings are the run's settings (the job's own JSON object: models,
	// post-processing, crops, what was read), the same for every shard
	// the manifest lists; SettingsHash is their identity, also in every
	// commit marker and Parquet file.
	Settings     json.RawMessage `json:"settings,omitempty"`
	SettingsHash string          `json:"settings_hash,omitempty"`
	// InputShards are the shards the run read.
	InputShards []string `json:"input_shards"`
	// ResumedShards counts shards a --resume run found committed.
	ResumedShards int `json:"resumed_shards"`
	// DecodeMinShort is the shorter side the run's JPEG decoding could
	// shrink an image to before its crops were embedded (the teacher's
	// input size; Config.DecodeMinShort), 0 for full size. embed --input
	// decodes images as the run it recomputes did, so that the same CLIP
	// bundle gives the same embeddings.
	DecodeMinShort int    `json:"decode_min_short,omitempty"`
	Totals         Totals `json:"totals"`
	// Files are the committed files, sorted by path.
	Files []FileInfo `json:"files"`
}

// Totals count pairs: InputPairs = Labelled + Rejected, always.
type Totals struct {
	InputPairs int64 `json:"input_pairs"`
	Labelled   int64 `json:"labelled"`
	Rejected   int64 `json:"rejected"`
	Boxes      int64 `json:"boxes"`
}

// WriteManifest writes OUT/_manifest.json once every shard in results
// (a PCollection of ShardResult, one per unit of work) is committed, and
// removes temporary files left by failed attempts.
func WriteManifest(s beam.Scope, cfg Config, results beam.PCollection) {
	s = s.Scope("sink.WriteManifest")
	beam.ParDo0(s, &writeManifestFn{Cfg: cfg}, beam.Impulse(s), beam.SideInput{Input: results})
}

type writeManifestFn struct {
	Cfg Config
}

// ProcessElement runs once, after every file is written.
func (f *writeManifestFn) ProcessElement(ctx context.Context, _ []byte, results func(*ShardResult) bool) error {
	m := Manifest{SchemaVersion: schemas.Version, Teacher: f.Cfg.Meta.Teacher, CLIP: f.Cfg.Meta.CLIP,
		Params: f.Cfg.Meta.Params, Settings: f.Cfg.Settings.JSON, SettingsHash: f.Cfg.Settings.Hash,
		InputShards: []string{}, DecodeMinShort: f.Cfg.DecodeMinShort, Files: []FileInfo{}}
	var r ShardResult
	for results(&r) {
		if r.Settings != f.Cfg.Settings.Hash {
			return fmt.Errorf("shard %s was committed with settings %q, the run's are %q", r.Shard, r.Settings, f.Cfg.Settings.Hash)
		}
		if r.Pairs != r.Labelled+r.Rejected {
			return fmt.Errorf("shard %s: %d pairs but %d labelled + %d rejected", r.Shard, r.Pairs, r.Labelled, r.Rejected)
		}
		m.InputShards = append(m.InputShards, r.Shard)
		m.Files = append(m.Files, r.Files...)
		m.Totals.InputPairs += r.Pairs
		m.Totals.Labelled += r.Labelled
		m.Totals.Rejected += r.Rejected
		m.Totals.Boxes += r.Boxes
		if r.Resumed {
			m.ResumedShards++
		}
		r = ShardResult{}
	}
	sort.Strings(m.InputShards)
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	if err := removeTemps(ctx, f.Cfg.Out); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	final := join(f.Cfg.Out, ManifestFile)
	fs, err := filesystem.New(ctx, final)
	if err != nil {
		return err
	}
	defer fs.Close()
	return WriteAtomic(ctx, fs, final, append(raw, '\n'))
}

// removeTemps deletes files of failed attempts under OUT/labels and
// OUT/errors.
func removeTemps(ctx context.Context, out string) error {
	for _, table := range []string{TableLabels, TableErrors, MarkerDir} {
		if err := removeMatching(ctx, join(join(out, table), TempPrefix+"*")); err != nil {
			return err
		}
	}
	return nil
}

// ReadManifest reads OUT/_manifest.json.
func ReadManifest(ctx context.Context, out string) (*Manifest, error) {
	p := join(out, ManifestFile)
	fs, err := filesystem.New(ctx, p)
	if err != nil {
		return nil, err
	}
	defer fs.Close()
	r, err := fs.OpenRead(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	defer r.Close()
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read manifest %s: %w", p, err)
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("parse manifest %s: %w", p, err)
	}
	return &m, nil
}
