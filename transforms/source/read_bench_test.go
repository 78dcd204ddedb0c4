package source_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local"

	"github.com/groundbeam/groundbeam/internal/s3test"
	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/sampleset"
	"github.com/groundbeam/groundbeam/transforms/source"
)

// BenchmarkRead measures read throughput of a 200-pair tar shard, pairs/s
// and MB/s, from a local file and from in-process GCS and S3 servers.
func BenchmarkRead(b *testing.B) {
	pairs, err := sampleset.Pairs(&sampleset.Options{Pairs: 200, Width: 640, Height: 480, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	shard := testenv.Shards(b, pairs, 1)[0]
	local := filepath.Join(b.TempDir(), "shard-00000.tar")
	if err := os.WriteFile(local, shard, 0o644); err != nil {
		b.Fatal(err)
	}
	testenv.GCS(b, testenv.Object("bench", "shard-00000.tar", shard))
	_, client := s3test.Server(b)
	s3test.Put(b, client, "bench", "shard-00000.tar", shard)
	for _, bc := range []struct{ name, uri string }{
		{"local", local},
		{"gcs", "gs://bench/shard-00000.tar"},
		{"s3", "s3://bench/shard-00000.tar"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(shard)))
			n := 0
			for b.Loop() {
				err := source.Read(context.Background(), bc.uri, nil, func(it source.Item) error {
					if it.Reject != nil {
						b.Fatalf("rejected: %+v", it.Reject)
					}
					n++
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "pairs/s")
		})
	}
}
