package wordpiece

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNewErrors(t *testing.T) {
	good := []string{"[UNK]", "[CLS]", "[SEP]", "a"}
	tests := []struct {
		name  string
		vocab []string
		opts  *Options
		want  string
	}{
		{"empty vocabulary", nil, nil, "empty vocabulary"},
		{"missing CLS", []string{"[UNK]", "[SEP]"}, nil, "lacks [CLS]"},
		{"missing SEP", []string{"[UNK]", "[CLS]"}, nil, "lacks [SEP]"},
		{"missing UNK", []string{"[CLS]", "[SEP]"}, nil, "lacks [UNK]"},
		{"duplicate", append(good, "a"), nil, `"a" appears at ids 3 and 4`},
		{"negative MaxTokens", good, &Options{MaxTokens: -1}, "MaxTokens is -1"},
		{"MaxTokens of one", good, &Options{MaxTokens: 1}, "MaxTokens is 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.vocab, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New() error = %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name    string
		path    string
		size    int
		wantErr string
		isErr   error
	}{
		{"real vocabulary", vocabPath, 30522, "", nil},
		{"CRLF and no final newline", write("crlf.txt", "[UNK]\r\n[CLS]\r\n[SEP]\r\nhi"), 4, "", nil},
		{"missing file", filepath.Join(dir, "absent.txt"), 0, "read vocab", fs.ErrNotExist},
		{"invalid vocabulary", write("bad.txt", "a\nb\n"), 0, "lacks [CLS]", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := Load(tc.path, nil)
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
		})
	}
}
