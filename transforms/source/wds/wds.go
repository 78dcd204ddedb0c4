// Package wds reads WebDataset shards in the layout written by img2dataset:
// a tar archive (optionally gzip-compressed) whose members are grouped into
// samples by key, for example "00000/000000012.jpg", "00000/000000012.txt"
// and "00000/000000012.json".
//
// The reader streams: it holds at most one sample's members in memory, never
// follows links, never trusts member names, and reports every unusable
// sample as a Sample with a non-empty Problem instead of failing the shard.
package wds

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"unicode/utf8"
)

// ErrCorrupt is wrapped by the error Next returns when the shard is not a
// readable tar (or gzip) stream: bad headers, truncated data, garbage bytes.
// Every complete sample before the damage is returned before this error.
var ErrCorrupt = errors.New("wds: corrupt or truncated shard")

// Default limits used when the corresponding Options field is zero.
const (
	// DefaultMaxMemberBytes is the default Options.MaxMemberBytes (64 MiB).
	DefaultMaxMemberBytes int64 = 64 << 20
	// DefaultMaxCaptionBytes is the default Options.MaxCaptionBytes (64 KiB).
	DefaultMaxCaptionBytes = 64 << 10
)

// Sample is one image-text pair read from a shard (or a reason it is unusable).
type Sample struct {
	Key        string // sample key within the shard
	Member     string // member name of the image (or of the first member when there is no image)
	Image      []byte // encoded image bytes (jpg, jpeg, png, webp)
	ImageExt   string // "jpg", "png", ...
	Caption    string // from KEY.txt (trimmed of surrounding whitespace), else the "caption" string field of KEY.json
	HasCaption bool   // true when Caption holds a usable (non-empty, valid UTF-8) caption
	JSON       []byte // raw KEY.json when present (img2dataset writes url, caption, width, ...)
	Problem    string // non-empty when the sample cannot be labelled
}

// Options limits how much of a shard the Reader holds in memory. The zero
// value (or a nil *Options) selects the defaults.
type Options struct {
	// MaxMemberBytes is the largest member (image or json) read into memory;
	// larger members are skipped and give a Problem. Default 64 MiB.
	MaxMemberBytes int64
	// MaxCaptionBytes is the largest caption (.txt member or json
	// "caption" field) accepted. Default 64 KiB.
	MaxCaptionBytes int
}

// Reader reads samples from one shard. It is not safe for concurrent use.
type Reader struct {
	src     *errReader
	tr      *tar.Reader
	maxMem  int64
	maxCap  int
	pending *tar.Header // header of the next sample's first member, body unread
	cur     *group      // sample being assembled
	err     error       // sticky terminal error (io.EOF or a corrupt/read error)
}

// group accumulates the members of one sample.
type group struct {
	key         string
	first       string // first member name
	imageMember string
	image       []byte
	imageExt    string
	hasImage    bool
	txt         []byte
	hasTxt      bool
	json        []byte
	hasJSON     bool
	problem     string // member-level problem (unsafe name, link, oversize, ...)
	relevant    bool   // saw a member that is not ignored
}

// errReader remembers a non-EOF error from the underlying reader, so that
// I/O failures are not reported as corruption.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF && e.err == nil {
		e.err = err
	}
	return n, err
}

// NewReader returns a Reader for the shard in r. A gzip-compressed shard is
// detected by its magic bytes and decompressed transparently.
func NewReader(r io.Reader, opts *Options) (*Reader, error) {
	if r == nil {
		return nil, errors.New("wds: nil reader")
	}
	maxMem, maxCap := DefaultMaxMemberBytes, DefaultMaxCaptionBytes
	if opts != nil {
		if opts.MaxMemberBytes < 0 {
			return nil, fmt.Errorf("wds: invalid MaxMemberBytes %d", opts.MaxMemberBytes)
		}
		if opts.MaxCaptionBytes < 0 {
			return nil, fmt.Errorf("wds: invalid MaxCaptionBytes %d", opts.MaxCaptionBytes)
		}
		if opts.MaxMemberBytes > 0 {
			maxMem = opts.MaxMemberBytes
		}
		if opts.MaxCaptionBytes > 0 {
			maxCap = opts.MaxCaptionBytes
		}
	}
	src := &errReader{r: r}
	br := bufio.NewReaderSize(src, 64<<10)
	var stream io.Reader = br
	magic, err := br.Peek(2)
	if err != nil && err != io.EOF {
		if src.err != nil {
			return nil, fmt.Errorf("wds: reading shard: %w", err)
		}
		return nil, fmt.Errorf("%w: %w", ErrCorrupt, err)
	}
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			if src.err != nil {
				return nil, fmt.Errorf("wds: reading gzip header: %w", src.err)
			}
			return nil, fmt.Errorf("%w: gzip header: %w", ErrCorrupt, err)
		}
		stream = zr
	}
	return &Reader{src: src, tr: tar.NewReader(stream), maxMem: maxMem, maxCap: maxCap}, nil
}

// Next returns the next sample. It returns io.EOF after the last sample. When
// the shard is damaged it first returns every sample completed before the
// damage (the sample cut by the damage comes back with a Problem), then an
// error wrapping ErrCorrupt; errors are sticky.
func (r *Reader) Next() (Sample, error) {
	if r.err != nil {
		return Sample{}, r.err
	}
	for {
		hdr := r.pending
		r.pending = nil
		if hdr == nil {
			h, err := r.tr.Next()
			if err != nil && !(errors.Is(err, tar.ErrInsecurePath) && h != nil) {
				return r.fail(err, "")
			}
			hdr = h
		}
		m, skip := classify(hdr)
		if skip {
			continue
		}
		if r.cur != nil && m.key != r.cur.key {
			r.pending = hdr
			if s, ok := r.finish(false); ok {
				return s, nil
			}
			continue
		}
		if r.cur == nil {
			r.cur = &group{key: m.key, first: hdr.Name}
		}
		if err := r.add(hdr, m); err != nil {
			return r.fail(err, hdr.Name)
		}
	}
}

// fail records the terminal error err and returns the sample in progress, if
// any, before the error itself.
func (r *Reader) fail(err error, member string) (Sample, error) {
	truncated := false
	switch {
	case err == io.EOF:
		r.err = io.EOF
	case r.src.err != nil:
		r.err = fmt.Errorf("wds: reading shard: %w", r.src.err)
		truncated = true
	default:
		if member != "" {
			r.err = fmt.Errorf("%w: member %q: %w", ErrCorrupt, member, err)
		} else {
			r.err = fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		truncated = true
	}
	if s, ok := r.finish(truncated); ok {
		return s, nil
	}
	return Sample{}, r.err
}

// member describes a classified tar header.
type member struct {
	key, ext string
	problem  string // unsafe name or unsupported type
}

// classify derives key and extension from hdr and decides whether the member
// is skipped outright (directories, pax/global headers).
func classify(hdr *tar.Header) (member, bool) {
	switch hdr.Typeflag {
	case tar.TypeDir, tar.TypeXHeader, tar.TypeXGlobalHeader,
		tar.TypeGNULongName, tar.TypeGNULongLink:
		return member{}, true
	}
	name, safe := sanitize(hdr.Name)
	key, ext := splitKey(name)
	m := member{key: key, ext: ext}
	switch {
	case !safe:
		m.problem = fmt.Sprintf("unsafe member name %q", hdr.Name)
	case hdr.Typeflag != tar.TypeReg && hdr.Typeflag != '\x00':
		m.problem = fmt.Sprintf("unsupported member type %s (%q)", typeName(hdr.Typeflag), hdr.Name)
	}
	return m, false
}

func typeName(t byte) string {
	switch t {
	case tar.TypeSymlink:
		return "symlink"
	case tar.TypeLink:
		return "hardlink"
	case tar.TypeChar:
		return "character device"
	case tar.TypeBlock:
		return "block device"
	case tar.TypeFifo:
		return "fifo"
	}
	return fmt.Sprintf("%q", t)
}

// sanitize returns a cleaned relative form of name and whether the original
// name was safe (relative, no ".." component, no NUL or backslash tricks).
func sanitize(name string) (string, bool) {
	safe := name != "" && !strings.ContainsAny(name, "\x00\\") && !strings.HasPrefix(name, "/")
	if len(name) >= 2 && name[1] == ':' {
		safe = false // Windows drive letter
	}
	parts := strings.FieldsFunc(name, func(c rune) bool { return c == '/' || c == '\\' })
	kept := parts[:0]
	for _, p := range parts {
		switch {
		case p == ".":
		case p == "..":
			safe = false
		case len(kept) == 0 && len(p) == 2 && p[1] == ':':
			safe = false
		default:
			kept = append(kept, strings.ReplaceAll(p, "\x00", "_"))
		}
	}
	clean := path.Join(kept...)
	if clean == "" || clean == "." {
		clean = "unnamed"
	}
	return clean, safe
}

// splitKey splits a cleaned member name into its WebDataset key (directory
// plus base name up to the first '.') and lower-cased extension.
func splitKey(name string) (key, ext string) {
	dir, base := path.Split(name)
	if i := strings.IndexByte(base, '.'); i >= 0 {
		return dir + base[:i], strings.ToLower(base[i+1:])
	}
	return name, ""
}

func isImageExt(ext string) bool {
	switch ext {
	case "jpg", "jpeg", "png", "webp":
		return true
	}
	return false
}

// add folds one member into the current group, reading its body only when
// needed. A non-nil error means the tar stream itself failed.
func (r *Reader) add(hdr *tar.Header, m member) error {
	g := r.cur
	if m.problem != "" {
		g.relevant = true
		if g.problem == "" {
			g.problem = m.problem
		}
		return nil
	}
	isImage, isTxt, isJSON := isImageExt(m.ext), m.ext == "txt", m.ext == "json"
	if !isImage && !isTxt && !isJSON {
		return nil // unknown extension: ignored, body skipped by tar
	}
	g.relevant = true
	if isImage && g.imageMember == "" {
		g.imageMember = hdr.Name
	}
	if g.problem != "" {
		return nil // unusable anyway: do not buffer more data
	}
	kind, limit := "json", r.maxMem
	switch {
	case isImage:
		kind = "image"
	case isTxt:
		kind, limit = "caption", int64(r.maxCap)
	}
	if (isImage && g.hasImage) || (isTxt && g.hasTxt) || (isJSON && g.hasJSON) {
		g.problem = fmt.Sprintf("duplicate %s member %q", kind, hdr.Name)
		g.image, g.txt, g.json = nil, nil, nil
		return nil
	}
	if hdr.Size > limit {
		g.problem = fmt.Sprintf("%s member larger than %d bytes", kind, limit)
		g.image, g.txt, g.json = nil, nil, nil
		return nil
	}
	data, err := readLimited(r.tr, hdr.Size, limit)
	if err != nil {
		return err
	}
	if int64(len(data)) > limit {
		g.problem = fmt.Sprintf("%s member larger than %d bytes", kind, limit)
		g.image, g.txt, g.json = nil, nil, nil
		return nil
	}
	switch {
	case isImage:
		g.image, g.imageExt, g.hasImage = data, m.ext, true
	case isTxt:
		g.txt, g.hasTxt = data, true
	default:
		g.json, g.hasJSON = data, true
	}
	return nil
}

// readLimited reads at most limit+1 bytes of the current member.
func readLimited(rd io.Reader, size, limit int64) ([]byte, error) {
	c := min(size, limit, 1<<20)
	var buf bytes.Buffer
	buf.Grow(int(max(c, 0)))
	if _, err := buf.ReadFrom(io.LimitReader(rd, limit+1)); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// finish turns the current group into a Sample. ok is false when the group
// held only ignored members. truncated marks a group cut off by a stream error.
func (r *Reader) finish(truncated bool) (s Sample, ok bool) {
	g := r.cur
	r.cur = nil
	if g == nil || !g.relevant {
		return Sample{}, false
	}
	s = Sample{Key: g.key, Member: g.first, JSON: g.json}
	if g.imageMember != "" {
		s.Member = g.imageMember
	}
	if g.problem != "" {
		s.Problem = g.problem
		s.JSON = nil
		return s, true
	}
	if truncated {
		s.Problem = "incomplete sample: shard is damaged after it"
		return s, true
	}
	s.Image, s.ImageExt = g.image, g.imageExt
	caption, capProblem := r.caption(g)
	if capProblem == "" {
		s.Caption, s.HasCaption = caption, true
	}
	switch {
	case !g.hasImage:
		s.Problem = "no image member"
	case len(g.image) == 0:
		s.Problem = "empty image member"
	default:
		s.Problem = capProblem
	}
	return s, true
}

// caption extracts the caption of g: .txt wins over the json "caption" field.
// It returns a non-empty problem when no usable caption exists.
func (r *Reader) caption(g *group) (string, string) {
	var raw []byte
	switch {
	case g.hasTxt:
		raw = g.txt
	case g.hasJSON:
		var fields map[string]json.RawMessage
		if err := json.Unmarshal(g.json, &fields); err != nil {
			return "", "invalid json: " + err.Error()
		}
		v, ok := fields["caption"]
		if !ok || len(v) == 0 || v[0] != '"' {
			return "", "no caption (.txt or .json caption)"
		}
		if !utf8.Valid(v) {
			return "", "caption is not valid UTF-8"
		}
		var c string
		if err := json.Unmarshal(v, &c); err != nil {
			return "", "invalid json caption: " + err.Error()
		}
		raw = []byte(c)
	default:
		return "", "no caption (.txt or .json caption)"
	}
	if len(raw) > r.maxCap {
		return "", fmt.Sprintf("caption larger than %d bytes", r.maxCap)
	}
	if !utf8.Valid(raw) {
		return "", "caption is not valid UTF-8"
	}
	c := strings.TrimSpace(string(raw))
	if c == "" {
		return "", "empty caption"
	}
	return c, ""
}
