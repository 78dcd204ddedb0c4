package manifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"
)

// lineReader splits a stream into lines of at most max bytes without
// holding more than that in memory. It strips "\r\n" and a leading UTF-8
// byte order mark.
type lineReader struct {
	br   *bufio.Reader
	max  int
	buf  []byte
	n    int  // number of the line last returned, from 1
	bom  bool // the BOM check has been done
	done bool
}

func newLineReader(r io.Reader, max int) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, min(max+2, 64<<10)), max: max}
}

// next returns the next line (valid until the following call), its number,
// and whether it was longer than the limit (the line is then empty). It
// returns io.EOF after the last line, or the reader's error.
func (l *lineReader) next() (line []byte, num int, tooLong bool, err error) {
	if l.done {
		return nil, l.n, false, io.EOF
	}
	l.buf = l.buf[:0]
	for {
		chunk, err := l.br.ReadSlice('\n')
		if !tooLong {
			if len(l.buf)+len(chunk) > l.max+2 { // +2: room for "\r\n"
				tooLong, l.buf = true, l.buf[:0]
			} else {
				l.buf = append(l.buf, chunk...)
			}
		}
		switch {
		case err == nil:
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case err == io.EOF:
			l.done = true
			if len(l.buf) == 0 && !tooLong && len(chunk) == 0 {
				return nil, l.n, false, io.EOF
			}
		default:
			l.done = true
			return nil, l.n, false, err
		}
		l.n++
		line = bytes.TrimSuffix(bytes.TrimSuffix(l.buf, []byte("\n")), []byte("\r"))
		if !l.bom {
			l.bom = true
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		if !tooLong && len(line) > l.max {
			tooLong, line = true, nil
		}
		if tooLong {
			line = nil
		}
		return line, l.n, tooLong, nil
	}
}

// JSONLReader reads a JSONL manifest: one JSON object per line, such as
//
//	{"key": "000012", "image": "gs://bucket/imgs/12.jpg", "caption": "a cat"}
//
// "url" is accepted for "image" and "text" for "caption"; a key may be a
// string or a number. Blank lines are skipped. It is not safe for
// concurrent use.
type JSONLReader struct {
	lines *lineReader
	base  string
	lim   limits
	err   error // sticky
}

// NewJSONL returns a reader for the JSONL manifest in r. base is the
// manifest's folder (see Dir), against which relative image paths are
// resolved; "" leaves them relative to the working directory. Invalid
// options make the first Next fail.
func NewJSONL(r io.Reader, base string, opts *Options) *JSONLReader {
	lim, err := opts.limits()
	j := &JSONLReader{base: base, lim: lim, err: err}
	if err == nil && r == nil {
		j.err = errors.New("manifest: nil reader")
	}
	if j.err == nil {
		j.lines = newLineReader(r, lim.maxLine)
	}
	return j
}

// Next returns the next record, io.EOF after the last one, or an error
// wrapping the reader's I/O error. Errors are sticky. A line that is too
// long or is not a JSON object comes back as a Record with a Problem.
func (j *JSONLReader) Next() (Record, error) {
	if j.err != nil {
		return Record{}, j.err
	}
	for {
		line, num, tooLong, err := j.lines.next()
		if err != nil {
			if err != io.EOF {
				err = fmt.Errorf("manifest: reading jsonl: %w", err)
			}
			j.err = err
			return Record{}, err
		}
		if tooLong {
			return Record{Key: lineKey(num), Member: lineMember(num),
				Problem: fmt.Sprintf("malformed line: longer than %d bytes", j.lim.maxLine)}, nil
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		return parseJSONLine(line, num, j.base, j.lim), nil
	}
}

func lineKey(num int) string    { return "line-" + strconv.Itoa(num) }
func lineMember(num int) string { return "line " + strconv.Itoa(num) }

// jsonLine holds the fields of a manifest line, undecoded.
type jsonLine struct {
	Key     json.RawMessage `json:"key"`
	Image   json.RawMessage `json:"image"`
	URL     json.RawMessage `json:"url"`
	Caption json.RawMessage `json:"caption"`
	Text    json.RawMessage `json:"text"`
}

func parseJSONLine(line []byte, num int, base string, lim limits) Record {
	rec := Record{Key: lineKey(num), Member: lineMember(num)}
	line = bytes.TrimSpace(line)
	if line[0] != '{' {
		rec.Problem = "malformed line: not a JSON object"
		return rec
	}
	var f jsonLine
	if err := json.Unmarshal(line, &f); err != nil {
		rec.Problem = "malformed line: invalid json: " + err.Error()
		return rec
	}
	key, keyProblem := jsonKey(f.Key)
	if key != "" {
		rec.Key = key
	}
	caption, capProblem := jsonCaption(firstPresent(f.Caption, f.Text), lim.maxCaption)
	if capProblem == "" {
		rec.Caption, rec.HasCaption = caption, true
	}
	imgField := firstPresent(f.Image, f.URL)
	var imgProblem string
	switch {
	case isAbsent(imgField):
		imgProblem = problemNoImage
	case imgField[0] != '"':
		imgProblem = "image is not a string"
	default:
		ref, err := jsonString(imgField)
		if err != nil {
			imgProblem = "malformed line: invalid image: " + err.Error()
		} else {
			rec.ImageURI, imgProblem = resolveImage(base, ref)
		}
	}
	switch {
	case keyProblem != "":
		rec.Problem = keyProblem
	case imgProblem != "":
		rec.Problem = imgProblem
	default:
		rec.Problem = capProblem
	}
	if rec.Problem != "" {
		rec.ImageURI = ""
	}
	return rec
}

// jsonString decodes a JSON string token taken from a line that
// json.Unmarshal has already validated. Tokens without escapes, in valid
// UTF-8, are copied as they are.
func jsonString(v json.RawMessage) (string, error) {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' && bytes.IndexByte(v, '\\') < 0 && utf8.Valid(v) {
		return string(v[1 : len(v)-1]), nil
	}
	var s string
	err := json.Unmarshal(v, &s)
	return s, err
}

// isAbsent reports whether a raw field is missing or null.
func isAbsent(v json.RawMessage) bool {
	return len(v) == 0 || string(v) == "null"
}

// firstPresent returns the first field that is present and not null.
func firstPresent(vs ...json.RawMessage) json.RawMessage {
	for _, v := range vs {
		if !isAbsent(v) {
			return v
		}
	}
	return nil
}

// jsonKey decodes a key field: a string or a number. An absent, null or
// empty key gives "" (the caller uses the line number).
func jsonKey(v json.RawMessage) (string, string) {
	if isAbsent(v) {
		return "", ""
	}
	switch c := v[0]; {
	case c == '"':
		s, err := jsonString(v)
		if err != nil {
			return "", "malformed line: invalid key: " + err.Error()
		}
		return s, ""
	case c == '-' || '0' <= c && c <= '9':
		return string(v), ""
	}
	return "", "key is not a string or number"
}

// jsonCaption decodes a caption field, checking the raw bytes for UTF-8
// first (encoding/json would silently replace invalid bytes).
func jsonCaption(v json.RawMessage, max int) (string, string) {
	if isAbsent(v) {
		return "", problemNoCaption
	}
	if v[0] != '"' {
		return "", "caption is not a string"
	}
	if !utf8.Valid(v) {
		return "", problemCaptionUTF8
	}
	s, err := jsonString(v)
	if err != nil {
		return "", "malformed line: invalid caption: " + err.Error()
	}
	return checkCaption([]byte(s), max)
}
