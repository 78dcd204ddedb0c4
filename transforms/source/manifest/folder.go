package manifest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Names of the captions files NewFolder looks for.
const (
	CaptionsTSV   = "captions.tsv"
	CaptionsJSONL = "captions.jsonl"
)

// FS is what NewFolder needs of a file system. Apache Beam's
// filesystem.Interface satisfies it; LocalFS is a plain local one.
type FS interface {
	// List returns the files matching a glob (a '*' stays within one
	// path segment), as full names.
	List(ctx context.Context, glob string) ([]string, error)
	// OpenRead opens a file for reading.
	OpenRead(ctx context.Context, filename string) (io.ReadCloser, error)
}

// LocalFS is an FS on the local file system.
type LocalFS struct{}

// List returns the regular files matching glob (filepath.Glob syntax).
func (LocalFS) List(_ context.Context, glob string) ([]string, error) {
	names, err := filepath.Glob(glob)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", glob, err)
	}
	out := names[:0]
	for _, n := range names {
		if fi, err := os.Stat(n); err == nil && fi.Mode().IsRegular() {
			out = append(out, n)
		}
	}
	return out, nil
}

// OpenRead opens a local file.
func (LocalFS) OpenRead(_ context.Context, filename string) (io.ReadCloser, error) {
	return os.Open(filename)
}

// FolderReader reads a folder of images described by a captions file:
// captions.tsv ("file<TAB>caption" per line; an optional first line
// "file<TAB>caption" or "filename<TAB>caption" is a header) or
// captions.jsonl ({"file": ..., "caption": ...} per line; "image" or
// "filename" for "file", "text" for "caption"). File names are relative to
// the folder and may name files in subfolders.
//
// It yields one record per captions line, in file order, with ImageURI set
// to the image in the folder, then one "no caption" record for each image
// (jpg, jpeg, png, webp, gif, bmp, tif, tiff) of the folder, or of a
// subfolder named in the captions file, that no line describes. It is not
// safe for concurrent use.
type FolderReader struct {
	ctx     context.Context
	fsys    FS
	folder  string
	remote  bool
	capName string
	rc      io.ReadCloser
	lines   *lineReader
	lim     limits
	header  bool                       // the first line may be a header (tsv)
	jsonl   bool                       // captions.jsonl rather than .tsv
	listed  map[string]map[string]bool // subfolder ("" for the folder) → file names in it
	seen    map[string]bool            // file names described by a line
	rest    []string                   // images without a line, once the captions are read
	err     error
}

// NewFolder opens the folder (a local path, or gs://, s3:// through a
// Beam file system) and its captions file. It fails when the folder cannot
// be listed, holds no captions file (an error wrapping ErrNoCaptions) or
// holds both kinds. Close the reader when done.
func NewFolder(ctx context.Context, fsys FS, folder string, opts *Options) (*FolderReader, error) {
	lim, err := opts.limits()
	if err != nil {
		return nil, err
	}
	if fsys == nil {
		return nil, errors.New("manifest: nil file system")
	}
	folder = strings.TrimSuffix(folder, "/")
	if folder == "" {
		folder = "."
	}
	if strings.ContainsAny(folder, "*?[\\") {
		return nil, fmt.Errorf("manifest: folder name %q contains glob characters", folder)
	}
	_, _, _, remote := splitRemote(folder)
	r := &FolderReader{ctx: ctx, fsys: fsys, folder: folder, remote: remote, lim: lim,
		listed: map[string]map[string]bool{}, seen: map[string]bool{}}
	root, err := r.list("")
	if err != nil {
		return nil, err
	}
	hasTSV, hasJSONL := root[CaptionsTSV], root[CaptionsJSONL]
	switch {
	case hasTSV && hasJSONL:
		return nil, fmt.Errorf("manifest: folder %s has both %s and %s", folder, CaptionsTSV, CaptionsJSONL)
	case hasTSV:
		r.capName, r.header = CaptionsTSV, true
	case hasJSONL:
		r.capName, r.jsonl = CaptionsJSONL, true
	default:
		return nil, fmt.Errorf("%w: %s (want %s or %s)", ErrNoCaptions, folder, CaptionsTSV, CaptionsJSONL)
	}
	rc, err := fsys.OpenRead(ctx, r.join(r.capName))
	if err != nil {
		return nil, fmt.Errorf("manifest: open %s: %w", r.join(r.capName), err)
	}
	r.rc, r.lines = rc, newLineReader(rc, lim.maxLine)
	return r, nil
}

// join names a file of the folder.
func (r *FolderReader) join(name string) string {
	if r.remote {
		return r.folder + "/" + name
	}
	return filepath.Join(r.folder, filepath.FromSlash(name))
}

// list returns the file names in subfolder dir ("" for the folder itself),
// listing it on first use.
func (r *FolderReader) list(dir string) (map[string]bool, error) {
	if m, ok := r.listed[dir]; ok {
		return m, nil
	}
	prefix := r.folder
	if dir != "" {
		prefix = r.join(dir)
	}
	sep := "/"
	if !r.remote {
		sep = string(filepath.Separator)
	}
	names, err := r.fsys.List(r.ctx, prefix+sep+"*")
	if err != nil {
		return nil, fmt.Errorf("manifest: list %s: %w", prefix, err)
	}
	m := map[string]bool{}
	for _, n := range names {
		base, ok := strings.CutPrefix(n, prefix+sep)
		if !ok {
			base = path.Base(filepath.ToSlash(n))
		}
		if base != "" && !strings.Contains(base, "/") && !strings.Contains(base, sep) {
			m[base] = true
		}
	}
	r.listed[dir] = m
	return m, nil
}

// Close closes the captions file.
func (r *FolderReader) Close() error {
	if r.rc == nil {
		return nil
	}
	err := r.rc.Close()
	r.rc = nil
	return err
}

// Next returns the next record, io.EOF after the last one, or an error
// (reading the captions file or listing a subfolder). Errors are sticky.
func (r *FolderReader) Next() (Record, error) {
	for r.err == nil {
		if r.lines == nil {
			if len(r.rest) == 0 {
				r.err = io.EOF
				break
			}
			name := r.rest[0]
			r.rest = r.rest[1:]
			return Record{Key: fileKey(name), Member: name, Problem: problemNoCaption}, nil
		}
		line, num, tooLong, err := r.lines.next()
		if err == io.EOF {
			r.lines = nil
			r.rest = r.uncaptioned()
			continue
		}
		if err != nil {
			r.err = fmt.Errorf("manifest: reading %s: %w", r.join(r.capName), err)
			break
		}
		header := r.header
		r.header = false
		member := fmt.Sprintf("%s line %d", r.capName, num)
		if tooLong {
			return Record{Key: lineKey(num), Member: member,
				Problem: fmt.Sprintf("malformed line: longer than %d bytes", r.lim.maxLine)}, nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if header && isHeader(line) {
			continue
		}
		rec, err := r.record(line, num, member)
		if err != nil {
			r.err = err
			break
		}
		return rec, nil
	}
	return Record{}, r.err
}

func isHeader(line []byte) bool {
	f, c, ok := bytes.Cut(line, []byte("\t"))
	f = bytes.ToLower(bytes.TrimSpace(f))
	return ok && (string(f) == "file" || string(f) == "filename") && strings.EqualFold(string(bytes.TrimSpace(c)), "caption")
}

// record parses one captions line.
func (r *FolderReader) record(line []byte, num int, member string) (Record, error) {
	rec := Record{Key: lineKey(num), Member: member}
	var name, capProblem string
	var caption string
	if r.jsonl {
		var f struct {
			File     json.RawMessage `json:"file"`
			Filename json.RawMessage `json:"filename"`
			Image    json.RawMessage `json:"image"`
			Caption  json.RawMessage `json:"caption"`
			Text     json.RawMessage `json:"text"`
		}
		t := bytes.TrimSpace(line)
		if t[0] != '{' {
			rec.Problem = "malformed line: not a JSON object"
			return rec, nil
		}
		if err := json.Unmarshal(t, &f); err != nil {
			rec.Problem = "malformed line: invalid json: " + err.Error()
			return rec, nil
		}
		if fv := firstPresent(f.File, f.Filename, f.Image); !isAbsent(fv) {
			var err error
			if fv[0] != '"' {
				err = errors.New("not a string")
			} else {
				name, err = jsonString(fv)
			}
			if err != nil {
				rec.Problem = "malformed line: file is not a string"
				return rec, nil
			}
		}
		caption, capProblem = jsonCaption(firstPresent(f.Caption, f.Text), r.lim.maxCaption)
	} else {
		f, c, ok := bytes.Cut(line, []byte("\t"))
		if !ok {
			rec.Problem = "malformed line: no tab between file and caption"
			return rec, nil
		}
		name = string(f)
		caption, capProblem = checkCaption(c, r.lim.maxCaption)
	}
	if capProblem == "" {
		rec.Caption, rec.HasCaption = caption, true
	}
	name = strings.TrimSpace(name)
	if name == "" {
		rec.Problem = "malformed line: no file name"
		return rec, nil
	}
	clean, ok := safeName(name)
	if !ok {
		rec.Problem = fmt.Sprintf("unsafe file name %q", name)
		return rec, nil
	}
	rec.Key = fileKey(clean)
	dir, base := path.Split(clean)
	files, err := r.list(strings.TrimSuffix(dir, "/"))
	if err != nil {
		return Record{}, err
	}
	switch {
	case r.seen[clean]:
		rec.Problem = fmt.Sprintf("duplicate line for file %q", clean)
	case !files[base]:
		rec.Problem = "missing image"
	default:
		rec.Problem = capProblem
	}
	r.seen[clean] = true
	if rec.Problem == "" {
		rec.ImageURI = r.join(clean)
	}
	return rec, nil
}

// uncaptioned lists the images of the listed folders that no line named.
func (r *FolderReader) uncaptioned() []string {
	var out []string
	for dir, files := range r.listed {
		for f := range files {
			name := f
			if dir != "" {
				name = dir + "/" + f
			}
			if isImageFile(f) && !r.seen[name] {
				out = append(out, name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// safeName cleans a file name of a captions line; it is unsafe when it is
// absolute, leaves the folder, or holds NUL or backslash characters.
func safeName(name string) (string, bool) {
	if strings.ContainsAny(name, "\x00\\") || strings.HasPrefix(name, "/") || strings.Contains(name, "://") {
		return "", false
	}
	clean := path.Clean(name)
	if clean == "." || clean == ".." || strings.HasPrefix(clean, "../") {
		return "", false
	}
	return clean, true
}

// fileKey is a file name without its extension.
func fileKey(name string) string {
	return strings.TrimSuffix(name, path.Ext(name))
}

func isImageFile(name string) bool {
	switch strings.ToLower(strings.TrimPrefix(path.Ext(name), ".")) {
	case "jpg", "jpeg", "png", "webp", "gif", "bmp", "tif", "tiff":
		return true
	}
	return false
}
