// Package report reads a finished groundbeam output folder (OUT/labels,
// OUT/errors, OUT/_manifest.json); transforms/source reads the images its
// rows point at. It is the shared base of the inspect, stats, coco and
// odvg sub-packages.
//
// Paths are local paths, gs:// or s3:// URIs, opened through the Beam
// SDK's filesystem package (this package registers the three file
// systems).
package report

import (
	"context"
	"fmt"
	"os"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"   // gs:// paths
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // local paths

	"github.com/groundbeam/groundbeam/schemas"
	"github.com/groundbeam/groundbeam/transforms/sink"
	_ "github.com/groundbeam/groundbeam/transforms/source/s3fs" // s3:// paths
)

// Table names: the folders under OUT that hold Parquet files.
const (
	LabelsTable = "labels"
	ErrorsTable = "errors"
)

// ManifestFile is the manifest's name inside OUT (the same name the sink
// writes).
const ManifestFile = "_manifest.json"

// tempPrefix starts the names of files the sink has not committed yet.
const tempPrefix = ".tmp-"

// batchRows is how many rows ReadLabels and ReadErrors decode at a time.
const batchRows = 64

// Join joins a local or object-store folder and a name with one '/'.
func Join(dir, name string) string {
	if dir == "" {
		return name
	}
	if strings.HasSuffix(dir, "/") {
		return dir + name
	}
	return dir + "/" + name
}

// Files lists the committed Parquet files of one table (LabelsTable or
// ErrorsTable) under out, sorted by name. When out holds a manifest (a
// finished run), they are the files it lists: files an earlier run into
// the same folder left behind are not part of the corpus (see Unlisted).
// Without one (a run not finished), they are the files found under the
// table's folder, less the ones not yet committed (".tmp-" names). A
// missing table folder gives no files and no error.
func Files(ctx context.Context, out, table string) ([]string, error) {
	m, err := Manifest(ctx, out)
	if err != nil {
		return nil, err
	}
	return FilesOf(ctx, out, table, m)
}

// FilesOf is Files for a caller that has read out's manifest already
// (Manifest; nil when out has none).
func FilesOf(ctx context.Context, out, table string, m *sink.Manifest) ([]string, error) {
	if m == nil {
		return listTable(ctx, out, table)
	}
	var files []string
	for _, f := range m.Files {
		if f.Table == table {
			files = append(files, Join(out, f.Path))
		}
	}
	sort.Strings(files)
	return files, nil
}

// Unlisted returns the committed-looking Parquet files under out's table
// folder that out's manifest does not list, sorted: an earlier run's,
// which Files leaves out. Without a manifest there are none.
func Unlisted(ctx context.Context, out, table string) ([]string, error) {
	m, err := Manifest(ctx, out)
	if err != nil {
		return nil, err
	}
	return UnlistedOf(ctx, out, table, m)
}

// UnlistedOf is Unlisted with out's manifest already read (nil: none).
func UnlistedOf(ctx context.Context, out, table string, m *sink.Manifest) ([]string, error) {
	if m == nil {
		return nil, nil
	}
	listed := map[string]bool{}
	for _, f := range m.Files {
		listed[cleanName(Join(out, f.Path))] = true
	}
	found, err := listTable(ctx, out, table)
	if err != nil {
		return nil, err
	}
	var extra []string
	for _, f := range found {
		if !listed[cleanName(f)] {
			extra = append(extra, f)
		}
	}
	return extra, nil
}

// cleanName cleans a local path, so that "./a/b" and "a/b" compare equal;
// URIs are left as they are.
func cleanName(n string) string {
	if strings.Contains(n, "://") {
		return n
	}
	return path.Clean(n)
}

// Manifest reads out's manifest, or returns nil when there is none (a run
// that has not finished).
func Manifest(ctx context.Context, out string) (*sink.Manifest, error) {
	ok, err := hasManifest(ctx, out)
	if err != nil || !ok {
		return nil, err
	}
	return sink.ReadManifest(ctx, out)
}

// listTable lists the Parquet files under OUT/table, less ".tmp-" names
// and sub-folders.
func listTable(ctx context.Context, out, table string) ([]string, error) {
	glob := Join(Join(out, table), "*")
	fs, err := filesystem.New(ctx, glob)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", glob, err)
	}
	defer fs.Close()
	names, err := fs.List(ctx, glob)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", glob, err)
	}
	files := names[:0]
	for _, n := range names {
		if strings.HasPrefix(path.Base(n), tempPrefix) {
			continue
		}
		if st, err := os.Stat(n); err == nil && st.IsDir() { // local sub-folders
			continue
		}
		files = append(files, n)
	}
	sort.Strings(files)
	return files, nil
}

// hasManifest reports whether out holds a committed _manifest.json.
func hasManifest(ctx context.Context, out string) (bool, error) {
	p := Join(out, ManifestFile)
	fs, err := filesystem.New(ctx, p)
	if err != nil {
		return false, fmt.Errorf("look for %s: %w", p, err)
	}
	defer fs.Close()
	names, err := fs.List(ctx, p)
	if err != nil {
		return false, fmt.Errorf("look for %s: %w", p, err)
	}
	return len(names) > 0, nil
}

// ReadLabels calls fn for every row of every committed file under
// OUT/labels, file by file in name order and in row order within a file.
// Rows are decoded batchRows at a time, so memory stays bounded by one
// batch (plus, for object stores, a local spool of one file). Each row
// passed to fn owns its memory and may be kept. An error from fn stops
// the read and is returned unchanged.
func ReadLabels(ctx context.Context, out string, fn func(schemas.LabelRow) error) error {
	return readTable(ctx, out, LabelsTable, fn)
}

// ScanLabels is ReadLabels without the boxes' embeddings, which it never
// reads: they are most of a labels file's bytes, and a report that does
// not need them reads the rest about 20 times faster (bench/README.md).
// Every row's boxes have empty Embedding and EmbeddingF16.
func ScanLabels(ctx context.Context, out string, fn func(schemas.LabelRow) error) error {
	return readTable(ctx, out, LabelsTable, projected(fn))
}

// ScanLabelsFile calls fn for every row of one labels file (a name Files
// gives), in row order, as ScanLabels does: without the embeddings.
func ScanLabelsFile(ctx context.Context, file string, fn func(schemas.LabelRow) error) error {
	return readFile(ctx, file, projected(fn))
}

// ReadErrorsFile calls fn for every row of one errors file (a name Files
// gives), in row order.
func ReadErrorsFile(ctx context.Context, file string, fn func(schemas.ErrorRow) error) error {
	return readFile(ctx, file, fn)
}

// ReadErrors calls fn for every row of every committed file under
// OUT/errors, in the same order and with the same memory bound as
// ReadLabels. An error from fn stops the read and is returned unchanged.
func ReadErrors(ctx context.Context, out string, fn func(schemas.ErrorRow) error) error {
	return readTable(ctx, out, ErrorsTable, fn)
}

// projected turns a LabelRow callback into one for the projection.
func projected(fn func(schemas.LabelRow) error) func(schemas.LabelRowNoEmbeddings) error {
	return func(r schemas.LabelRowNoEmbeddings) error { return fn(r.LabelRow()) }
}

func readTable[T any](ctx context.Context, out, table string, fn func(T) error) error {
	files, err := Files(ctx, out, table)
	if err != nil {
		return err
	}
	for _, f := range files {
		if err := readFile(ctx, f, fn); err != nil {
			return err
		}
	}
	return nil
}

// readFile streams the rows of one Parquet file into fn.
func readFile[T any](ctx context.Context, name string, fn func(T) error) error {
	return sink.ReadRows(ctx, name, batchRows, func(rows []T) error {
		for _, r := range rows {
			if err := fn(r); err != nil {
				return err
			}
		}
		return nil
	})
}

// NormalisePhrase is the form phrases are counted and grouped under:
// lower-cased, trimmed, inner runs of white space collapsed to one space.
func NormalisePhrase(p string) string {
	return strings.Join(strings.Fields(strings.ToLower(p)), " ")
}

// TeacherBoxes returns the teacher's boxes among boxes, leaving out
// region proposals (schemas.KindProposal), which have no label or score.
// It returns boxes itself when there are none to leave out.
func TeacherBoxes(boxes []schemas.Box) []schemas.Box {
	for i, b := range boxes {
		if b.Kind == schemas.KindProposal {
			out := slices.Clone(boxes[:i])
			for _, b := range boxes[i+1:] {
				if b.Kind != schemas.KindProposal {
					out = append(out, b)
				}
			}
			return out
		}
	}
	return boxes
}
