package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/sampleset"
	"github.com/groundbeam/groundbeam/transforms/sink"
)

// TestRerunIntoSameOutput runs label into one folder several times, as a
// user does: a --resume with other settings is refused and changes
// nothing, and so is its --dry-run; a dry run of a good resume prints the
// plan and changes nothing; a resume with the same settings skips what is
// committed; a run that starts over with fewer shards leaves the earlier
// run's files in place, and stats and export read only the new run's.
func TestRerunIntoSameOutput(t *testing.T) {
	lib := testenv.ORTLib(t)
	teacher, clip := testenv.Bundles(t, nil)
	shards, out, dir := t.TempDir(), filepath.Join(t.TempDir(), "out"), t.TempDir()
	if _, err := sampleset.WriteShards(shards, &sampleset.Options{Pairs: 6, Shards: 2, Seed: 3}); err != nil {
		t.Fatal(err)
	}
	label := func(input string, extra ...string) []string {
		return append([]string{"label", "--input", filepath.Join(shards, input), "--output", out,
			"--teacher", teacher, "--clip", clip, "--ort-lib", lib}, extra...)
	}
	manifest := func() string {
		raw, _ := os.ReadFile(filepath.Join(out, sink.ManifestFile))
		return string(raw)
	}
	var first string
	steps := []struct {
		name   string
		args   []string
		code   int
		stdout []string
		stderr []string
		check  func(t *testing.T)
	}{
		{name: "first run", args: label("*.tar"), stdout: []string{"labelled 6 of 6 pairs"},
			check: func(t *testing.T) { first = manifest() }},
		{name: "resume with another threshold", args: label("*.tar", "--resume", "--score-threshold", "0.5"), code: 1,
			stderr: []string{"settings changed", "params.score_threshold was 0.3, is now 0.5", "new output folder"},
			check: func(t *testing.T) {
				if manifest() != first {
					t.Error("the refused run changed the manifest")
				}
			}},
		{name: "dry run of a resume with another threshold", args: label("*.tar", "--resume", "--score-threshold", "0.5", "--dry-run"), code: 1,
			stderr: []string{"params.score_threshold was 0.3, is now 0.5"}},
		{name: "dry run of a resume", args: label("*.tar", "--resume", "--dry-run"),
			stdout: []string{"would label 2 shards", "resuming (its settings match)", `"score_threshold":0.3`},
			check: func(t *testing.T) {
				if manifest() != first {
					t.Error("the dry run changed the manifest")
				}
			}},
		{name: "resume with the same settings", args: label("*.tar", "--resume"),
			stdout: []string{"labelled 6 of 6 pairs", "resumed: 2 shards"}},
		{name: "start over with one shard", args: label("shard-00000.tar"), stdout: []string{"labelled 3 of 3 pairs"},
			check: func(t *testing.T) {
				left, _ := filepath.Glob(filepath.Join(out, "labels", "*.parquet"))
				if len(left) != 2 {
					t.Errorf("labels folder holds %d files, want the new run's and the earlier one's", len(left))
				}
			}},
		{name: "stats reads the manifest's files", args: []string{"stats", out},
			stdout: []string{"1 labels, 0 errors", "ignored files", "shard-00001.parquet", "labelled images (rows)  3", "matches the files read"}},
		{name: "export reads the manifest's files", args: []string{"export", "coco", out, "--out", filepath.Join(dir, "i.json")},
			stdout: []string{": 3 images"}},
	}
	for _, st := range steps {
		var stdout, stderr bytes.Buffer
		code := run(st.args, &stdout, &stderr)
		if code != st.code {
			t.Fatalf("%s: exit %d, want %d\nstdout: %s\nstderr: %s", st.name, code, st.code, stdout.String(), stderr.String())
		}
		for _, s := range st.stdout {
			if !strings.Contains(stdout.String(), s) {
				t.Errorf("%s: stdout %q lacks %q", st.name, stdout.String(), s)
			}
		}
		for _, s := range st.stderr {
			if !strings.Contains(stderr.String(), s) {
				t.Errorf("%s: stderr %q lacks %q", st.name, stderr.String(), s)
			}
		}
		if st.check != nil {
			st.check(t)
		}
	}
}
