package manifest

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/parquet-go/parquet-go"
)

// Column names ReadParquet looks for, in order of preference.
var (
	captionColumns = [][]string{{"caption"}, {"text"}}
	urlColumns     = [][]string{{"url"}}
	imageColumns   = [][]string{{"jpg"}, {"png"}, {"webp"}, {"image"}, {"bytes"}, {"image", "bytes"}}
)

// column is a leaf column ReadParquet reads.
type column struct {
	name  string
	index int
	kind  parquet.Kind
}

// parquetColumns are the columns of one file that ReadParquet uses; a nil
// entry is absent.
type parquetColumns struct {
	key, caption, url, image, status, errMsg *column
}

func (c *parquetColumns) list() []*column {
	var out []*column
	for _, col := range []*column{c.key, c.caption, c.url, c.image, c.status, c.errMsg} {
		if col != nil {
			out = append(out, col)
		}
	}
	return out
}

// findColumn returns the first of the candidate paths that the schema has,
// checking that it is a flat column of one of the allowed kinds.
func findColumn(s *parquet.Schema, candidates [][]string, kinds ...parquet.Kind) (*column, error) {
	for _, p := range candidates {
		leaf, ok := s.Lookup(p...)
		if !ok {
			continue
		}
		name := strings.Join(p, ".")
		if leaf.MaxRepetitionLevel > 0 {
			return nil, fmt.Errorf("%w: column %s is repeated", ErrSchema, name)
		}
		kind := leaf.Node.Type().Kind()
		for _, k := range kinds {
			if kind == k {
				return &column{name: name, index: leaf.ColumnIndex, kind: kind}, nil
			}
		}
		return nil, fmt.Errorf("%w: column %s has type %s", ErrSchema, name, leaf.Node.Type())
	}
	return nil, nil
}

func pickColumns(s *parquet.Schema) (*parquetColumns, error) {
	var c parquetColumns
	var err error
	str := parquet.ByteArray
	if c.key, err = findColumn(s, [][]string{{"key"}}, str, parquet.Int32, parquet.Int64); err != nil {
		return nil, err
	}
	if c.caption, err = findColumn(s, captionColumns, str); err != nil {
		return nil, err
	}
	if c.url, err = findColumn(s, urlColumns, str); err != nil {
		return nil, err
	}
	if c.image, err = findColumn(s, imageColumns, str); err != nil {
		return nil, err
	}
	if c.status, err = findColumn(s, [][]string{{"status"}}, str); err != nil {
		return nil, err
	}
	if c.errMsg, err = findColumn(s, [][]string{{"error_message"}}, str); err != nil {
		return nil, err
	}
	switch {
	case c.caption == nil:
		return nil, fmt.Errorf("%w: no caption (or text) column", ErrSchema)
	case c.url == nil && c.image == nil:
		return nil, fmt.Errorf("%w: no url or image bytes (jpg, png, webp, image, bytes) column", ErrSchema)
	}
	return &c, nil
}

// errColumn marks errors met while reading column data.
var errColumn = errors.New("column")

// errReaderAt remembers the first I/O error of the underlying reader, so
// that a failing read is not reported as corrupt data.
type errReaderAt struct {
	r    io.ReaderAt
	size int64
	mu   sync.Mutex
	err  error
}

func (e *errReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > e.size {
		// A damaged footer points outside the file: corrupt, not I/O.
		return 0, fmt.Errorf("offset %d outside the file (%d bytes)", off, e.size)
	}
	n, err := e.r.ReadAt(p, off)
	if err != nil && err != io.EOF {
		e.mu.Lock()
		if e.err == nil {
			e.err = err
		}
		e.mu.Unlock()
	}
	return n, err
}

// wrap classifies err: an I/O error of the reader, else ErrCorrupt.
func (e *errReaderAt) wrap(err error) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.err != nil {
		return fmt.Errorf("manifest: reading parquet: %w", e.err)
	}
	return fmt.Errorf("%w: %w", ErrCorrupt, err)
}

// columnReader reads the values of one column chunk one at a time. A value
// it returns stays valid until the reader refills its buffer, that is until
// every value read before it has been used: callers copy what they keep.
type columnReader struct {
	col  *column
	r    parquet.ColumnChunkValueReader
	buf  []parquet.Value
	pos  int
	n    int
	done bool
}

func (c *columnReader) next() (parquet.Value, error) {
	if c.pos == c.n {
		if c.done {
			return parquet.Value{}, fmt.Errorf("%w %s: fewer values than rows", errColumn, c.col.name)
		}
		n, err := c.r.ReadValues(c.buf)
		c.pos, c.n = 0, n
		if err == io.EOF {
			c.done = true
		} else if err != nil {
			return parquet.Value{}, fmt.Errorf("%w %s: %w", errColumn, c.col.name, err)
		}
		if n == 0 {
			return c.next()
		}
	}
	v := c.buf[c.pos]
	c.pos++
	return v, nil
}

// ReadParquet reads an img2dataset-style Parquet shard and calls fn for
// each row, in order. The file needs a caption (or text) column and either
// a url column or an image bytes column (jpg, png, webp, image, bytes, or
// image.bytes as Hugging Face writes it); a key column (string or integer)
// is used when present, else the key is "row-N". When both image bytes and
// a url are present, non-empty bytes win and the url is only a fallback.
// An img2dataset status column other than "success" gives a Problem.
//
// Only the columns named above are read, one row group at a time and one
// page per column at a time, so memory stays near one page per column.
// base is the manifest's folder for relative image paths (see Dir).
//
// A file that is not Parquet or is damaged gives an error wrapping
// ErrCorrupt, one without the needed columns an error wrapping ErrSchema;
// records before damage have been passed to fn. An error returned by fn
// stops the read and is returned as is.
func ReadParquet(r io.ReaderAt, size int64, base string, opts *Options, fn func(Record) error) (err error) {
	lim, err := opts.limits()
	if err != nil {
		return err
	}
	if r == nil || fn == nil {
		return errors.New("manifest: nil reader or callback")
	}
	src := &errReaderAt{r: r, size: size}
	if err := checkFooter(src, size); err != nil {
		return src.wrap(err)
	}
	// parquet-go panics on some malformed files (a LIST type on a leaf,
	// inconsistent levels): such a file is corrupt, not a reason to crash
	// the worker. Panics of fn are not ours to hide.
	inFn := false
	defer func() {
		if p := recover(); p != nil {
			if inFn {
				panic(p)
			}
			err = src.wrap(fmt.Errorf("parquet reader panicked: %v", p))
		}
	}()
	call := func(rec Record) error {
		inFn = true
		err := fn(rec)
		inFn = false
		return err
	}
	f, err := parquet.OpenFile(src, size, parquet.SkipPageIndex(true), parquet.SkipBloomFilters(true), parquet.ReadBufferSize(256<<10))
	if err != nil {
		return src.wrap(fmt.Errorf("open parquet: %w", err))
	}
	cols, err := pickColumns(f.Schema())
	if err != nil {
		return err
	}
	row := int64(0)
	for g, rg := range f.RowGroups() {
		n, err := readRowGroup(rg, cols, row, base, lim, call)
		row += n
		if err != nil {
			if errors.Is(err, errColumn) {
				return src.wrap(fmt.Errorf("row group %d: %w", g, err))
			}
			return err
		}
	}
	return nil
}

// checkFooter reads a Parquet file's last 8 bytes (footer length, magic)
// and refuses a footer longer than the file before parquet-go allocates a
// buffer of the size it claims (up to 4 GiB).
func checkFooter(r io.ReaderAt, size int64) error {
	if size < 12 {
		return fmt.Errorf("%d bytes: too short for parquet", size)
	}
	var tail [8]byte
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return fmt.Errorf("read parquet footer: %w", err)
	}
	if m := string(tail[4:]); m != "PAR1" && m != "PARE" {
		return fmt.Errorf("invalid magic footer of parquet file: %q", m)
	}
	if n := int64(binary.LittleEndian.Uint32(tail[:4])); n > size-12 {
		return fmt.Errorf("parquet footer of %d bytes in a file of %d", n, size)
	}
	return nil
}

// readRowGroup reads one row group whose first row is number first; it
// returns the number of rows passed to fn.
func readRowGroup(rg parquet.RowGroup, cols *parquetColumns, first int64, base string, lim limits, fn func(Record) error) (int64, error) {
	chunks := rg.ColumnChunks()
	readers := map[*column]*columnReader{}
	defer func() {
		for _, cr := range readers {
			cr.r.Close()
		}
	}()
	for _, col := range cols.list() {
		if col.index >= len(chunks) {
			return 0, fmt.Errorf("%w %s: missing from the row group", errColumn, col.name)
		}
		size := 64
		if col == cols.image {
			size = 8
		}
		readers[col] = &columnReader{col: col, r: parquet.NewColumnChunkValueReader(chunks[col.index]), buf: make([]parquet.Value, size)}
	}
	value := func(col *column) (parquet.Value, error) {
		if col == nil {
			return parquet.NullValue(), nil
		}
		return readers[col].next()
	}
	total := rg.NumRows()
	for i := int64(0); i < total; i++ {
		var vals [6]parquet.Value
		for j, col := range []*column{cols.key, cols.caption, cols.url, cols.image, cols.status, cols.errMsg} {
			v, err := value(col)
			if err != nil {
				return i, err
			}
			vals[j] = v
		}
		rec := parquetRecord(first+i, vals, base, lim)
		if err := fn(rec); err != nil {
			return i + 1, err
		}
	}
	return total, nil
}

// parquetRecord builds the record of row num from the values of the key,
// caption, url, image, status and error_message columns.
func parquetRecord(num int64, v [6]parquet.Value, base string, lim limits) Record {
	key, caption, url, image, status, errMsg := v[0], v[1], v[2], v[3], v[4], v[5]
	rec := Record{Key: "row-" + strconv.FormatInt(num, 10), Member: "row " + strconv.FormatInt(num, 10)}
	if !key.IsNull() {
		var k string
		switch key.Kind() {
		case parquet.Int32:
			k = strconv.FormatInt(int64(key.Int32()), 10)
		case parquet.Int64:
			k = strconv.FormatInt(key.Int64(), 10)
		default:
			k = string(key.ByteArray())
		}
		if k != "" {
			rec.Key = k
		}
	}
	capProblem := problemNoCaption
	if !caption.IsNull() {
		var c string
		if c, capProblem = checkCaption(caption.ByteArray(), lim.maxCaption); capProblem == "" {
			rec.Caption, rec.HasCaption = c, true
		}
	}
	var imgProblem string
	switch img := image.ByteArray(); {
	case !image.IsNull() && len(img) > 0:
		if int64(len(img)) > lim.maxImage {
			imgProblem = fmt.Sprintf("image larger than %d bytes", lim.maxImage)
		} else {
			rec.Image = append([]byte(nil), img...)
		}
	case !url.IsNull() && len(url.ByteArray()) > 0:
		rec.ImageURI, imgProblem = resolveImage(base, string(url.ByteArray()))
	default:
		imgProblem = problemNoImage
	}
	if s := string(status.ByteArray()); !status.IsNull() && s != "" && s != "success" {
		imgProblem = "img2dataset status " + s
		if m := string(errMsg.ByteArray()); !errMsg.IsNull() && m != "" {
			imgProblem += ": " + m
		}
	}
	switch {
	case imgProblem != "":
		rec.Problem = imgProblem
	default:
		rec.Problem = capProblem
	}
	if rec.Problem != "" {
		rec.Image, rec.ImageURI = nil, ""
	}
	return rec
}
