package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/groundbeam/groundbeam/internal/s3test"
	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/sampleset"
	"github.com/groundbeam/groundbeam/transforms/sink"
	"github.com/groundbeam/groundbeam/transforms/source/s3fs"
)

// TestS3Flags labels a corpus in an S3-compatible store (gofakes3) that
// only the command line points at: no GROUNDBEAM_S3_* or AWS endpoint in
// the environment, and a host name endpoint, which needs --s3_path_style.
// The report commands read the result back through the same flags.
func TestS3Flags(t *testing.T) {
	lib := testenv.ORTLib(t)
	teacher, clip := testenv.Bundles(t, nil)
	endpoint, client := s3test.Server(t)
	for _, k := range []string{s3fs.EnvEndpoint, s3fs.EnvPathStyle, "AWS_ENDPOINT_URL_S3"} {
		t.Setenv(k, "")
	}
	endpoint = strings.Replace(endpoint, "127.0.0.1", "localhost", 1)
	shards := t.TempDir()
	paths, err := sampleset.WriteShards(shards, &sampleset.Options{Pairs: 6, Shards: 2, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		s3test.Put(t, client, "corpus", "shards/"+filepath.Base(p), b)
	}
	// The flags become process-wide pipeline options: clear them before
	// each case, so that each one shows what its own flags do, and after.
	clear := func() {
		for _, o := range []string{s3fs.OptionEndpoint, s3fs.OptionPathStyle, s3fs.OptionRegion} {
			beam.PipelineOptions.Set(o, "")
		}
	}
	t.Cleanup(clear)
	flags := []string{"--s3_endpoint", endpoint, "--s3_path_style"}
	out := filepath.Join(t.TempDir(), "sheet.png")
	tests := []cliCase{
		{name: "label", args: append([]string{"label", "--input", "s3://corpus/shards/*.tar", "--output", "s3://corpus/out",
			"--teacher", teacher, "--clip", clip, "--ort-lib", lib}, flags...),
			stdout: []string{"labelled 6 of 6 pairs (0 rejected)", "s3://corpus/out/labels/"}},
		{name: "host name endpoint without path style", args: []string{"stats", "s3://corpus/out", "--s3_endpoint", endpoint}, code: 1,
			stderr: []string{"corpus.localhost", "need path-style addressing", "-s3_path_style"}},
		{name: "stats", args: append([]string{"stats", "s3://corpus/out"}, flags...), stdout: []string{"2 labels, 0 errors"}},
		{name: "inspect", args: append([]string{"inspect", "s3://corpus/out", "--n", "4", "--out", out}, flags...),
			stdout: []string{"contact sheet: " + out}},
		{name: "endpoint not a URL", args: []string{"stats", "s3://corpus/out", "--s3_endpoint", "ftp://minio"}, code: 2,
			stderr: []string{`endpoint "ftp://minio" is not an http:// or https:// URL`}},
		{name: "bad path style", args: []string{"stats", "s3://corpus/out", "--s3_path_style=maybe"}, code: 2,
			stderr: []string{"s3_path_style"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clear()
			var stdout, stderr bytes.Buffer
			code := run(tt.args, &stdout, &stderr)
			tt.check(t, code, stdout.String(), stderr.String())
		})
	}

	var m sink.Manifest
	if err := json.Unmarshal(s3test.Get(t, client, "corpus", "out/_manifest.json"), &m); err != nil {
		t.Fatal(err)
	}
	if m.Totals.InputPairs != 6 || m.Totals.Labelled+m.Totals.Rejected != 6 || len(m.InputShards) != 2 {
		t.Errorf("manifest in the bucket: totals %+v, %d input shards; want 6 pairs from 2 shards", m.Totals, len(m.InputShards))
	}
}
