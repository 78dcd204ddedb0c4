package main

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/sampleset"
)

// BenchmarkLabelPeakRSS runs the built `groundbeam label` binary on 1,000
// and on 10,000 pairs (100 pairs a shard, tiny models, five boxes an
// image, one crop scale, so that the larger run takes minutes rather than
// an hour on two cores) and reports each run's peak resident memory from
// the kernel's rusage, and the growth from the small run to the large.
// Memory should follow the work in flight, not the input's size.
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
				start := time.Now()
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("label: %v\n%s", err, out)
				}
				b.Logf("%d pairs in %v", n, time.Since(start).Round(time.Second))
				ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
				rss = max(rss, ru.Maxrss) // KiB on Linux
			}
			peak[n] = float64(rss) / 1024
			b.ReportMetric(peak[n], "peak-MiB")
			if n == sizes[len(sizes)-1] && peak[sizes[0]] > 0 {
				b.ReportMetric(100*(peak[n]/peak[sizes[0]]-1), "growth-%")
			}
		})
	}
}
