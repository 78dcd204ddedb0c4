package wds

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"
)

// entry is one tar member to write in a test shard.
type entry struct {
	name string
	body string
	typ  byte   // tar.TypeReg when zero
	link string // link target for symlinks/hardlinks
}

func reg(name, body string) entry { return entry{name: name, body: body} }

// buildTar writes entries into an in-memory tar.
func buildTar(t testing.TB, entries ...entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		hdr := &tar.Header{
			Name:     e.name,
			Typeflag: typ,
			Mode:     0o644,
			ModTime:  time.Unix(1700000000, 0),
			Linkname: e.link,
		}
		if typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("write header %q: %v", e.name, err)
		}
		if typ == tar.TypeReg {
			if _, err := io.WriteString(tw, e.body); err != nil {
				t.Fatalf("write body %q: %v", e.name, err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatalf("close tar: %v", err)
	}
	return buf.Bytes()
}

func gzipBytes(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// readAll drains a reader, returning the samples and the terminal error
// (nil for a clean io.EOF).
func readAll(t testing.TB, data []byte, opts *Options) ([]Sample, error) {
	t.Helper()
	r, err := NewReader(bytes.NewReader(data), opts)
	if err != nil {
		return nil, err
	}
	var out []Sample
	for i := 0; ; i++ {
		s, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			// Errors are sticky.
			if _, err2 := r.Next(); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("error not sticky: first %v, then %v", err, err2)
			}
			return out, err
		}
		out = append(out, s)
		if i > 100000 {
			t.Fatal("reader does not terminate")
		}
	}
}

// want describes an expected sample. An empty problem means a good sample.
type want struct {
	key, member, caption, ext, image string
	problem                          string // substring of Sample.Problem
	json                             bool   // JSON must be non-empty
}

const jpegBytes = "\xff\xd8\xff\xe0fake-jpeg\xff\xd9"

func TestReader(t *testing.T) {
	normal := []entry{
		reg("00000/000000000.jpg", jpegBytes+"0"),
		reg("00000/000000000.txt", "  a red square\n"),
		reg("00000/000000000.json", `{"url":"http://x/0.jpg","caption":"ignored","width":10}`),
		reg("00000/000000001.png", "png-1"),
		reg("00000/000000001.txt", "a blue circle"),
		reg("00000/000000001.json", `{"caption":"a blue circle"}`),
		reg("00000/000000002.JPEG", "jpeg-2"),
		reg("00000/000000002.txt", "a green stripe"),
	}
	normalWant := []want{
		{key: "00000/000000000", member: "00000/000000000.jpg", caption: "a red square", ext: "jpg", image: jpegBytes + "0", json: true},
		{key: "00000/000000001", member: "00000/000000001.png", caption: "a blue circle", ext: "png", image: "png-1", json: true},
		{key: "00000/000000002", member: "00000/000000002.JPEG", caption: "a green stripe", ext: "jpeg", image: "jpeg-2"},
	}
	full := buildTar(t, normal...)
	// Offset of the body of the last sample's first member (USTAR: one
	// 512-byte header per member, 1024-byte trailer).
	lastBody := len(buildTar(t, normal[:6]...)) - 1024 + 512

	tests := []struct {
		name    string
		data    []byte
		opts    *Options
		want    []want
		wantErr error                      // nil: clean end
		check   func(*testing.T, []Sample) // replaces want when set
	}{
		{name: "normal shard", data: full, want: normalWant},
		{name: "gzip shard", data: gzipBytes(t, full), want: normalWant},
		{
			name: "json-only captions",
			data: buildTar(t,
				reg("a.webp", "w"), reg("a.json", `{"caption":" a cat ","width":3}`),
				reg("b.jpg", "j"), reg("b.json", `{"caption":"a dog"}`)),
			want: []want{
				{key: "a", caption: "a cat", ext: "webp", image: "w", json: true},
				{key: "b", caption: "a dog", ext: "jpg", image: "j", json: true},
			},
		},
		{
			name: "txt wins over json",
			data: buildTar(t, reg("k.json", `{"caption":"from json"}`), reg("k.jpg", "j"), reg("k.txt", "from txt")),
			want: []want{{key: "k", member: "k.jpg", caption: "from txt", ext: "jpg", image: "j", json: true}},
		},
		{
			name: "invalid json ignored when txt present",
			data: buildTar(t, reg("k.jpg", "j"), reg("k.txt", "ok"), reg("k.json", `{not json`)),
			want: []want{{key: "k", caption: "ok", ext: "jpg", image: "j", json: true}},
		},
		{
			name: "invalid json without txt",
			data: buildTar(t, reg("k.jpg", "j"), reg("k.json", `{not json`)),
			want: []want{{key: "k", problem: "invalid json"}},
		},
		{
			name: "json without caption field",
			data: buildTar(t, reg("k.jpg", "j"), reg("k.json", `{"caption":42}`)),
			want: []want{{key: "k", problem: "no caption (.txt or .json caption)"}},
		},
		{
			name: "unknown extensions ignored",
			data: buildTar(t, reg("k.jpg", "j"), reg("k.cls", "3"), reg("k.npy", "xx"), reg("k.txt", "c"),
				reg("only.cls", "1"), reg("README", "hello")),
			want: []want{{key: "k", caption: "c", ext: "jpg", image: "j"}},
		},
		{
			name: "missing image",
			data: buildTar(t, reg("a.txt", "caption only"), reg("b.jpg", "j"), reg("b.txt", "b")),
			want: []want{
				{key: "a", member: "a.txt", problem: "no image member"},
				{key: "b", caption: "b", ext: "jpg", image: "j"},
			},
		},
		{
			name: "missing caption",
			data: buildTar(t, reg("a.jpg", "j")),
			want: []want{{key: "a", member: "a.jpg", problem: "no caption (.txt or .json caption)"}},
		},
		{
			name: "empty caption",
			data: buildTar(t, reg("a.jpg", "j"), reg("a.txt", " \n\t "), reg("b.jpg", "j"), reg("b.json", `{"caption":""}`)),
			want: []want{{key: "a", problem: "empty caption"}, {key: "b", problem: "empty caption"}},
		},
		{
			name: "empty image",
			data: buildTar(t, reg("a.jpg", ""), reg("a.txt", "x")),
			want: []want{{key: "a", problem: "empty image member"}},
		},
		{
			name: "caption not utf-8",
			data: buildTar(t, reg("a.jpg", "j"), reg("a.txt", "caf\xe9"), reg("b.jpg", "j"), reg("b.json", "{\"caption\":\"caf\xe9\"}")),
			want: []want{{key: "a", problem: "caption is not valid UTF-8"}, {key: "b", problem: "caption is not valid UTF-8"}},
		},
		{
			name: "unsafe names",
			data: buildTar(t,
				reg("../../etc/passwd.jpg", "j"), reg("../../etc/passwd.txt", "x"),
				reg("/abs/k.jpg", "j"),
				reg("ok.jpg", "j"), reg("ok.txt", "fine")),
			want: []want{
				{key: "etc/passwd", member: "../../etc/passwd.jpg", problem: "unsafe member name"},
				{key: "abs/k", problem: "unsafe member name"},
				{key: "ok", caption: "fine", ext: "jpg", image: "j"},
			},
		},
		{
			name: "symlink and hardlink not followed",
			data: buildTar(t,
				reg("a.jpg", "j"), entry{name: "a.txt", typ: tar.TypeSymlink, link: "/etc/passwd"},
				entry{name: "b.jpg", typ: tar.TypeLink, link: "a.jpg"}, reg("b.txt", "b"),
				entry{name: "c.fifo", typ: tar.TypeFifo},
				reg("d.jpg", "j"), reg("d.txt", "d")),
			want: []want{
				{key: "a", problem: "unsupported member type symlink"},
				{key: "b", problem: "unsupported member type hardlink"},
				{key: "c", problem: "unsupported member type fifo"},
				{key: "d", caption: "d", ext: "jpg", image: "j"},
			},
		},
		{
			name: "directories skipped",
			data: buildTar(t, entry{name: "00000/", typ: tar.TypeDir}, reg("00000/a.jpg", "j"), reg("00000/a.txt", "t")),
			want: []want{{key: "00000/a", caption: "t", ext: "jpg", image: "j"}},
		},
		{
			name: "huge member skipped",
			opts: &Options{MaxMemberBytes: 16, MaxCaptionBytes: 8},
			data: buildTar(t,
				reg("a.jpg", strings.Repeat("x", 17)), reg("a.txt", "ok"),
				reg("b.jpg", "small"), reg("b.txt", "too long caption"),
				reg("c.jpg", strings.Repeat("y", 16)), reg("c.txt", "12345678")),
			want: []want{
				{key: "a", problem: "image member larger than 16 bytes"},
				{key: "b", problem: "caption member larger than 8 bytes"},
				{key: "c", caption: "12345678", ext: "jpg", image: strings.Repeat("y", 16)},
			},
		},
		{
			name: "duplicate image",
			data: buildTar(t, reg("a.jpg", "j"), reg("a.png", "p"), reg("a.txt", "t")),
			want: []want{{key: "a", problem: "duplicate image member"}},
		},
		{
			name: "truncated tar",
			data: full[:lastBody+3], // cut inside the last sample's first member
			want: []want{
				normalWant[0],
				normalWant[1],
				{key: "00000/000000002", problem: "incomplete sample"},
			},
			wantErr: ErrCorrupt,
		},
		{
			name: "truncated gzip",
			data: func() []byte { gz := gzipBytes(t, full); return gz[:len(gz)/2] }(),
			// Where the cut lands in the tar depends on the compressor, so
			// only check that what comes out is a prefix of the shard.
			check: func(t *testing.T, got []Sample) {
				for i, s := range got {
					if i == len(got)-1 && strings.Contains(s.Problem, "incomplete sample") {
						break
					}
					checkSample(t, i, s, normalWant[i])
				}
			},
			wantErr: ErrCorrupt,
		},
		{name: "garbage short", data: []byte("this is not a tar file"), wantErr: ErrCorrupt},
		{name: "garbage long", data: bytes.Repeat([]byte("garbage!"), 300), wantErr: ErrCorrupt},
		{name: "gzip magic then garbage", data: []byte{0x1f, 0x8b, 1, 2, 3}, wantErr: ErrCorrupt},
		{name: "empty input", data: nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readAll(t, tc.data, tc.opts)
			switch {
			case tc.wantErr == nil && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.wantErr != nil && !errors.Is(err, tc.wantErr):
				t.Fatalf("error = %v, want %v", err, tc.wantErr)
			}
			if tc.check != nil {
				tc.check(t, got)
				return
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d samples, want %d: %s", len(got), len(tc.want), describe(got))
			}
			for i, w := range tc.want {
				checkSample(t, i, got[i], w)
			}
		})
	}
}

func describe(ss []Sample) string {
	var b strings.Builder
	for _, s := range ss {
		fmt.Fprintf(&b, "\n  key=%q member=%q caption=%q problem=%q", s.Key, s.Member, s.Caption, s.Problem)
	}
	return b.String()
}

func checkSample(t *testing.T, i int, s Sample, w want) {
	t.Helper()
	if s.Key != w.key {
		t.Errorf("sample %d: key %q, want %q", i, s.Key, w.key)
	}
	if w.member != "" && s.Member != w.member {
		t.Errorf("sample %d: member %q, want %q", i, s.Member, w.member)
	}
	if w.problem != "" {
		if !strings.Contains(s.Problem, w.problem) {
			t.Errorf("sample %d (%s): problem %q, want it to contain %q", i, s.Key, s.Problem, w.problem)
		}
		if s.HasCaption && s.Image != nil && s.Problem == "" {
			t.Errorf("sample %d: problem sample looks usable", i)
		}
		return
	}
	if s.Problem != "" {
		t.Errorf("sample %d (%s): unexpected problem %q", i, s.Key, s.Problem)
	}
	if !s.HasCaption || s.Caption != w.caption {
		t.Errorf("sample %d: caption %q (has=%v), want %q", i, s.Caption, s.HasCaption, w.caption)
	}
	if s.ImageExt != w.ext || string(s.Image) != w.image {
		t.Errorf("sample %d: image %q.%s, want %q.%s", i, s.Image, s.ImageExt, w.image, w.ext)
	}
	if w.json && len(s.JSON) == 0 {
		t.Errorf("sample %d: JSON missing", i)
	}
}

// failingReader returns data and then a non-EOF I/O error.
type failingReader struct {
	data []byte
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if len(f.data) == 0 {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

func TestReaderIOErrorIsNotCorrupt(t *testing.T) {
	full := buildTar(t, reg("a.jpg", "j"), reg("a.txt", "t"), reg("b.jpg", strings.Repeat("b", 4000)), reg("b.txt", "t"))
	ioErr := errors.New("network down")
	r, err := NewReader(&failingReader{data: full[:2048+512+100], err: ioErr}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := r.Next()
	if err != nil || s.Problem != "" || s.Key != "a" {
		t.Fatalf("first sample = %+v, %v", s, err)
	}
	for {
		_, err = r.Next()
		if err != nil {
			break
		}
	}
	if !errors.Is(err, ioErr) || errors.Is(err, ErrCorrupt) {
		t.Fatalf("error = %v, want the I/O error and not ErrCorrupt", err)
	}
}

func TestNewReaderOptions(t *testing.T) {
	tests := []struct {
		name string
		opts *Options
		ok   bool
	}{
		{name: "nil", ok: true},
		{name: "zero", opts: &Options{}, ok: true},
		{name: "negative member", opts: &Options{MaxMemberBytes: -1}},
		{name: "negative caption", opts: &Options{MaxCaptionBytes: -1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewReader(bytes.NewReader(nil), tc.opts)
			if (err == nil) != tc.ok {
				t.Fatalf("err = %v, want ok=%v", err, tc.ok)
			}
		})
	}
	if _, err := NewReader(nil, nil); err == nil {
		t.Fatal("nil reader accepted")
	}
}

func TestSplitKey(t *testing.T) {
	tests := []struct{ name, key, ext string }{
		{"dir/000123.jpg", "dir/000123", "jpg"},
		{"dir/000123.seg.PNG", "dir/000123", "seg.png"},
		{"a/b.c/000001.txt", "a/b.c/000001", "txt"},
		{"noext", "noext", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			k, e := splitKey(tc.name)
			if k != tc.key || e != tc.ext {
				t.Fatalf("splitKey(%q) = %q, %q; want %q, %q", tc.name, k, e, tc.key, tc.ext)
			}
		})
	}
}

func FuzzReader(f *testing.F) {
	f.Add(buildTar(f, reg("a.jpg", "j"), reg("a.txt", "cap"), reg("b.png", "p"), reg("b.json", `{"caption":"x"}`)))
	f.Add(gzipBytes(f, buildTar(f, reg("d/1.jpg", "j"), reg("d/1.txt", " t "), entry{name: "d/2.txt", typ: tar.TypeSymlink, link: "../x"})))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), &Options{MaxMemberBytes: 1 << 16, MaxCaptionBytes: 1 << 10})
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("NewReader error does not wrap ErrCorrupt: %v", err)
			}
			return
		}
		for n := 0; ; n++ {
			s, err := r.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("error does not wrap ErrCorrupt: %v", err)
				}
				return
			}
			if s.Problem == "" && (len(s.Image) == 0 || !s.HasCaption || strings.TrimSpace(s.Caption) == "") {
				t.Fatalf("sample %+v has neither image+caption nor a problem", s)
			}
			if n > len(data) {
				t.Fatalf("more samples (%d) than input bytes (%d)", n, len(data))
			}
		}
	})
}

func BenchmarkReader(b *testing.B) {
	var entries []entry
	img := strings.Repeat("\xff\xd8 fake jpeg payload ", 50_000/20)
	for i := range 200 {
		key := fmt.Sprintf("00000/%09d", i)
		entries = append(entries,
			reg(key+".jpg", img),
			reg(key+".txt", "a red square and a blue circle on a gray background"),
			reg(key+".json", fmt.Sprintf(`{"key":%q,"caption":"a red square","width":320,"height":240}`, key)))
	}
	data := buildTar(b, entries...)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(data), nil)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			s, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil || s.Problem != "" {
				b.Fatalf("sample %d: %v %q", n, err, s.Problem)
			}
			n++
		}
		if n != 200 {
			b.Fatalf("read %d samples", n)
		}
	}
}
