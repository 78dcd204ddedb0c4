package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/sampleset"
	"github.com/groundbeam/groundbeam/transforms/sink"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// TestUniversalRunner runs `groundbeam label` against a standalone Prism
// job server, the JobService API Flink's and Spark's job servers expose,
// with the workers looped back into this process.
func TestUniversalRunner(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts a job server")
	}
	lib := testenv.ORTLib(t)
	bin := filepath.Join(t.TempDir(), "prism")
	build := exec.Command("go", "build", "-o", bin, "github.com/apache/beam/sdks/v2/go/cmd/prism")
	build.Dir = testenv.ModuleRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build prism: %v\n%s", err, out)
	}
	port := freePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	srv := exec.CommandContext(ctx, bin, fmt.Sprintf("--job_port=%d", port), fmt.Sprintf("--web_port=%d", freePort(t)),
		"--serve_http=false", "--log_level=warn")
	var logs bytes.Buffer
	srv.Stdout, srv.Stderr = &logs, &logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		srv.Wait()
	})
	endpoint := fmt.Sprintf("localhost:%d", port)
	for deadline := time.Now().Add(30 * time.Second); ; {
		c, err := net.Dial("tcp", endpoint)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("job server never listened on %s: %s", endpoint, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Cleanup(func() {
		// The Beam flags are process-wide: later tests run on prism again.
		for _, f := range []string{"runner", "endpoint", "environment_type"} {
			flag.CommandLine.Set(f, "")
		}
	})

	teacher, clip := testenv.Bundles(t, nil)
	shards := t.TempDir()
	if _, err := sampleset.WriteShards(shards, &sampleset.Options{Pairs: 6, Shards: 2, Seed: 5}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	code := run([]string{"label", "--input", filepath.Join(shards, "*.tar"), "--output", out,
		"--teacher", teacher, "--clip", clip, "--ort-lib", lib,
		"--runner=universal", "--endpoint=" + endpoint, "--environment_type=LOOPBACK"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s\njob server: %s", code, stdout.String(), stderr.String(), logs.String())
	}
	m, err := sink.ReadManifest(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	if m.Totals.InputPairs != 6 || m.Totals.Labelled != 6 {
		t.Errorf("totals %+v, want 6 pairs labelled", m.Totals)
	}
	if !strings.Contains(stdout.String(), "labelled 6 of 6 pairs") {
		t.Errorf("stdout %q", stdout.String())
	}
	if _, err := os.Stat(filepath.Join(out, "labels", "shard-00000.parquet")); err != nil {
		t.Error(err)
	}
}
