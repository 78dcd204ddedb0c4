package manifest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// want describes an expected record. An empty problem means a usable one.
type want struct {
	key, member, caption, uri, image string
	problem                          string // substring of Record.Problem
	hasCaption                       bool   // checked when problem is set
}

func checkRecord(t *testing.T, i int, r Record, w want) {
	t.Helper()
	if r.Key != w.key {
		t.Errorf("record %d: key %q, want %q", i, r.Key, w.key)
	}
	if w.member != "" && r.Member != w.member {
		t.Errorf("record %d: member %q, want %q", i, r.Member, w.member)
	}
	if w.problem != "" {
		if !strings.Contains(r.Problem, w.problem) {
			t.Errorf("record %d (%s): problem %q, want it to contain %q", i, r.Key, r.Problem, w.problem)
		}
		if r.HasCaption != w.hasCaption {
			t.Errorf("record %d (%s): HasCaption %v, want %v", i, r.Key, r.HasCaption, w.hasCaption)
		}
		if r.Image != nil || r.ImageURI != "" {
			t.Errorf("record %d (%s): problem record keeps its image %q/%q", i, r.Key, r.Image, r.ImageURI)
		}
		return
	}
	if r.Problem != "" {
		t.Errorf("record %d (%s): unexpected problem %q", i, r.Key, r.Problem)
	}
	if !r.HasCaption || r.Caption != w.caption {
		t.Errorf("record %d: caption %q (has=%v), want %q", i, r.Caption, r.HasCaption, w.caption)
	}
	if r.ImageURI != w.uri || string(r.Image) != w.image {
		t.Errorf("record %d: image %q uri %q, want %q uri %q", i, r.Image, r.ImageURI, w.image, w.uri)
	}
}

func describe(rs []Record) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "\n  key=%q member=%q caption=%q uri=%q problem=%q", r.Key, r.Member, r.Caption, r.ImageURI, r.Problem)
	}
	return b.String()
}

// readJSONL drains a JSONL reader; err is nil for a clean io.EOF.
func readJSONL(t testing.TB, r io.Reader, base string, opts *Options) ([]Record, error) {
	t.Helper()
	j := NewJSONL(r, base, opts)
	var out []Record
	for {
		rec, err := j.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			if _, err2 := j.Next(); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("error not sticky: first %v, then %v", err, err2)
			}
			return out, err
		}
		out = append(out, rec)
	}
}

func TestJSONL(t *testing.T) {
	long := strings.Repeat("x", 100)
	exact := `{"key":"a","image":"a.jpg","caption":"c"}`
	tests := []struct {
		name  string
		input string
		base  string
		opts  *Options
		want  []want
	}{
		{
			name: "normal",
			base: "gs://bkt/manifests",
			input: `{"key":"a","image":"gs://bkt/imgs/a.jpg","caption":" a red square "}
{"key":"b","image":"imgs/b.jpg","caption":"a blue circle"}
{"key":7,"url":"s3://b/c.png","text":"a green stripe"}
`,
			want: []want{
				{key: "a", member: "line 1", caption: "a red square", uri: "gs://bkt/imgs/a.jpg"},
				{key: "b", member: "line 2", caption: "a blue circle", uri: "gs://bkt/manifests/imgs/b.jpg"},
				{key: "7", member: "line 3", caption: "a green stripe", uri: "s3://b/c.png"},
			},
		},
		{
			name:  "relative and absolute local paths",
			base:  "/data/set",
			input: "{\"image\":\"x/a.jpg\",\"caption\":\"c\"}\r\n{\"image\":\"/srv/b.jpg\",\"caption\":\"d\"}",
			want: []want{
				{key: "line-1", caption: "c", uri: "/data/set/x/a.jpg"},
				{key: "line-2", caption: "d", uri: "/srv/b.jpg"},
			},
		},
		{
			name:  "bom, blank lines and no final newline",
			input: "\xef\xbb\xbf{\"key\":\"a\",\"image\":\"a.jpg\",\"caption\":\"c\"}\n\n   \n{\"key\":\"b\",\"image\":\"b.jpg\",\"caption\":\"d\"}",
			want: []want{
				{key: "a", member: "line 1", caption: "c", uri: "a.jpg"},
				{key: "b", member: "line 4", caption: "d", uri: "b.jpg"},
			},
		},
		{
			name:  "image wins over url, caption over text",
			input: `{"key":"a","image":"a.jpg","url":"b.jpg","caption":"c","text":"t"}` + "\n" + `{"key":"b","image":null,"url":"b.jpg","caption":null,"text":"t"}`,
			want:  []want{{key: "a", caption: "c", uri: "a.jpg"}, {key: "b", caption: "t", uri: "b.jpg"}},
		},
		{
			name:  "no key",
			input: `{"image":"a.jpg","caption":"c"}` + "\n" + `{"key":"","image":"a.jpg","caption":"c"}` + "\n" + `{"key":null,"image":"a.jpg","caption":"c"}`,
			want:  []want{{key: "line-1", caption: "c", uri: "a.jpg"}, {key: "line-2", caption: "c", uri: "a.jpg"}, {key: "line-3", caption: "c", uri: "a.jpg"}},
		},
		{
			name:  "bad key type",
			input: `{"key":true,"image":"a.jpg","caption":"c"}`,
			want:  []want{{key: "line-1", problem: "key is not a string or number", hasCaption: true}},
		},
		{
			name:  "missing caption",
			input: `{"key":"a","image":"a.jpg"}` + "\n" + `{"key":"b","image":"b.jpg","caption":null}`,
			want:  []want{{key: "a", problem: "no caption"}, {key: "b", problem: "no caption"}},
		},
		{
			name:  "caption not a string",
			input: `{"key":"a","image":"a.jpg","caption":42}`,
			want:  []want{{key: "a", problem: "caption is not a string"}},
		},
		{
			name:  "empty caption",
			input: `{"key":"a","image":"a.jpg","caption":""}` + "\n" + `{"key":"b","image":"b.jpg","caption":" \t\n "}`,
			want:  []want{{key: "a", problem: "empty caption"}, {key: "b", problem: "empty caption"}},
		},
		{
			name:  "caption not utf-8",
			input: "{\"key\":\"a\",\"image\":\"a.jpg\",\"caption\":\"caf\xe9\"}",
			want:  []want{{key: "a", problem: "caption is not valid UTF-8"}},
		},
		{
			name:  "caption too long",
			opts:  &Options{MaxCaptionBytes: 8},
			input: `{"key":"a","image":"a.jpg","caption":"123456789"}` + "\n" + `{"key":"b","image":"b.jpg","caption":"12345678"}`,
			want:  []want{{key: "a", problem: "caption larger than 8 bytes"}, {key: "b", caption: "12345678", uri: "b.jpg"}},
		},
		{
			name:  "no image and no url",
			input: `{"key":"a","caption":"c"}` + "\n" + `{"key":"b","image":"","caption":"c"}` + "\n" + `{"key":"c","url":null,"caption":"c"}`,
			want: []want{
				{key: "a", problem: "no image and no url", hasCaption: true},
				{key: "b", problem: "no image and no url", hasCaption: true},
				{key: "c", problem: "no image and no url", hasCaption: true},
			},
		},
		{
			name:  "no image and no caption",
			input: `{"key":"a"}`,
			want:  []want{{key: "a", problem: "no image and no url"}},
		},
		{
			name:  "image not a string",
			input: `{"key":"a","image":["a.jpg"],"caption":"c"}`,
			want:  []want{{key: "a", problem: "image is not a string", hasCaption: true}},
		},
		{
			name:  "http url",
			input: `{"key":"a","url":"http://example.com/a.jpg","caption":"c"}` + "\n" + `{"key":"b","url":"https://storage.googleapis.com/bkt/b.jpg","caption":"c"}`,
			want: []want{
				{key: "a", problem: "url scheme not supported: http", hasCaption: true},
				{key: "b", caption: "c", uri: "gs://bkt/b.jpg"},
			},
		},
		{
			name:  "line too long",
			opts:  &Options{MaxLineBytes: 64},
			input: `{"key":"a","image":"a.jpg","caption":"` + long + `"}` + "\n" + `{"key":"b","image":"b.jpg","caption":"ok"}` + "\n",
			want: []want{
				{key: "line-1", member: "line 1", problem: "malformed line: longer than 64 bytes"},
				{key: "b", member: "line 2", caption: "ok", uri: "b.jpg"},
			},
		},
		{
			name:  "line at the limit",
			opts:  &Options{MaxLineBytes: len(exact)},
			input: exact + "\r\n" + exact + "\n" + exact,
			want:  []want{{key: "a", caption: "c", uri: "a.jpg"}, {key: "a", caption: "c", uri: "a.jpg"}, {key: "a", caption: "c", uri: "a.jpg"}},
		},
		{
			name:  "line one byte over the limit",
			opts:  &Options{MaxLineBytes: len(exact) - 1},
			input: exact + "\r\n" + exact,
			want:  []want{{key: "line-1", problem: "longer than"}, {key: "line-2", problem: "longer than"}},
		},
		{
			name:  "long last line without newline",
			opts:  &Options{MaxLineBytes: 20},
			input: `{"key":"a","image":"a.jpg","caption":"` + long + `"}`,
			want:  []want{{key: "line-1", problem: "longer than 20 bytes"}},
		},
		{
			name:  "invalid json",
			input: `{"key":"a","image":` + "\n" + `not json` + "\n" + `[1,2]` + "\n" + `null` + "\n" + `{"key":"ok","image":"a.jpg","caption":"c"}`,
			want: []want{
				{key: "line-1", problem: "malformed line: invalid json"},
				{key: "line-2", problem: "malformed line: not a JSON object"},
				{key: "line-3", problem: "malformed line: not a JSON object"},
				{key: "line-4", problem: "malformed line: not a JSON object"},
				{key: "ok", caption: "c", uri: "a.jpg"},
			},
		},
		{name: "empty input", input: ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := readJSONL(t, strings.NewReader(tc.input), tc.base, tc.opts)
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d records, want %d: %s", len(got), len(tc.want), describe(got))
			}
			for i, w := range tc.want {
				checkRecord(t, i, got[i], w)
			}
		})
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

func TestJSONLReadError(t *testing.T) {
	ioErr := errors.New("network down")
	data := `{"key":"a","image":"a.jpg","caption":"c"}` + "\n" + `{"key":"b","ima`
	got, err := readJSONL(t, &failingReader{data: []byte(data), err: ioErr}, "", nil)
	if !errors.Is(err, ioErr) {
		t.Fatalf("error = %v, want %v", err, ioErr)
	}
	if len(got) != 1 || got[0].Key != "a" {
		t.Fatalf("records before the error: %s", describe(got))
	}
}

// jsonlManifest builds a JSONL manifest of n lines.
func jsonlManifest(n int) []byte {
	var b bytes.Buffer
	for i := range n {
		fmt.Fprintf(&b, `{"key":"%09d","image":"gs://bucket/images/%09d.jpg","caption":"a red square and a blue circle on a gray background, photo %d","width":320,"height":240}`+"\n", i, i, i)
	}
	return b.Bytes()
}

func FuzzJSONL(f *testing.F) {
	f.Add([]byte(`{"key":"a","image":"gs://b/a.jpg","caption":"a cat"}`+"\n"+`{"url":"x.jpg","text":"dog"}`), 0)
	f.Add([]byte("\xef\xbb\xbf{\"key\":1,\"image\":\"../a.jpg\",\"caption\":\"caf\xe9\"}\r\n\n[1]\nnull\n{"), 16)
	f.Add([]byte(`{"key":"a","image":"http://x/a.jpg","caption":""}`+"\n"+`{"key":{},"image":7,"caption":[]}`), 40)
	f.Add(jsonlManifest(3), 64)
	f.Add([]byte(strings.Repeat("{", 300)), 8)
	f.Fuzz(func(t *testing.T, data []byte, maxLine int) {
		maxLine = maxLine&0xfff + 1
		opts := &Options{MaxLineBytes: maxLine, MaxCaptionBytes: 64}
		j := NewJSONL(bytes.NewReader(data), "gs://bkt/dir", opts)
		lines := bytes.Count(data, []byte("\n")) + 1
		for n := 0; ; n++ {
			rec, err := j.Next()
			if err == io.EOF {
				return
			}
			if err != nil {
				t.Fatalf("error from an in-memory reader: %v", err)
			}
			if n >= lines {
				t.Fatalf("more records (%d) than lines (%d)", n+1, lines)
			}
			if rec.Key == "" || !strings.HasPrefix(rec.Member, "line ") {
				t.Fatalf("record without key or member: %+v", rec)
			}
			if rec.Problem == "" {
				if !rec.HasCaption || rec.Caption == "" || strings.TrimSpace(rec.Caption) != rec.Caption ||
					len(rec.Caption) > 64 || !utf8.ValidString(rec.Caption) {
					t.Fatalf("usable record with a bad caption: %+v", rec)
				}
				if rec.ImageURI == "" && rec.Image == nil {
					t.Fatalf("usable record without an image: %+v", rec)
				}
				if strings.HasPrefix(rec.ImageURI, "http") || strings.Contains(rec.ImageURI, "\x00") {
					t.Fatalf("usable record with a bad image uri: %+v", rec)
				}
				if strings.HasPrefix(rec.ImageURI, "gs://") && strings.HasPrefix(rec.ImageURI[len("gs://"):], "/") {
					t.Fatalf("uri without bucket: %q", rec.ImageURI)
				}
			} else if rec.ImageURI != "" || rec.Image != nil {
				t.Fatalf("problem record keeps an image: %+v", rec)
			}
		}
	})
}

func BenchmarkJSONL(b *testing.B) {
	const n = 10000
	data := jsonlManifest(n)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		j := NewJSONL(bytes.NewReader(data), "gs://bucket/m", nil)
		got := 0
		for {
			rec, err := j.Next()
			if err == io.EOF {
				break
			}
			if err != nil || rec.Problem != "" {
				b.Fatalf("record %d: %v %q", got, err, rec.Problem)
			}
			got++
		}
		if got != n {
			b.Fatalf("read %d records", got)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "records/s")
}
