package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/groundbeam/groundbeam/schemas"
)

func init() {
	register.DoFn3x1[context.Context, []byte, func(*FileInfo) bool, error](&writeManifestFn{})
	register.Iter1[FileInfo]()
}

// ManifestFile is the manifest's name inside the output folder.
const ManifestFile = "_manifest.json"

// Manifest is OUT/_manifest.json, written after a successful run.
type Manifest struct {
	SchemaVersion int    `json:"schema_version"`
	Teacher       string `json:"teacher"`
	CLIP          string `json:"clip"`
	Params        string `json:"params_hash"`
	// InputShards are the shards the run read.
	InputShards []string `json:"input_shards"`
	Totals      Totals   `json:"totals"`
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

// WriteManifest writes OUT/_manifest.json once every file in files is
// committed, and removes temporary files left by failed attempts.
func WriteManifest(s beam.Scope, cfg Config, shards []string, files beam.PCollection) {
	s = s.Scope("sink.WriteManifest")
	beam.ParDo0(s, &writeManifestFn{Cfg: cfg, Shards: shards}, beam.Impulse(s), beam.SideInput{Input: files})
}

type writeManifestFn struct {
	Cfg    Config
	Shards []string
}

// ProcessElement runs once, after every file is written.
func (f *writeManifestFn) ProcessElement(ctx context.Context, _ []byte, files func(*FileInfo) bool) error {
	m := Manifest{SchemaVersion: schemas.Version, Teacher: f.Cfg.Meta.Teacher, CLIP: f.Cfg.Meta.CLIP,
		Params: f.Cfg.Meta.Params, InputShards: f.Shards, Files: []FileInfo{}}
	var fi FileInfo
	for files(&fi) {
		m.Files = append(m.Files, fi)
		switch fi.Table {
		case "labels":
			m.Totals.Labelled += fi.Rows
			m.Totals.Boxes += fi.Boxes
		case "errors":
			m.Totals.Rejected += fi.Rows
		}
	}
	m.Totals.InputPairs = m.Totals.Labelled + m.Totals.Rejected
	sort.Slice(m.Files, func(i, j int) bool { return m.Files[i].Path < m.Files[j].Path })
	if err := removeTemps(ctx, f.Cfg.Out); err != nil {
		return err
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(ctx, join(f.Cfg.Out, ManifestFile), append(raw, '\n'))
}

// removeTemps deletes files of failed attempts under OUT/labels and
// OUT/errors.
func removeTemps(ctx context.Context, out string) error {
	for _, table := range []string{"labels", "errors"} {
		glob := join(join(out, table), TempPrefix+"*")
		fs, err := filesystem.New(ctx, glob)
		if err != nil {
			return err
		}
		names, err := fs.List(ctx, glob)
		if err == nil {
			if rm, ok := fs.(filesystem.Remover); ok {
				for _, n := range names {
					if err := rm.Remove(ctx, n); err != nil {
						fs.Close()
						return fmt.Errorf("remove %s: %w", n, err)
					}
				}
			}
		}
		fs.Close()
	}
	return nil
}

func writeAtomic(ctx context.Context, final string, data []byte) error {
	fs, err := filesystem.New(ctx, final)
	if err != nil {
		return err
	}
	defer fs.Close()
	i := strings.LastIndex(final, "/")
	tmp := final[:i+1] + TempPrefix + final[i+1:]
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
	rn, ok := fs.(filesystem.Renamer)
	if !ok {
		return fmt.Errorf("write %s: filesystem cannot rename", final)
	}
	return rn.Rename(ctx, tmp, final)
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
