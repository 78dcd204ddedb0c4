package embed_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/testing/ptest"
	"github.com/fsouza/fake-gcs-server/fakestorage"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/clip"
	"github.com/groundbeam/groundbeam/model/ort"
	"github.com/groundbeam/groundbeam/model/tiny"
	"github.com/groundbeam/groundbeam/pipelines/embed"
	"github.com/groundbeam/groundbeam/pipelines/label"
	"github.com/groundbeam/groundbeam/report"
	"github.com/groundbeam/groundbeam/sampleset"
	"github.com/groundbeam/groundbeam/schemas"
	"github.com/groundbeam/groundbeam/transforms/region"
	"github.com/groundbeam/groundbeam/transforms/sink"
)

func TestMain(m *testing.M) { ptest.Main(m) }

// cocoSet is a COCO instances file made from generated pairs: one image
// per pair (its shapes as annotations), plus, when broken, images whose
// file is missing, does not decode or has another size than the file says,
// and an image without annotations whose file is missing.
type cocoSet struct {
	json  []byte
	files map[string][]byte // file name → bytes
	// boxes counts the annotations of the images that can be read,
	// brokenBoxes those of the images that cannot.
	boxes, brokenBoxes int
	// want is each readable image's expected row (no embeddings), by key.
	want map[string]schemas.LabelRow
}

func makeCOCO(t *testing.T, n int, broken bool) cocoSet {
	t.Helper()
	pairs, err := sampleset.Pairs(&sampleset.Options{Pairs: n, Seed: 21})
	if err != nil {
		t.Fatal(err)
	}
	type img struct {
		ID       int    `json:"id"`
		FileName string `json:"file_name"`
		Width    int    `json:"width"`
		Height   int    `json:"height"`
	}
	type ann struct {
		ID         int       `json:"id"`
		ImageID    int       `json:"image_id"`
		CategoryID int       `json:"category_id"`
		BBox       []float64 `json:"bbox"`
	}
	type cat struct {
		ID   int    `json:"id"`
		Name string `json:"name"`
	}
	var doc struct {
		Images      []img `json:"images"`
		Annotations []ann `json:"annotations"`
		Categories  []cat `json:"categories"`
	}
	set := cocoSet{files: map[string][]byte{}, want: map[string]schemas.LabelRow{}}
	cats := map[string]int{}
	catID := func(name string) int {
		if id, ok := cats[name]; ok {
			return id
		}
		id := 100 + len(cats) // not 0-based, as in COCO
		cats[name] = id
		doc.Categories = append(doc.Categories, cat{id, name})
		return id
	}
	for i, p := range pairs {
		cfg, _, err := image.DecodeConfig(bytes.NewReader(p.Image))
		if err != nil {
			t.Fatal(err)
		}
		id, file := i+1, p.Key+"."+p.Ext
		doc.Images = append(doc.Images, img{id, file, cfg.Width, cfg.Height})
		set.files[file] = p.Image
		row := schemas.LabelRow{Key: fmt.Sprint(id), Width: int32(cfg.Width), Height: int32(cfg.Height)}
		for _, o := range p.Objects {
			c := catID(o.Name)
			doc.Annotations = append(doc.Annotations, ann{len(doc.Annotations) + 1, id, c,
				[]float64{float64(o.X0), float64(o.Y0), float64(o.X1 - o.X0), float64(o.Y1 - o.Y0)}})
			row.Boxes = append(row.Boxes, schemas.Box{XYXY: []float32{float32(o.X0), float32(o.Y0), float32(o.X1), float32(o.Y1)},
				Score: 1, Phrase: o.Name, LabelID: int32(c), CharStart: -1, CharEnd: -1, Kind: schemas.KindAnnotation})
			set.boxes++
		}
		set.want[row.Key] = row
	}
	if broken {
		// Three images that are rejected, and one without boxes whose
		// file is missing too: it needs no image, so it is kept.
		for k, file := range []string{"missing.jpg", "garbage.jpg", "wrongsize.jpg", "nothing.jpg"} {
			id := n + k + 1
			doc.Images = append(doc.Images, img{id, file, 64, 64})
			if file == "nothing.jpg" {
				set.want[fmt.Sprint(id)] = schemas.LabelRow{Key: fmt.Sprint(id), Width: 64, Height: 64}
				continue
			}
			doc.Annotations = append(doc.Annotations, ann{len(doc.Annotations) + 1, id, catID("ghost"), []float64{1, 1, 10, 10}})
			set.brokenBoxes++
		}
		set.files["garbage.jpg"] = []byte("these bytes are no image")
		set.files["wrongsize.jpg"] = pairs[0].Image // not 64x64
	}
	if set.json, err = json.Marshal(doc); err != nil {
		t.Fatal(err)
	}
	return set
}

// writeFiles writes files under dir.
func writeFiles(t *testing.T, dir string, files map[string][]byte) {
	t.Helper()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// previousRun labels generated pairs (one of them broken, so the run has
// an errors file) with the label job and CLIP bundle clipDir.
func previousRun(t *testing.T, teacher, clipDir string) string {
	t.Helper()
	pairs, err := sampleset.Pairs(&sampleset.Options{Pairs: 8, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	pairs[3].Image = []byte("not an image")
	// Two JPEGs over twice the teacher's input size, which the label job
	// decodes downscaled (JPEG DCT scaling): embed must crop from the same
	// pixels to reproduce its embeddings.
	big, err := sampleset.Pairs(&sampleset.Options{Pairs: 2, Width: 1100, Height: 700, Seed: 12})
	if err != nil {
		t.Fatal(err)
	}
	for i := range big {
		big[i].Key = fmt.Sprintf("big%d", i)
		pairs = append(pairs, big[i])
	}
	shards := t.TempDir()
	for i, b := range testenv.Shards(t, pairs, 2) {
		if err := os.WriteFile(filepath.Join(shards, sampleset.ShardName(i)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	out := filepath.Join(t.TempDir(), "previous")
	res, err := label.Run(context.Background(), label.Config{Input: filepath.Join(shards, "*.tar"), Output: out,
		Teacher: teacher, CLIP: clipDir, OrtLib: testenv.ORTLib(t), BatchSize: 4, ClipScore: true})
	if err != nil {
		t.Fatal(err)
	}
	if m := res.Manifest; m.Totals.Labelled != 9 || m.Totals.Rejected != 1 || m.Totals.Boxes == 0 {
		t.Fatalf("previous run: totals %+v, want 9 labelled with boxes, 1 rejected", m.Totals)
	}
	return out
}

func readOut(t *testing.T, out string) (map[string]schemas.LabelRow, []schemas.ErrorRow) {
	t.Helper()
	rows := map[string]schemas.LabelRow{}
	if err := report.ReadLabels(context.Background(), out, func(r schemas.LabelRow) error {
		if _, dup := rows[r.Key]; dup {
			return fmt.Errorf("key %s written twice", r.Key)
		}
		rows[r.Key] = r
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var errs []schemas.ErrorRow
	if err := report.ReadErrors(context.Background(), out, func(r schemas.ErrorRow) error {
		errs = append(errs, r)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return rows, errs
}

func maxDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var d float64
	for i := range a {
		d = math.Max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

func norm(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return math.Sqrt(s)
}

// withoutEmbeddings copies boxes with their embeddings dropped.
func withoutEmbeddings(boxes []schemas.Box) []schemas.Box {
	out := make([]schemas.Box, len(boxes))
	for i, b := range boxes {
		b.Embedding, b.EmbeddingF16, b.ClipScore = nil, nil, nil
		out[i] = b
	}
	return out
}

// TestEmbed recomputes embeddings of a previous label run and of a COCO
// file (local and on GCS) with CLIP bundles of other seeds, and checks
// that every box is kept, embeddings change exactly when the bundle does,
// and only CLIP sessions are ever created.
func TestEmbed(t *testing.T) {
	testenv.InitORT(t)
	lib := testenv.ORTLib(t)
	teacher, clip1 := testenv.Bundles(t, nil)
	_, clip2 := testenv.Bundles(t, &tiny.BundleOptions{CLIP: &tiny.CLIPOptions{Seed: 2}})
	_, clip3 := testenv.Bundles(t, &tiny.BundleOptions{CLIP: &tiny.CLIPOptions{Seed: 3}})
	ids := map[string]string{}
	for _, d := range []string{clip1, clip2, clip3} {
		b, err := bundle.Load(d, bundle.KindCLIP)
		if err != nil {
			t.Fatal(err)
		}
		ids[d] = b.Identity
	}
	prev := previousRun(t, teacher, clip1)
	prevManifest, err := sink.ReadManifest(context.Background(), prev)
	if err != nil {
		t.Fatal(err)
	}
	prevRows, prevErrs := readOut(t, prev)
	tb, err := bundle.Load(teacher, bundle.KindGrounding)
	if err != nil {
		t.Fatal(err)
	}
	if d := prevManifest.DecodeMinShort; d == 0 || d != tb.Manifest.Image.ShortestEdge {
		t.Fatalf("label's manifest says images were decoded down to %d px, want the teacher's input, %d", d, tb.Manifest.Image.ShortestEdge)
	}

	coco := makeCOCO(t, 20, true)
	cocoDir, imgDir := t.TempDir(), t.TempDir()
	writeFiles(t, imgDir, coco.files)
	cocoJSON := filepath.Join(cocoDir, "instances.json")
	writeFiles(t, cocoDir, map[string][]byte{"instances.json": coco.json})

	// cocoRows keeps the first COCO run's rows to compare with later ones.
	var cocoRows map[string]schemas.LabelRow
	tests := []struct {
		name string
		cfg  embed.Config
		gcs  bool
		// newSessions is how many ONNX Runtime sessions the run may create:
		// only CLIP graphs not loaded before (the teacher never is).
		newSessions int64
		// sameAs says which earlier rows the embeddings must equal (same
		// bundle and images) or differ from.
		equalPrev, differPrev, equalCOCO, differCOCO bool
	}{
		{name: "previous run, CLIP of another seed", cfg: embed.Config{Input: prev, CLIP: clip2}, newSessions: 1, differPrev: true},
		{name: "previous run, the same CLIP", cfg: embed.Config{Input: prev, CLIP: clip1, BatchSize: 3, ClipScore: true}, newSessions: 0, equalPrev: true},
		{name: "previous run, CPU crops of a third CLIP", cfg: embed.Config{Input: prev, CLIP: clip3, CPUCrops: true, Scales: []float64{1}, ClipScore: true},
			newSessions: 2, differPrev: true},
		// one task at a time, on the sessions the default opened (the
		// thread count is part of a session's key)
		{name: "coco, local images", cfg: embed.Config{COCO: cocoJSON, Images: imgDir, CLIP: clip2, ChunkSize: 8, ShardsInFlight: 1,
			Session: ort.Options{}.SharedBy(region.DefaultShardsInFlight, runtime.NumCPU())}, newSessions: 0},
		{name: "coco on gs://", cfg: embed.Config{COCO: "gs://coco/annotations/instances.json", Images: "gs://coco/val2017", CLIP: clip2},
			gcs: true, newSessions: 0, equalCOCO: true},
		{name: "coco, another CLIP", cfg: embed.Config{COCO: cocoJSON, Images: imgDir + "/", CLIP: clip1, BatchSize: 5}, differCOCO: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			cfg := tt.cfg
			cfg.OrtLib = lib
			cfg.Output = filepath.Join(t.TempDir(), "out")
			if tt.gcs {
				objs := []fakestorage.Object{testenv.Object("coco", "annotations/instances.json", coco.json)}
				for name, b := range coco.files {
					objs = append(objs, testenv.Object("coco", "val2017/"+name, b))
				}
				srv := testenv.GCS(t, objs...)
				srv.CreateBucketWithOpts(fakestorage.CreateBucketOpts{Name: "out"})
				cfg.Output = "gs://out/embedded"
			}
			before := ort.SessionsCreated()
			res, err := embed.Run(ctx, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got := ort.SessionsCreated() - before; got != tt.newSessions {
				t.Errorf("%d sessions created, want %d (CLIP only)", got, tt.newSessions)
			}
			rows, errs := readOut(t, cfg.Output)
			m := res.Manifest
			if m.CLIP != ids[cfg.CLIP] {
				t.Errorf("manifest clip %q, want %q", m.CLIP, ids[cfg.CLIP])
			}
			// decoded as the previous run did, and recorded for the next
			// embed; COCO images at full size
			wantDecode := 0
			if cfg.Input != "" {
				wantDecode = prevManifest.DecodeMinShort
			}
			if m.DecodeMinShort != wantDecode {
				t.Errorf("manifest decode_min_short %d, want %d", m.DecodeMinShort, wantDecode)
			}
			var boxes int64
			for key, r := range rows {
				if r.CLIP != ids[cfg.CLIP] {
					t.Errorf("%s: clip %q, want %q", key, r.CLIP, ids[cfg.CLIP])
				}
				for i, b := range r.Boxes {
					if n := norm(b.Embedding); math.Abs(n-1) > 1e-4 {
						t.Errorf("%s box %d: embedding norm %v", key, i, n)
					}
				}
				boxes += int64(len(r.Boxes))
			}
			limit := cmp.Or(cfg.ShardsInFlight, region.DefaultShardsInFlight)
			if s := res.Distributions["shards_in_flight"]; s.Count < 1 || s.Max > int64(limit) {
				t.Errorf("%d tasks admitted, up to %d at once, want up to %d", s.Count, s.Max, limit)
			}
			if m.Totals.Boxes != boxes || res.Counters["boxes"] != boxes {
				t.Errorf("manifest says %d boxes, counters %d, files hold %d", m.Totals.Boxes, res.Counters["boxes"], boxes)
			}
			if cfg.Input != "" {
				checkPrevious(t, res, rows, errs, prevManifest, prevRows, prevErrs, tt.equalPrev, tt.differPrev, cfg.ClipScore)
				return
			}
			checkCOCO(t, res, rows, errs, coco)
			if cocoRows == nil {
				cocoRows = rows
			}
			for key, r := range rows {
				for i, b := range r.Boxes {
					d := maxDiff(b.Embedding, cocoRows[key].Boxes[i].Embedding)
					if tt.equalCOCO && d > 1e-5 {
						t.Errorf("%s box %d: embedding differs by %g from the local run's with the same CLIP", key, i, d)
					}
					if tt.differCOCO && d < 1e-3 {
						t.Errorf("%s box %d: embedding unchanged (%g) with another CLIP", key, i, d)
					}
				}
			}
		})
	}
}

func checkPrevious(t *testing.T, res *embed.Result, rows map[string]schemas.LabelRow, errs []schemas.ErrorRow,
	pm *sink.Manifest, prevRows map[string]schemas.LabelRow, prevErrs []schemas.ErrorRow, equal, differ, scored bool) {
	t.Helper()
	m := res.Manifest
	if m.Totals != pm.Totals || m.Teacher != pm.Teacher || m.Params != pm.Params || !reflect.DeepEqual(m.InputShards, pm.InputShards) {
		t.Errorf("manifest %+v %q %q %v, want the previous run's %+v %q %q %v",
			m.Totals, m.Teacher, m.Params, m.InputShards, pm.Totals, pm.Teacher, pm.Params, pm.InputShards)
	}
	if res.Plan.Boxes != m.Totals.Boxes || res.Plan.Teacher != pm.Teacher {
		t.Errorf("plan %+v", res.Plan)
	}
	var paths, prevPaths []string
	for _, f := range m.Files {
		paths = append(paths, f.Path)
	}
	for _, f := range pm.Files {
		prevPaths = append(prevPaths, f.Path)
	}
	if !reflect.DeepEqual(paths, prevPaths) {
		t.Errorf("files %v, want the previous run's names %v", paths, prevPaths)
	}
	if len(rows) != len(prevRows) {
		t.Fatalf("%d rows, previous run %d", len(rows), len(prevRows))
	}
	for key, p := range prevRows {
		r, ok := rows[key]
		if !ok {
			t.Errorf("row %s lost", key)
			continue
		}
		if r.Teacher != p.Teacher || r.ParamsHash != p.ParamsHash || r.Source != p.Source || r.Shard != p.Shard ||
			r.Caption != p.Caption || r.Width != p.Width || r.Height != p.Height {
			t.Errorf("%s: row fields changed:\n%+v\n%+v", key, r, p)
		}
		if !reflect.DeepEqual(withoutEmbeddings(r.Boxes), withoutEmbeddings(p.Boxes)) {
			t.Errorf("%s: boxes changed", key)
			continue
		}
		for i := range r.Boxes {
			d := maxDiff(r.Boxes[i].Embedding, p.Boxes[i].Embedding)
			if equal && d > 1e-5 {
				t.Errorf("%s box %d: embedding differs by %g with the same CLIP", key, i, d)
			}
			if differ && d < 1e-3 {
				t.Errorf("%s box %d: embedding unchanged (%g) with another CLIP", key, i, d)
			}
			// clip scores: recomputed with the new bundle, or left out
			got, was := r.Boxes[i].ClipScore, p.Boxes[i].ClipScore
			switch {
			case was == nil:
				t.Fatalf("%s box %d: the previous run (with clip scores) has none", key, i)
			case !scored && got != nil:
				t.Errorf("%s box %d: clip score %v kept from the previous bundle", key, i, *got)
			case scored && got == nil:
				t.Errorf("%s box %d: no clip score", key, i)
			case scored && equal && math.Abs(float64(*got-*was)) > 1e-5:
				t.Errorf("%s box %d: clip score %v, the previous run's %v with the same CLIP", key, i, *got, *was)
			case scored && differ && *got == *was:
				t.Errorf("%s box %d: clip score %v unchanged with another CLIP", key, i, *got)
			}
		}
	}
	if !reflect.DeepEqual(errs, prevErrs) {
		t.Errorf("errors %+v, want the previous run's %+v carried over", errs, prevErrs)
	}
}

func checkCOCO(t *testing.T, res *embed.Result, rows map[string]schemas.LabelRow, errs []schemas.ErrorRow, coco cocoSet) {
	t.Helper()
	m := res.Manifest
	if m.Totals.Labelled != int64(len(coco.want)) || m.Totals.Rejected != 3 || m.Totals.Boxes != int64(coco.boxes) {
		t.Errorf("totals %+v, want %d labelled, 3 rejected, %d boxes", m.Totals, len(coco.want), coco.boxes)
	}
	if res.Plan.Boxes != int64(coco.boxes+coco.brokenBoxes) || res.Plan.Images != int64(len(coco.want)+3) {
		t.Errorf("plan: %d images, %d boxes in", res.Plan.Images, res.Plan.Boxes)
	}
	if !strings.HasPrefix(m.Teacher, "instances.json@") || m.Params != "" {
		t.Errorf("manifest provenance %q %q", m.Teacher, m.Params)
	}
	for key, want := range coco.want {
		r, ok := rows[key]
		if !ok {
			t.Errorf("image %s missing", key)
			continue
		}
		if r.Width != want.Width || r.Height != want.Height || r.Caption != "" || r.Teacher != m.Teacher || !strings.HasSuffix(r.Source, ".jpg") && !strings.HasSuffix(r.Source, ".png") {
			t.Errorf("%s: row %+v", key, r)
		}
		if got := withoutEmbeddings(r.Boxes); !reflect.DeepEqual(got, want.Boxes) && len(want.Boxes) > 0 {
			t.Errorf("%s: boxes\n%+v\nwant\n%+v", key, got, want.Boxes)
		}
	}
	stages := map[string]string{}
	for _, e := range errs {
		stages[filepath.Base(e.Source)] = e.Stage
		if e.Key == "" || e.Reason == "" || e.SchemaVersion != schemas.Version {
			t.Errorf("error row %+v", e)
		}
	}
	want := map[string]string{"missing.jpg": schemas.StageRead, "garbage.jpg": schemas.StageDecode, "wrongsize.jpg": schemas.StageDecode}
	if !reflect.DeepEqual(stages, want) {
		t.Errorf("rejected %v, want %v (%+v)", stages, want, errs)
	}
}

// TestNoTeacher: the job's configuration has no way to name a teacher.
func TestNoTeacher(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeOf(embed.Config{}), reflect.TypeOf(region.Config{})} {
		for i := range typ.NumField() {
			if f := typ.Field(i); strings.Contains(strings.ToLower(f.Name), "teacher") {
				t.Errorf("%v has a field %s", typ, f.Name)
			}
		}
	}
}

func TestBuildErrors(t *testing.T) {
	lib := testenv.ORTLib(t)
	_, clipDir := testenv.Bundles(t, nil)
	dir := t.TempDir()
	coco := makeCOCO(t, 2, false)
	writeFiles(t, dir, map[string][]byte{"instances.json": coco.json, "bad.json": []byte(`{"images": []}`)})
	cocoJSON := filepath.Join(dir, "instances.json")
	out := filepath.Join(dir, "out")
	tests := []struct {
		name    string
		cfg     embed.Config
		wantErr string
	}{
		{"no output", embed.Config{Input: dir, CLIP: clipDir}, "no output"},
		{"no input", embed.Config{Output: out, CLIP: clipDir}, "no input"},
		{"both inputs", embed.Config{Input: dir, COCO: cocoJSON, Images: dir, Output: out, CLIP: clipDir}, "not both"},
		{"coco without images", embed.Config{COCO: cocoJSON, Output: out, CLIP: clipDir}, "needs its images folder"},
		{"images without coco", embed.Config{Input: dir, Images: dir, Output: out, CLIP: clipDir}, "goes with a coco"},
		{"bad scale", embed.Config{COCO: cocoJSON, Images: dir, Output: out, CLIP: clipDir, Scales: []float64{1, -1}}, "crop scale -1"},
		{"missing bundle", embed.Config{COCO: cocoJSON, Images: dir, Output: out, CLIP: filepath.Join(dir, "nope")}, "no model.json"},
		{"input is no run", embed.Config{Input: dir, Output: out, CLIP: clipDir}, "is no finished run's output"},
		{"output is the input", embed.Config{Input: dir, Output: dir + "/", CLIP: clipDir}, "is the input"},
		{"coco missing", embed.Config{COCO: filepath.Join(dir, "none.json"), Images: dir, Output: out, CLIP: clipDir}, "none.json"},
		{"coco file with no images", embed.Config{COCO: filepath.Join(dir, "bad.json"), Images: dir, Output: out, CLIP: clipDir}, "no images"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.OrtLib = lib
			_, _, err := embed.Build(context.Background(), cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestEmbedResume reruns a finished COCO run into the same folder: with
// Resume every unit is found committed and skipped; with Resume and other
// crop scales the run is refused; without Resume, it starts over. Either
// way the output is the same.
func TestEmbedResume(t *testing.T) {
	_, clipDir := testenv.Bundles(t, nil)
	coco := makeCOCO(t, 5, false)
	dir, imgDir := t.TempDir(), t.TempDir()
	writeFiles(t, imgDir, coco.files)
	writeFiles(t, dir, map[string][]byte{"instances.json": coco.json})
	cfg := embed.Config{COCO: filepath.Join(dir, "instances.json"), Images: imgDir, CLIP: clipDir, Output: filepath.Join(dir, "out"),
		OrtLib: testenv.ORTLib(t), ChunkSize: 2}
	for _, run := range []struct {
		name    string
		resume  bool
		scales  []float64
		resumed int
		wantErr string
	}{
		{name: "first run"},
		{name: "resumed", resume: true, resumed: 3},
		{name: "resumed with other scales", resume: true, scales: []float64{1, 2}, wantErr: "clip_scales was [1,1.5], is now [1,2]"},
		{name: "started over"},
	} {
		t.Run(run.name, func(t *testing.T) {
			cfg.Resume, cfg.Scales = run.resume, run.scales
			_, checkErr := embed.Check(context.Background(), cfg) // what --dry-run says
			res, err := embed.Run(context.Background(), cfg)
			if run.wantErr != "" {
				for _, e := range []error{checkErr, err} {
					if !errors.Is(e, sink.ErrSettingsChanged) || !strings.Contains(e.Error(), run.wantErr) {
						t.Fatalf("err %v, want settings changed: %s", e, run.wantErr)
					}
				}
				return
			}
			if checkErr != nil {
				t.Fatalf("Check: %v", checkErr)
			}
			if err != nil {
				t.Fatal(err)
			}
			m := res.Manifest
			if m.ResumedShards != run.resumed || len(m.Files) != 3 || m.Totals.Labelled != 5 || m.Totals.Boxes != int64(coco.boxes) {
				t.Errorf("manifest: %d resumed, %d files, totals %+v", m.ResumedShards, len(m.Files), m.Totals)
			}
			rows, _ := readOut(t, cfg.Output)
			if len(rows) != 5 {
				t.Errorf("%d rows, want 5", len(rows))
			}
		})
	}
}

// TestEmbedFloat16 recomputes a previous run's embeddings with the same
// CLIP bundle, stored as float16: embedding_f16 is filled, embedding is
// empty, and the halves equal the previous float32 values to 1e-3.
func TestEmbedFloat16(t *testing.T) {
	testenv.InitORT(t)
	teacher, clipDir := testenv.Bundles(t, nil)
	prev := previousRun(t, teacher, clipDir)
	prevRows, _ := readOut(t, prev)
	out := filepath.Join(t.TempDir(), "f16")
	if _, err := embed.Run(context.Background(), embed.Config{Input: prev, CLIP: clipDir, Output: out, OrtLib: testenv.ORTLib(t), Float16: true}); err != nil {
		t.Fatal(err)
	}
	rows, _ := readOut(t, out)
	boxes := 0
	for key, r := range rows {
		p := prevRows[key]
		if len(r.Boxes) != len(p.Boxes) {
			t.Fatalf("%s: %d boxes, previous run %d", key, len(r.Boxes), len(p.Boxes))
		}
		for i, b := range r.Boxes {
			boxes++
			if len(b.Embedding) != 0 || len(b.EmbeddingF16) != len(p.Boxes[i].Embedding) {
				t.Fatalf("%s box %d: %d float32 and %d float16 values, want 0 and %d", key, i, len(b.Embedding), len(b.EmbeddingF16), len(p.Boxes[i].Embedding))
			}
			if d := maxDiff(clip.FromFloat16(b.EmbeddingF16), p.Boxes[i].Embedding); d > 1e-3 {
				t.Errorf("%s box %d: float16 differs from the float32 run by %g", key, i, d)
			}
		}
	}
	if boxes == 0 {
		t.Fatal("no boxes to compare")
	}
}
