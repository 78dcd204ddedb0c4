// Package vocab is the vocabulary job's Beam graph: class names × prompt
// templates (ViLD's 63 by default) → CLIP BPE tokens (77) → the CLIP text
// tower → each prompt's embedding normalised, averaged per name and
// normalised again (clip.TextEncoder.EmbedNames) → OUT/vocab/*.parquet,
// one schemas.VocabRow per name, label_id = the name's index.
//
// The names are split into chunks; one DoFn embeds a chunk with the
// worker's shared text-tower session and writes it as one Parquet file
// (temporary name, then rename), and a last step removes what failed
// attempts and earlier runs left in OUT/vocab and writes
// OUT/_vocab_manifest.json. The job touches nothing else under OUT, so a
// vocabulary can sit beside a label run's tables.
package vocab

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"

	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/clip"
	"github.com/groundbeam/groundbeam/model/ort"
	"github.com/groundbeam/groundbeam/pipelines/runner"
	"github.com/groundbeam/groundbeam/schemas"
	"github.com/groundbeam/groundbeam/transforms/sink"
)

// Table is the vocab table's folder under OUT.
const Table = "vocab"

// ManifestFile is the vocab job's manifest inside OUT (apart from the
// label job's _manifest.json, so both can share a folder).
const ManifestFile = "_vocab_manifest.json"

// DefaultChunkSize is the default number of names per file.
const DefaultChunkSize = 256

// Config is everything the vocab job needs.
type Config struct {
	// Names are the class names; a name's label id is its index.
	Names []string
	// Templates are the prompt templates, each with "{}" for the name
	// (nil: clip.ViLDTemplates, ViLD's 63).
	Templates []string
	// CLIP is the CLIP model bundle folder; it needs a text tower.
	CLIP string
	// Output is the output folder (local, gs:// or s3://).
	Output string
	// OrtLib is the ONNX Runtime library; "" resolves it from
	// $GROUNDBEAM_ORT_LIB or the cache.
	OrtLib string
	// Session are the ONNX Runtime settings.
	Session ort.Options
	// ChunkSize is the number of names per file and per DoFn call
	// (default DefaultChunkSize).
	ChunkSize int
	// BatchSize is the number of prompts per text-tower run (default
	// clip.DefaultTextBatch).
	BatchSize int
	// RowGroup is the most rows per Parquet row group.
	RowGroup int64
}

// Plan is what Build found.
type Plan struct {
	Names     int
	Templates int
	// TemplatesID identifies the templates: the first 12 hex digits of
	// the sha256 of the templates joined by newlines.
	TemplatesID string
	Chunks      int
	CLIP        string
	// Duplicates are names given under several label ids.
	Duplicates []Duplicate
}

// Manifest is OUT/_vocab_manifest.json, written after a successful run.
type Manifest struct {
	SchemaVersion int    `json:"schema_version"`
	CLIP          string `json:"clip"`
	// Names counts the names: the rows of all files.
	Names int `json:"names"`
	// Templates are the prompt templates, in order.
	Templates   []string `json:"templates"`
	TemplatesID string   `json:"templates_id"`
	// Files are the committed files, sorted by path.
	Files []sink.FileInfo `json:"files"`
}

// Build validates cfg where the pipeline is launched (the names and
// templates, the ONNX Runtime library, the CLIP bundle and its text tower,
// the output) and returns the pipeline.
func Build(ctx context.Context, cfg Config) (*beam.Pipeline, Plan, error) {
	var plan Plan
	if cfg.Output == "" {
		return nil, plan, errors.New("no output folder given")
	}
	if len(cfg.Names) == 0 {
		return nil, plan, errors.New("no class names")
	}
	for i, n := range cfg.Names {
		if strings.TrimSpace(n) == "" || !utf8.ValidString(n) {
			return nil, plan, fmt.Errorf("class name %d (%q) is blank or not UTF-8", i, n)
		}
	}
	tpls := cfg.Templates
	if len(tpls) == 0 {
		tpls = clip.ViLDTemplates()
	}
	for i, t := range tpls {
		if err := CheckTemplate(t); err != nil {
			return nil, plan, fmt.Errorf("template %d: %w", i, err)
		}
	}
	if _, err := ort.FindLibrary(cfg.OrtLib); err != nil {
		return nil, plan, err
	}
	cb, err := bundle.Load(cfg.CLIP, bundle.KindCLIP)
	if err != nil {
		return nil, plan, fmt.Errorf("clip: %w", err)
	}
	if cb.Manifest.TextONNX == "" || cb.Manifest.Text.Tokenizer != "clip_bpe" {
		return nil, plan, fmt.Errorf("clip: bundle %s has no text tower with a clip_bpe tokenizer", cb.Identity)
	}
	out := strings.TrimRight(cfg.Output, "/")
	if err := sink.CheckWritable(ctx, out); err != nil {
		return nil, plan, err
	}
	size := cfg.ChunkSize
	if size <= 0 {
		size = DefaultChunkSize
	}
	var chunks []Chunk
	for lo := 0; lo < len(cfg.Names); lo += size {
		hi := min(lo+size, len(cfg.Names))
		chunks = append(chunks, Chunk{Index: len(chunks), First: lo, Names: cfg.Names[lo:hi:hi]})
	}
	sum := sha256.Sum256([]byte(strings.Join(tpls, "\n")))
	plan = Plan{Names: len(cfg.Names), Templates: len(tpls), TemplatesID: hex.EncodeToString(sum[:])[:12],
		Chunks: len(chunks), CLIP: cb.Identity, Duplicates: Duplicates(cfg.Names)}

	p, s := beam.NewPipelineWithRoot()
	s = s.Scope("vocab")
	files := beam.ParDo(s, &embedChunkFn{Cfg: chunkConfig{
		CLIP: cfg.CLIP, OrtLib: cfg.OrtLib, Session: cfg.Session, Templates: tpls, TemplatesID: plan.TemplatesID,
		BatchSize: cfg.BatchSize, RowGroup: cfg.RowGroup, Out: out,
	}}, beam.Reshuffle(s, beam.CreateList(s, chunks)))
	beam.ParDo0(s, &manifestFn{Out: out, Manifest: Manifest{SchemaVersion: schemas.Version, CLIP: cb.Identity,
		Names: len(cfg.Names), Templates: tpls, TemplatesID: plan.TemplatesID}},
		beam.Impulse(s), beam.SideInput{Input: files})
	return p, plan, nil
}

// Result is a finished run.
type Result struct {
	Plan     Plan
	Manifest *Manifest
	// Metrics are the run's Beam counters and distributions.
	runner.Metrics
}

// Run builds and runs the pipeline on the runner the Beam flags name
// (prism by default) and reads back the manifest.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	p, plan, err := Build(ctx, cfg)
	if err != nil {
		return nil, err
	}
	return Execute(ctx, p, plan, cfg.Output)
}

// Execute runs a pipeline Build made, writing into out.
func Execute(ctx context.Context, p *beam.Pipeline, plan Plan, out string) (*Result, error) {
	m, err := runner.Run(ctx, p)
	if err != nil {
		return nil, err
	}
	res := &Result{Plan: plan, Metrics: m}
	if res.Manifest, err = ReadManifest(ctx, strings.TrimRight(out, "/")); err != nil {
		return nil, err
	}
	return res, nil
}

// ReadManifest reads OUT/_vocab_manifest.json.
func ReadManifest(ctx context.Context, out string) (*Manifest, error) {
	p := join(out, ManifestFile)
	fs, err := filesystem.New(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	defer fs.Close()
	r, err := fs.OpenRead(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	defer r.Close()
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("parse %s: %w", p, err)
	}
	return &m, nil
}
