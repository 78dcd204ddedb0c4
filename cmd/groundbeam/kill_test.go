package main

import (
	"context"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/sampleset"
	"github.com/groundbeam/groundbeam/schemas"
	"github.com/groundbeam/groundbeam/transforms/sink"
)

// TestKillResume's size: runs killed, and pairs in 8 shards (few, with at
// most 4 boxes each, so that 21 runs fit in about two minutes on two
// loaded cores).
const (
	killRuns  = 10
	killPairs = 24
)

// TestKillResume SIGKILLs `groundbeam label` at seeded random points spread
// over a clean run's duration, resumes each run with --resume to
// completion, and checks every final output against the clean run: the
// same keys with the same boxes, no key twice, no temporary file left, the
// manifest's totals equal.
func TestKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and runs it 21 times")
	}
	root := testenv.ModuleRoot(t)
	lib := testenv.ORTLib(t)
	work := t.TempDir()
	bin := buildGroundbeam(t, root, work)
	teacher, clip := testenv.Bundles(t, nil)
	shards := filepath.Join(work, "shards")
	if _, err := sampleset.WriteShards(shards, &sampleset.Options{Pairs: killPairs, Shards: 8, Seed: 17}); err != nil {
		t.Fatal(err)
	}
	args := func(out string, resume bool) []string {
		a := []string{"label", "--input", filepath.Join(shards, "*.tar"), "--output", out,
			"--teacher", teacher, "--clip", clip, "--ort-lib", lib, "--batch-size", "2", "--intra-op-threads", "1", "--top-k", "4"}
		if resume {
			a = append(a, "--resume")
		}
		return a
	}
	run := func(out string, resume bool) (time.Duration, error) {
		cmd := exec.Command(bin, args(out, resume)...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			return 0, fmt.Errorf("%v: %s", err, stderr.String())
		}
		return time.Since(start), nil
	}

	clean := filepath.Join(work, "clean")
	took, err := run(clean, false)
	if err != nil {
		t.Fatalf("clean run: %v", err)
	}
	want := readLabelRows(t, clean)
	wantManifest := readManifest(t, clean)
	if len(want) != killPairs {
		t.Fatalf("clean run labelled %d pairs, want %d", len(want), killPairs)
	}
	t.Logf("clean run: %v, %d rows, %d boxes", took.Round(time.Millisecond), len(want), wantManifest.Totals.Boxes)

	rng := rand.New(rand.NewPCG(2026, 11))
	var report []string
	for i := range killRuns {
		out := filepath.Join(work, fmt.Sprintf("killed-%02d", i))
		// Kill points spread over the clean run: one in each tenth of its
		// first 90%. A run that finishes before its kill (runs vary on a
		// loaded machine) is started again on a clean folder and killed at
		// 60% of the time it took.
		at := time.Duration((float64(i) + rng.Float64()) / killRuns * 0.9 * float64(took))
		killed := false
		for try := 0; try < 3 && !killed; try++ {
			os.RemoveAll(out)
			cmd := exec.Command(bin, args(out, false)...)
			cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
			start := time.Now()
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			select {
			case err := <-exited:
				t.Logf("run %d finished (%v) after %v, before its kill at %v", i, err, time.Since(start).Round(time.Millisecond), at)
				at = time.Since(start) * 6 / 10
			case <-time.After(at):
				syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-exited
				killed = true
			}
		}
		if !killed {
			t.Errorf("run %d could not be killed before it finished", i)
		}
		markers, temps := countFiles(t, out)
		resumeTook, err := run(out, true)
		if err != nil {
			t.Fatalf("run %d: resume: %v", i, err)
		}
		got := readLabelRows(t, out)
		m := readManifest(t, out)
		lost, dup := compareRows(t, i, got, want)
		_, left := countFiles(t, out)
		if left != 0 {
			t.Errorf("run %d: %d temporary files left after the resume", i, left)
		}
		if m.Totals != wantManifest.Totals {
			t.Errorf("run %d: manifest totals %+v, clean run %+v", i, m.Totals, wantManifest.Totals)
		}
		line := fmt.Sprintf("| %d | %d | %v | %d/8 | %d | %d | %v | %d | %d | %d | %d |", i, at.Milliseconds(), killed, markers, temps,
			m.ResumedShards, resumeTook.Round(100*time.Millisecond), len(got), lost, dup, left)
		report = append(report, line)
	}
	t.Logf("kill/resume runs (clean run %v, %d rows):\n| run | killed at ms | killed | shards committed at kill | temp files at kill | shards resumed | resume took | rows | lost | duplicated | temp files after |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n%s",
		took.Round(time.Millisecond), len(want), strings.Join(report, "\n"))
}

// readLabelRows reads every committed labels file under out, keyed by
// key; a key met twice is kept twice (key + "#dup").
func readLabelRows(t *testing.T, out string) map[string][]schemas.LabelRow {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(out, "labels", "*.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]schemas.LabelRow{}
	for _, f := range files {
		rs, err := parquet.ReadFile[schemas.LabelRow](f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, r := range rs {
			rows[r.Key] = append(rows[r.Key], r)
		}
	}
	return rows
}

func readManifest(t *testing.T, out string) *sink.Manifest {
	t.Helper()
	m, err := sink.ReadManifest(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// compareRows counts keys of want missing from got and keys got holds more
// than once, and checks that each row has the clean run's boxes.
func compareRows(t *testing.T, run int, got, want map[string][]schemas.LabelRow) (lost, dup int) {
	t.Helper()
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g, w := got[k], want[k][0]
		switch {
		case len(g) == 0:
			lost++
			t.Errorf("run %d: %s lost", run, k)
			continue
		case len(g) > 1:
			dup += len(g) - 1
			t.Errorf("run %d: %s written %d times", run, k, len(g))
		}
		if len(g[0].Boxes) != len(w.Boxes) || g[0].Caption != w.Caption {
			t.Errorf("run %d: %s has %d boxes, clean run %d", run, k, len(g[0].Boxes), len(w.Boxes))
			continue
		}
		for b := range w.Boxes {
			if g[0].Boxes[b].Phrase != w.Boxes[b].Phrase || g[0].Boxes[b].Score != w.Boxes[b].Score {
				t.Errorf("run %d: %s box %d differs", run, k, b)
				break
			}
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("run %d: %s is not in the clean run", run, k)
		}
	}
	return lost, dup
}

// countFiles counts commit markers and temporary files under out.
func countFiles(t *testing.T, out string) (markers, temps int) {
	t.Helper()
	filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if strings.HasPrefix(d.Name(), sink.TempPrefix) {
			temps++
		} else if filepath.Base(filepath.Dir(p)) == sink.MarkerDir {
			markers++
		}
		return nil
	})
	return markers, temps
}

// buildGroundbeam builds the groundbeam binary from the module at root
// into dir and returns its path.
func buildGroundbeam(t testing.TB, root, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "groundbeam")
	build := exec.Command("go", "build", "-o", bin, "./cmd/groundbeam")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
