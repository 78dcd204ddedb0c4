// Package report reads a finished groundbeam output folder (OUT/labels,
// OUT/errors, OUT/_manifest.json) and the source images its rows point
// at. It is the shared base of the inspect, stats, coco and odvg
// sub-packages.
//
// Paths are local paths, gs:// or s3:// URIs, opened through the Beam
// SDK's filesystem package (this package registers the three file
// systems).
package report

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
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

// MaxImageBytes is the largest image OpenImage reads into memory.
const MaxImageBytes = 64 << 20

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
	m, err := manifest(ctx, out)
	if err != nil {
		return nil, err
	}
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
	m, err := manifest(ctx, out)
	if err != nil || m == nil {
		return nil, err
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

// manifest reads out's manifest, or returns nil when there is none.
func manifest(ctx context.Context, out string) (*sink.Manifest, error) {
	ok, err := HasManifest(ctx, out)
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

// HasManifest reports whether out holds a committed _manifest.json.
func HasManifest(ctx context.Context, out string) (bool, error) {
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

// SplitSource splits a row's source into the tar shard and the member
// inside it ("gs://b/s.tar#000000001.jpg" gives "gs://b/s.tar" and
// "000000001.jpg"). A source without '#' is a plain object: member is "".
func SplitSource(source string) (shard, member string) {
	i := strings.LastIndex(source, "#")
	if i <= 0 || i == len(source)-1 {
		return source, ""
	}
	return source[:i], source[i+1:]
}

// OpenImage returns the encoded image bytes a row's source points at. For
// "SHARD#MEMBER" it streams the tar shard (plain or gzip-compressed) up to
// the member; when no shard of that name can be opened, the whole source
// is tried as an object name before giving up. A plain source is read as
// one object. Images larger than MaxImageBytes are refused.
func OpenImage(ctx context.Context, source string) ([]byte, error) {
	data, errs := OpenImages(ctx, []string{source})
	return data[0], errs[0]
}

// OpenImages is OpenImage for many sources at once: it reads every tar
// shard once, collecting all requested members in a single streaming scan
// that stops as soon as the last one is found. The results are in the
// order of sources: for each, either the bytes or an error.
func OpenImages(ctx context.Context, sources []string) ([][]byte, []error) {
	data := make([][]byte, len(sources))
	errs := make([]error, len(sources))
	err := EachImage(ctx, sources, func(i int, b []byte, err error) error {
		data[i], errs[i] = b, err
		return nil
	})
	if err != nil { // only the context's: fn never fails
		for i := range errs {
			if data[i] == nil && errs[i] == nil {
				errs[i] = err
			}
		}
	}
	return data, errs
}

// EachImage reads the images sources point at, as OpenImages does (each
// tar shard in one streaming scan), and calls fn once per source, with its
// index in sources and either its bytes or its error, as soon as they are
// known: tar members in shard order, so that only one image is held at a
// time. An error from fn, or the context's, stops it and is returned.
func EachImage(ctx context.Context, sources []string, fn func(i int, data []byte, err error) error) error {
	byShard := map[string]map[string][]int{} // shard -> member -> indices
	var shards []string
	for i, s := range sources {
		shard, member := SplitSource(s)
		if member == "" {
			if err := ctx.Err(); err != nil {
				return err
			}
			b, err := readObject(ctx, s)
			if err := fn(i, b, err); err != nil {
				return err
			}
			continue
		}
		if byShard[shard] == nil {
			byShard[shard] = map[string][]int{}
			shards = append(shards, shard)
		}
		byShard[shard][member] = append(byShard[shard][member], i)
	}
	for _, shard := range shards {
		members := byShard[shard]
		done := map[string]bool{}
		err := scanTar(ctx, shard, members, func(member string, b []byte, merr error) error {
			done[member] = true
			for _, i := range members[member] {
				var err error
				if merr != nil {
					b, err = nil, fmt.Errorf("open %s: %w", sources[i], merr)
				}
				if err := fn(i, b, err); err != nil {
					return err
				}
			}
			return nil
		})
		var cbErr callbackError
		switch {
		case errors.As(err, &cbErr):
			return cbErr.err
		case ctx.Err() != nil:
			return ctx.Err()
		}
		for member, idx := range members {
			if done[member] {
				continue
			}
			for _, i := range idx {
				var b []byte
				var oerr error
				switch {
				case errors.Is(err, errOpenShard):
					// Not a shard after all: maybe an object whose name has '#'.
					if b, oerr = readObject(ctx, sources[i]); oerr != nil {
						b, oerr = nil, fmt.Errorf("open %s: %w", sources[i], err)
					}
				case err != nil:
					oerr = fmt.Errorf("open %s: %w", sources[i], err)
				default:
					oerr = fmt.Errorf("open %s: no such member in the shard", sources[i])
				}
				if err := fn(i, b, oerr); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// callbackError marks an error returned by the caller's fn inside a scan,
// so that it is passed through unwrapped.
type callbackError struct{ err error }

// Error returns the caller's error's text.
func (c callbackError) Error() string { return c.err.Error() }

// errOpenShard is wrapped when the shard itself cannot be opened.
var errOpenShard = errors.New("cannot open shard")

// scanTar streams shard and calls visit for each wanted member, once, with
// its bytes or, for a member that cannot be used, its own error. It stops
// early once every wanted member has been visited. An error from visit
// comes back wrapped in callbackError; other errors are for the shard as a
// whole.
func scanTar(ctx context.Context, shard string, wanted map[string][]int, visit func(member string, b []byte, err error) error) error {
	fs, err := filesystem.New(ctx, shard)
	if err != nil {
		return fmt.Errorf("%w %s: %w", errOpenShard, shard, err)
	}
	defer fs.Close()
	rc, err := fs.OpenRead(ctx, shard)
	if err != nil {
		return fmt.Errorf("%w %s: %w", errOpenShard, shard, err)
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, 1<<16)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return fmt.Errorf("read shard %s: %w", shard, err)
		}
		defer zr.Close()
		r = zr
	}
	tr := tar.NewReader(r)
	visited := map[string]bool{}
	call := func(name string, b []byte, err error) error {
		visited[name] = true
		if err := visit(name, b, err); err != nil {
			return callbackError{err}
		}
		return nil
	}
	for len(visited) < len(wanted) {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read shard %s: %w", shard, err)
		}
		name := hdr.Name
		if _, ok := wanted[name]; !ok || visited[name] {
			continue
		}
		var cerr error
		switch {
		case hdr.Typeflag != tar.TypeReg:
			cerr = call(name, nil, fmt.Errorf("member %s of %s is not a regular file", name, shard))
		case hdr.Size > MaxImageBytes:
			cerr = call(name, nil, fmt.Errorf("member %s of %s is %d bytes, over the %d byte limit", name, shard, hdr.Size, MaxImageBytes))
		default:
			b, err := io.ReadAll(tr)
			if err != nil {
				return fmt.Errorf("read member %s of %s: %w", name, shard, err)
			}
			cerr = call(name, b, nil)
		}
		if cerr != nil {
			return cerr
		}
	}
	return nil
}

// readObject reads a whole object of at most MaxImageBytes.
func readObject(ctx context.Context, name string) ([]byte, error) {
	fs, err := filesystem.New(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	defer fs.Close()
	rc, err := fs.OpenRead(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, MaxImageBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(b) > MaxImageBytes {
		return nil, fmt.Errorf("read %s: over the %d byte limit", name, MaxImageBytes)
	}
	return b, nil
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
