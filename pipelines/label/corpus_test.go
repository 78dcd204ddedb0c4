package label_test

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/fsouza/fake-gcs-server/fakestorage"
	"github.com/parquet-go/parquet-go"

	"github.com/groundbeam/groundbeam/internal/s3test"
	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/pipelines/label"
	"github.com/groundbeam/groundbeam/report"
	"github.com/groundbeam/groundbeam/sampleset"
	"github.com/groundbeam/groundbeam/schemas"
)

// corpus is a mixed corpus: three tar shards, a JSONL manifest naming
// image objects and an img2dataset Parquet shard with image bytes, with
// some samples broken on purpose.
type corpus struct {
	objects map[string][]byte // object name → content
	pairs   int               // input pairs
	broken  map[string]string // key → expected reason (substring)
}

type img2dsRow struct {
	Key     string `parquet:"key"`
	Caption string `parquet:"caption"`
	JPG     []byte `parquet:"jpg"`
}

func buildCorpus(t *testing.T, prefix string) corpus {
	t.Helper()
	pairs, err := sampleset.Pairs(&sampleset.Options{Pairs: 120, Seed: 21})
	if err != nil {
		t.Fatal(err)
	}
	c := corpus{objects: map[string][]byte{}, pairs: len(pairs), broken: map[string]string{}}
	breakPair := func(i int, reason string, f func(p *sampleset.Pair)) {
		f(&pairs[i])
		c.broken[pairs[i].Key] = reason
	}
	breakPair(3, "decode", func(p *sampleset.Pair) { p.Image = p.Image[:len(p.Image)/3] })                   // truncated image
	breakPair(37, "decode", func(p *sampleset.Pair) { p.Image = []byte("these bytes are no image at all") }) // garbage
	breakPair(50, "empty caption", func(p *sampleset.Pair) { p.Caption = "   " })
	breakPair(70, "UTF-8", func(p *sampleset.Pair) { p.Caption = "a red \xff\xfe square" })
	breakPair(95, "missing image", func(p *sampleset.Pair) {})                               // its object is not uploaded
	breakPair(110, "decode", func(p *sampleset.Pair) { p.Image = []byte{0xff, 0xd8, 0xff} }) // truncated JPEG in Parquet

	// Tar shards: pairs 0–89, 30 per shard; pair 20 loses its caption files.
	c.broken[pairs[20].Key] = "no caption"
	for s := range 3 {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for _, p := range pairs[s*30 : (s+1)*30] {
			members := map[string][]byte{p.Key + "." + p.Ext: p.Image}
			if p.Key != pairs[20].Key {
				members[p.Key+".txt"] = []byte(p.Caption)
			}
			for _, name := range []string{p.Key + "." + p.Ext, p.Key + ".txt"} {
				data, ok := members[name]
				if !ok {
					continue
				}
				if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(data))}); err != nil {
					t.Fatal(err)
				}
				tw.Write(data)
			}
		}
		tw.Close()
		c.objects[fmt.Sprintf("%sshards/shard-%05d.tar", prefix, s)] = buf.Bytes()
	}
	// JSONL manifest: pairs 90–104, images as separate objects.
	var jl strings.Builder
	for _, p := range pairs[90:105] {
		name := "images/" + p.Key + "." + p.Ext
		if p.Key != pairs[95].Key {
			c.objects[prefix+name] = p.Image
		}
		fmt.Fprintf(&jl, "{\"key\": %q, \"image\": %q, \"caption\": %q}\n", p.Key, "../"+name, p.Caption)
	}
	c.objects[prefix+"manifests/part-0.jsonl"] = []byte(jl.String())
	// img2dataset Parquet: pairs 105–119 with image bytes.
	var rows []img2dsRow
	for _, p := range pairs[105:] {
		rows = append(rows, img2dsRow{Key: p.Key, Caption: p.Caption, JPG: p.Image})
	}
	var pq bytes.Buffer
	if err := parquet.Write(&pq, rows); err != nil {
		t.Fatal(err)
	}
	c.objects[prefix+"img2ds/00000.parquet"] = pq.Bytes()
	return c
}

// check runs the label job on the corpus and checks every pair came out
// labelled or rejected with its reason.
func (c corpus) check(t *testing.T, input, out, teacher, clip string) {
	t.Helper()
	ctx := context.Background()
	res, err := label.Run(ctx, label.Config{Input: input, Output: out, Teacher: teacher, CLIP: clip, BatchSize: 8, OrtLib: testenv.ORTLib(t)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Plan.Shards) != 5 {
		t.Errorf("%d shards planned, want 5: %v", len(res.Plan.Shards), res.Plan.Shards)
	}
	labelled := map[string]bool{}
	if err := report.ReadLabels(ctx, out, func(r schemas.LabelRow) error {
		if labelled[r.Key] {
			t.Errorf("key %s labelled twice", r.Key)
		}
		labelled[r.Key] = true
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	rejected := map[string]schemas.ErrorRow{}
	if err := report.ReadErrors(ctx, out, func(r schemas.ErrorRow) error {
		rejected[r.Key] = r
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(labelled)+len(rejected) != c.pairs {
		t.Errorf("labelled %d + rejected %d != %d input pairs", len(labelled), len(rejected), c.pairs)
	}
	for key, reason := range c.broken {
		r, ok := rejected[key]
		if !ok {
			t.Errorf("broken pair %s (%s) not in errors", key, reason)
			continue
		}
		if !strings.Contains(r.Reason, reason) && r.Stage != reason {
			t.Errorf("pair %s rejected at %s for %q, want %q", key, r.Stage, r.Reason, reason)
		}
		if r.Source == "" || r.Shard == "" {
			t.Errorf("pair %s: error row without source: %+v", key, r)
		}
	}
	if len(rejected) != len(c.broken) {
		t.Errorf("%d rejected, want %d: %v", len(rejected), len(c.broken), rejected)
	}
	m := res.Manifest.Totals
	if m.InputPairs != int64(c.pairs) || m.Labelled != int64(len(labelled)) || m.Rejected != int64(len(rejected)) {
		t.Errorf("manifest totals %+v, files say %d labelled, %d rejected of %d", m, len(labelled), len(rejected), c.pairs)
	}
}

func TestMixedCorpusOnGCS(t *testing.T) {
	testenv.InitORT(t)
	teacher, clip := testenv.Bundles(t, nil)
	c := buildCorpus(t, "")
	var objs []fakestorage.Object
	for name, data := range c.objects {
		objs = append(objs, testenv.Object("corpus", name, data))
	}
	srv := testenv.GCS(t, objs...)
	srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "out"})
	c.check(t, "gs://corpus/shards/*.tar,gs://corpus/manifests/*.jsonl,gs://corpus/img2ds/*.parquet", "gs://out/mixed", teacher, clip)
}

func TestMixedCorpusOnS3(t *testing.T) {
	testenv.InitORT(t)
	teacher, clip := testenv.Bundles(t, nil)
	c := buildCorpus(t, "")
	_, client := s3test.Server(t)
	for name, data := range c.objects {
		s3test.Put(t, client, "corpus", name, data)
	}
	c.check(t, "s3://corpus/shards/*.tar,s3://corpus/manifests/*.jsonl,s3://corpus/img2ds/*.parquet", "s3://out/mixed", teacher, clip)
}
