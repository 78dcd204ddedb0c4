package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/sampleset"
)

// BenchmarkLabelPeakRSS runs the built `groundbeam label` binary on 1,000
// and on 10,000 pairs (100 pairs a shard, tiny models, five boxes an
// image, one crop scale, so that the larger run takes minutes rather than
// an hour on two cores) and reports each run's peak resident memory, and
// the growth from the small run to the large. Memory should follow the
// work in flight, not the input's size.
//
// The peak is the child's VmHWM, polled from /proc while it runs, not the
// rusage wait4 returns: Go starts children with vfork semantics, so the
// kernel counts the parent's own peak (this benchmark's, which has just
// generated the sample shards in memory) into the child's ru_maxrss.
func BenchmarkLabelPeakRSS(b *testing.B) {
	root := testenv.ModuleRoot(b)
	lib := testenv.ORTLib(b)
	work := b.TempDir()
	bin := buildGroundbeam(b, root, work)
	teacher, clip := testenv.Bundles(b, nil)
	sizes := []int{1000, 10000}
	peak := map[int]float64{}
	for _, n := range sizes {
		shards := filepath.Join(work, fmt.Sprint("shards", n))
		if _, err := sampleset.WriteShards(shards, &sampleset.Options{Pairs: n, Shards: n / 100, Seed: 3}); err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprint("pairs=", n), func(b *testing.B) {
			var rss int64
			for i := 0; b.Loop(); i++ {
				cmd := exec.Command(bin, "label", "--input", filepath.Join(shards, "*.tar"),
					"--output", filepath.Join(work, fmt.Sprint("out", n, "-", i)),
					"--teacher", teacher, "--clip", clip, "--ort-lib", lib, "--top-k", "5", "--clip-scales", "1")
				var out bytes.Buffer
				cmd.Stdout, cmd.Stderr = &out, &out
				start := time.Now()
				if err := cmd.Start(); err != nil {
					b.Fatal(err)
				}
				hwm := watchHWM(cmd.Process.Pid)
				err := cmd.Wait()
				peak := <-hwm
				if err != nil {
					b.Fatalf("label: %v\n%s", err, out.Bytes())
				}
				b.Logf("%d pairs in %v", n, time.Since(start).Round(time.Second))
				rss = max(rss, peak)
			}
			peak[n] = float64(rss) / 1024
			b.ReportMetric(peak[n], "peak-MiB")
			if n == sizes[len(sizes)-1] && peak[sizes[0]] > 0 {
				b.ReportMetric(100*(peak[n]/peak[sizes[0]]-1), "growth-%")
			}
		})
	}
}

// watchHWM polls the VmHWM (peak resident set) of process pid every
// 50 ms until it exits, and then sends the last value read, in KiB.
func watchHWM(pid int) <-chan int64 {
	ch := make(chan int64, 1)
	go func() {
		var peak int64
		for {
			raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
			if err != nil {
				break
			}
			v, ok := statusKiB(string(raw), "VmHWM:")
			if !ok { // a zombie: its memory is gone
				break
			}
			peak = max(peak, v)
			time.Sleep(50 * time.Millisecond)
		}
		ch <- peak
	}()
	return ch
}

// statusKiB reads a "Name:   123 kB" field of /proc/PID/status.
func statusKiB(status, field string) (int64, bool) {
	for line := range strings.Lines(status) {
		if rest, ok := strings.CutPrefix(line, field); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				return 0, false
			}
			v, err := strconv.ParseInt(f[0], 10, 64)
			return v, err == nil
		}
	}
	return 0, false
}
