package bpe

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	gz := func(name, content string) string {
		var buf bytes.Buffer
		zw := gzip.NewWriter(&buf)
		if _, err := zw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plain := filepath.Join(dir, "plain.txt")
	if err := os.WriteFile(plain, []byte("#version\na b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		size    int
		wantErr string
		isErr   error
	}{
		{"real merges", mergesPath, 49408, "", nil},
		{"small file", gz("small.gz", "#version: 0.2\na b\nab c</w>\n"), 516, "", nil},
		{"no trailing newline", gz("nonl.gz", "#version: 0.2\na b"), 515, "", nil},
		{"header only", gz("header.gz", "#version: 0.2\n"), 514, "", nil},
		{"missing file", filepath.Join(dir, "absent.gz"), 0, "open merges", fs.ErrNotExist},
		{"not gzip", plain, 0, "read merges", gzip.ErrHeader},
		{"empty file", gz("empty.gz", ""), 0, "empty merges file", nil},
		{"three symbols", gz("three.gz", "#v\na b c\n"), 0, `line 2: merge "a b c"`, nil},
		{"one symbol", gz("one.gz", "#v\na b\nab\n"), 0, `line 3: merge "ab"`, nil},
		{"empty line inside", gz("gap.gz", "#v\na b\n\nb c\n"), 0, "line 3: empty merge", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Load(tc.path)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Load() error = %v, want it to mention %q", err, tc.wantErr)
				}
				if tc.isErr != nil && !errors.Is(err, tc.isErr) {
					t.Errorf("Load() error %v does not wrap %v", err, tc.isErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := tok.VocabSize(); got != tc.size {
				t.Errorf("VocabSize() = %d, want %d", got, tc.size)
			}
			if got, want := tok.eot, int64(tc.size-1); got != want {
				t.Errorf("end token id %d, want %d", got, want)
			}
		})
	}
}
