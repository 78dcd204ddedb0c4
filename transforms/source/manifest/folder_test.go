package manifest

import (
	"context"
	"errors"
	"io"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// makeFolder writes files (name → content) under a new temp folder.
func makeFolder(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func readFolder(t *testing.T, fsys FS, dir string, opts *Options) ([]Record, error) {
	t.Helper()
	r, err := NewFolder(context.Background(), fsys, dir, opts)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err := r.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	var out []Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
}

func TestFolder(t *testing.T) {
	tests := []struct {
		name    string
		files   map[string]string
		opts    *Options
		want    func(dir string) []want
		wantErr error // nil: no error; errAny: any error
	}{
		{
			name: "tsv",
			files: map[string]string{
				"captions.tsv": "file\tcaption\na.jpg\t a red square \nsub/b.png\ta blue\tcircle\n",
				"a.jpg":        "j", "sub/b.png": "p", "notes.txt": "x",
			},
			want: func(dir string) []want {
				return []want{
					{key: "a", member: "captions.tsv line 2", caption: "a red square", uri: filepath.Join(dir, "a.jpg")},
					{key: "sub/b", member: "captions.tsv line 3", caption: "a blue\tcircle", uri: filepath.Join(dir, "sub", "b.png")},
				}
			},
		},
		{
			name: "jsonl",
			files: map[string]string{
				"captions.jsonl": `{"file":"a.jpg","caption":"cap a"}` + "\n" + `{"image":"b.webp","text":"cap b"}` + "\n",
				"a.jpg":          "j", "b.webp": "w",
			},
			want: func(dir string) []want {
				return []want{
					{key: "a", member: "captions.jsonl line 1", caption: "cap a", uri: filepath.Join(dir, "a.jpg")},
					{key: "b", member: "captions.jsonl line 2", caption: "cap b", uri: filepath.Join(dir, "b.webp")},
				}
			},
		},
		{
			name: "missing image",
			files: map[string]string{
				"captions.tsv": "a.jpg\tcap a\ngone.jpg\tcap gone\nsub/gone.jpg\tcap\n",
				"a.jpg":        "j",
			},
			want: func(dir string) []want {
				return []want{
					{key: "a", caption: "cap a", uri: filepath.Join(dir, "a.jpg")},
					{key: "gone", problem: "missing image", hasCaption: true},
					{key: "sub/gone", problem: "missing image", hasCaption: true},
				}
			},
		},
		{
			name: "images without caption lines",
			files: map[string]string{
				"captions.tsv": "a.jpg\tcap a\nsub/c.jpg\tcap c\n",
				"a.jpg":        "j", "z.png": "p", "b.JPEG": "j", "readme.md": "r", "sub/c.jpg": "j", "sub/d.jpg": "j",
			},
			want: func(dir string) []want {
				return []want{
					{key: "a", caption: "cap a", uri: filepath.Join(dir, "a.jpg")},
					{key: "sub/c", caption: "cap c", uri: filepath.Join(dir, "sub", "c.jpg")},
					{key: "b", member: "b.JPEG", problem: "no caption"},
					{key: "sub/d", member: "sub/d.jpg", problem: "no caption"},
					{key: "z", member: "z.png", problem: "no caption"},
				}
			},
		},
		{
			name: "caption problems",
			opts: &Options{MaxCaptionBytes: 8},
			files: map[string]string{
				"captions.tsv": "a.jpg\t\nb.jpg\t   \nc.jpg\tcaf\xe9\nd.jpg\t123456789\n",
				"a.jpg":        "j", "b.jpg": "j", "c.jpg": "j", "d.jpg": "j",
			},
			want: func(string) []want {
				return []want{
					{key: "a", problem: "empty caption"},
					{key: "b", problem: "empty caption"},
					{key: "c", problem: "caption is not valid UTF-8"},
					{key: "d", problem: "caption larger than 8 bytes"},
				}
			},
		},
		{
			name: "jsonl problems",
			files: map[string]string{
				"captions.jsonl": `{"file":"a.jpg"}` + "\n" + `{"caption":"c"}` + "\n" + `{"file":3,"caption":"c"}` + "\n" + `nope` + "\n" + `{"file":"a.jpg",` + "\n",
				"a.jpg":          "j",
			},
			want: func(string) []want {
				return []want{
					{key: "a", problem: "no caption"},
					{key: "line-2", problem: "malformed line: no file name", hasCaption: true},
					{key: "line-3", problem: "malformed line: file is not a string"},
					{key: "line-4", problem: "malformed line: not a JSON object"},
					{key: "line-5", problem: "malformed line: invalid json"},
				}
			},
		},
		{
			name: "malformed and unsafe lines",
			opts: &Options{MaxLineBytes: 32},
			files: map[string]string{
				"captions.tsv": "no tab here\n\tno file\n../up.jpg\tc\n/etc/passwd\tc\nx/../../y.jpg\tc\n" + strings.Repeat("l", 40) + "\tc\na.jpg\tok\na.jpg\tagain\n",
				"a.jpg":        "j",
			},
			want: func(dir string) []want {
				return []want{
					{key: "line-1", problem: "malformed line: no tab"},
					{key: "line-2", problem: "malformed line: no file name", hasCaption: true},
					{key: "line-3", problem: "unsafe file name", hasCaption: true},
					{key: "line-4", problem: "unsafe file name", hasCaption: true},
					{key: "line-5", problem: "unsafe file name", hasCaption: true},
					{key: "line-6", problem: "malformed line: longer than 32 bytes"},
					{key: "a", caption: "ok", uri: filepath.Join(dir, "a.jpg")},
					{key: "a", problem: "duplicate line", hasCaption: true},
				}
			},
		},
		{name: "no captions file", files: map[string]string{"a.jpg": "j"}, wantErr: ErrNoCaptions},
		{name: "both captions files", files: map[string]string{"captions.tsv": "", "captions.jsonl": ""}, wantErr: errAny},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := makeFolder(t, tc.files)
			got, err := readFolder(t, LocalFS{}, dir, tc.opts)
			switch {
			case tc.wantErr == errAny:
				if err == nil {
					t.Fatal("no error")
				}
				return
			case tc.wantErr != nil:
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("error = %v, want %v", err, tc.wantErr)
				}
				return
			case err != nil:
				t.Fatalf("unexpected error: %v", err)
			}
			want := tc.want(dir)
			if len(got) != len(want) {
				t.Fatalf("got %d records, want %d: %s", len(got), len(want), describe(got))
			}
			for i, w := range want {
				checkRecord(t, i, got[i], w)
			}
		})
	}
}

var errAny = errors.New("any error")

// memFS is an in-memory FS with Beam-style remote names
// ("gs://bucket/dir/file") and '*' within one path segment.
type memFS map[string]string

func (m memFS) List(_ context.Context, glob string) ([]string, error) {
	var out []string
	for name := range m {
		if ok, _ := path.Match(strings.TrimPrefix(glob, "gs://"), strings.TrimPrefix(name, "gs://")); ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

func (m memFS) OpenRead(_ context.Context, name string) (io.ReadCloser, error) {
	body, ok := m[name]
	if !ok {
		return nil, os.ErrNotExist
	}
	return io.NopCloser(strings.NewReader(body)), nil
}

func TestFolderRemote(t *testing.T) {
	fsys := memFS{
		"gs://bkt/set/captions.jsonl": `{"file":"a.jpg","caption":"a"}` + "\n" + `{"file":"d/b.jpg","caption":"b"}` + "\n" + `{"file":"c.jpg","caption":"c"}`,
		"gs://bkt/set/a.jpg":          "j",
		"gs://bkt/set/d/b.jpg":        "j",
		"gs://bkt/set/e.jpg":          "j",
	}
	got, err := readFolder(t, fsys, "gs://bkt/set/", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []want{
		{key: "a", caption: "a", uri: "gs://bkt/set/a.jpg"},
		{key: "d/b", caption: "b", uri: "gs://bkt/set/d/b.jpg"},
		{key: "c", problem: "missing image", hasCaption: true},
		{key: "e", problem: "no caption"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d: %s", len(got), len(want), describe(got))
	}
	for i, w := range want {
		checkRecord(t, i, got[i], w)
	}
}
