package source_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/transforms/source"
)

func TestBraces(t *testing.T) {
	tests := []struct {
		pattern string
		want    []string
		wantErr bool
	}{
		{pattern: "a/{0..3}.tar", want: []string{"a/0.tar", "a/1.tar", "a/2.tar", "a/3.tar"}},
		{pattern: "{08..10}", want: []string{"08", "09", "10"}},
		{pattern: "{8..10}", want: []string{"8", "9", "10"}},
		{pattern: "{3..1}", want: []string{"3", "2", "1"}},
		{pattern: "{a,b}-{0..1}", want: []string{"a-0", "a-1", "b-0", "b-1"}},
		{pattern: "{a,b{1..2}}.tar", want: []string{"a.tar", "b1.tar", "b2.tar"}},
		{pattern: "s3://b/{x}/{0,1}", want: []string{"s3://b/{x}/0", "s3://b/{x}/1"}},
		{pattern: "{a..e}", want: []string{"a", "b", "c", "d", "e"}},
		{pattern: "{e..a..2}", want: []string{"e", "c", "a"}},
		{pattern: "{0..10..3}", want: []string{"0", "3", "6", "9"}},
		{pattern: "{10..0..-5}", want: []string{"10", "5", "0"}},
		{pattern: "{000..10..5}", want: []string{"000", "005", "010"}},
		{pattern: "{-2..1}", want: []string{"-2", "-1", "0", "1"}},
		{pattern: "{ab..c}", want: []string{"{ab..c}"}},
		{pattern: "{0..4..0}", wantErr: true},
		{pattern: "plain/*.tar", want: []string{"plain/*.tar"}},
		{pattern: "{0..5", wantErr: true},
		{pattern: "0..5}", wantErr: true},
		{pattern: "{0..99999999}", wantErr: true},
		{pattern: "{0..2999}{0..2999}", wantErr: true},
	}
	for _, tt := range tests {
		got, err := source.Braces(tt.pattern)
		if tt.wantErr {
			if !errors.Is(err, source.ErrBraces) {
				t.Errorf("Braces(%q) = %d names, %v; want an error", tt.pattern, len(got), err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("Braces(%q) = %q, %v; want %q", tt.pattern, got, err, tt.want)
		}
	}
	// WebDataset's LAION-400M list: 41,408 names, zero-padded.
	got, err := source.Braces("gs://laion/{00000..41407}.tar")
	if err != nil || len(got) != 41408 || got[0] != "gs://laion/00000.tar" || got[41407] != "gs://laion/41407.tar" {
		t.Errorf("LAION-400M list: %d names, %v", len(got), err)
	}
}

func TestSplitPatterns(t *testing.T) {
	got, err := source.SplitPatterns("a/{0,1}.tar,b/*.tar,c/{x,{y,z}}.jsonl")
	if want := []string{"a/{0,1}.tar", "b/*.tar", "c/{x,{y,z}}.jsonl"}; err != nil || !slices.Equal(got, want) {
		t.Errorf("SplitPatterns = %q, %v; want %q", got, err, want)
	}
	for _, bad := range []string{"a/{0,1.tar", "a/0}.tar,b"} {
		if _, err := source.SplitPatterns(bad); !errors.Is(err, source.ErrBraces) {
			t.Errorf("SplitPatterns(%q): %v, want ErrBraces", bad, err)
		}
	}
}

// TestExpandBraces lists brace patterns on a local folder and on GCS:
// names that exist come back, names that do not are kept when any does
// (each becomes an error row when read), and a list none of whose names
// exists matches nothing.
func TestExpandBraces(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var objs []fakestorage.Object
	for _, i := range []int{0, 1, 2, 3, 4, 7} {
		name := fmt.Sprintf("%05d.tar", i)
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		objs = append(objs, testenv.Object("corpus", "shards/"+name, nil))
	}
	objs = append(objs, testenv.Object("corpus", "shards/deeper/00005.tar", nil))
	testenv.GCS(t, objs...)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(wd, dir)
	if err != nil {
		t.Fatal(err)
	}
	names := func(root string, is ...int) []string {
		var out []string
		for _, i := range is {
			out = append(out, fmt.Sprintf("%s/%05d.tar", root, i))
		}
		return out
	}
	tests := []struct {
		name     string
		patterns string
		want     []string
		wantErr  error
	}{
		{name: "local range with gaps", patterns: dir + "/{00000..00009}.tar", want: names(dir, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9)},
		{name: "local, relative, as written", patterns: "./" + rel + "/{00003..00004}.tar", want: names("./"+rel, 3, 4)},
		{name: "local range and a glob", patterns: dir + "/{00000..00001}.tar," + dir + "/0000[7].tar", want: names(dir, 0, 1, 7)},
		{name: "local, names that are globs", patterns: dir + "/{0000[01],00007}.tar", want: names(dir, 0, 1, 7)},
		{name: "local, none exists", patterns: dir + "/{00010..00012}.tar", wantErr: source.ErrNoMatch},
		{name: "gcs range with a gap, not in subfolders", patterns: "gs://corpus/shards/{00004..00007}.tar", want: names("gs://corpus/shards", 4, 5, 6, 7)},
		{name: "unbalanced", patterns: dir + "/{00000..00001.tar", wantErr: source.ErrBraces},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := source.Expand(ctx, tt.patterns)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Expand = %q, %v; want %v", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Fatalf("Expand = %q, %v\nwant %q", got, err, tt.want)
			}
		})
	}
}
