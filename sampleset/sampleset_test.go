package sampleset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg"
	_ "image/png"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/groundbeam/groundbeam/transforms/source/wds"
)

func TestPairsDeterministic(t *testing.T) {
	opts := &Options{Pairs: 10, Seed: 42}
	a, err := Pairs(opts)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Pairs(opts)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different pairs")
	}
	c, err := Pairs(&Options{Pairs: 10, Seed: 43})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a[0].Image, c[0].Image) {
		t.Fatal("different seeds gave the same image")
	}
	// Pair i does not depend on how many pairs are generated.
	d, err := Pairs(&Options{Pairs: 3, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a[:3], d) {
		t.Fatal("prefix of a larger corpus differs")
	}

	dir1, dir2 := t.TempDir(), t.TempDir()
	p1, err := WriteShards(dir1, &Options{Pairs: 7, Shards: 2, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := WriteShards(dir2, &Options{Pairs: 7, Shards: 2, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	for i := range p1 {
		b1, err1 := os.ReadFile(p1[i])
		b2, err2 := os.ReadFile(p2[i])
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if !bytes.Equal(b1, b2) {
			t.Fatalf("shard %d differs between runs", i)
		}
	}
}

func TestPairsImages(t *testing.T) {
	tests := []struct {
		name string
		opts *Options
		w, h int // 0: varies within 160..480
	}{
		{name: "defaults", opts: nil},
		{name: "fixed size", opts: &Options{Pairs: 10, Width: 320, Height: 240, Seed: 1}, w: 320, h: 240},
		{name: "smallest", opts: &Options{Pairs: 10, Width: MinSide, Height: MinSide, Seed: 2}, w: MinSide, h: MinSide},
		{name: "fixed width", opts: &Options{Pairs: 6, Width: 200, Seed: 3}, w: 200},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			pairs, err := Pairs(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			want := DefaultPairs
			if tc.opts != nil {
				want = tc.opts.Pairs
			}
			if len(pairs) != want {
				t.Fatalf("got %d pairs, want %d", len(pairs), want)
			}
			for i, p := range pairs {
				img, format, err := image.Decode(bytes.NewReader(p.Image))
				if err != nil {
					t.Fatalf("pair %s: decode: %v", p.Key, err)
				}
				wantExt, wantFormat := "jpg", "jpeg"
				if i%5 == 4 {
					wantExt, wantFormat = "png", "png"
				}
				if p.Ext != wantExt || format != wantFormat {
					t.Errorf("pair %s: ext %q format %q, want %q %q", p.Key, p.Ext, format, wantExt, wantFormat)
				}
				checkSide(t, p.Key, "width", img.Bounds().Dx(), tc.w)
				checkSide(t, p.Key, "height", img.Bounds().Dy(), tc.h)
				if len(p.Key) != 9 || p.Key != pairKey(i) {
					t.Errorf("pair %d: key %q", i, p.Key)
				}
				if n := len(p.Objects); n < 1 || n > 3 {
					t.Errorf("pair %s: %d objects", p.Key, n)
				}
				if !strings.HasSuffix(p.Caption, " background") {
					t.Errorf("pair %s: caption %q", p.Key, p.Caption)
				}
				for j, o := range p.Objects {
					if !strings.Contains(p.Caption, o.Name) {
						t.Errorf("pair %s: caption %q does not mention %q", p.Key, p.Caption, o.Name)
					}
					r := image.Rect(o.X0, o.Y0, o.X1, o.Y1)
					if r.Empty() || !r.In(img.Bounds()) {
						t.Errorf("pair %s: object %q box %v outside %v", p.Key, o.Name, r, img.Bounds())
					}
					for _, q := range p.Objects[j+1:] {
						if r.Overlaps(image.Rect(q.X0, q.Y0, q.X1, q.Y1)) {
							t.Errorf("pair %s: objects %q and %q overlap", p.Key, o.Name, q.Name)
						}
					}
				}
			}
		})
	}
}

func pairKey(i int) string { return fmt.Sprintf("%09d", i) }

func checkSide(t *testing.T, key, what string, got, want int) {
	t.Helper()
	if want != 0 && got != want {
		t.Errorf("pair %s: %s %d, want %d", key, what, got, want)
	}
	if want == 0 && (got < 160 || got > 480) {
		t.Errorf("pair %s: %s %d outside 160..480", key, what, got)
	}
}

// probe returns a pixel well inside the shape described by o.
func probe(o Object) image.Point {
	kind := o.Name[strings.LastIndexByte(o.Name, ' ')+1:]
	cx, cy := (o.X0+o.X1)/2, (o.Y0+o.Y1)/2
	if kind == "triangle" {
		cy = o.Y0 + (o.Y1-o.Y0)*7/10
	}
	return image.Pt(cx, cy)
}

// nearestColor names the palette colour (shapes and backgrounds) closest to
// the average of the 5×5 patch around p.
func nearestColor(img image.Image, p image.Point) string {
	var sr, sg, sb, n float64
	for y := p.Y - 2; y <= p.Y+2; y++ {
		for x := p.X - 2; x <= p.X+2; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			sr, sg, sb, n = sr+float64(r>>8), sg+float64(g>>8), sb+float64(b>>8), n+1
		}
	}
	sr, sg, sb = sr/n, sg/n, sb/n
	best, bestD := "", 1e18
	for _, c := range append(shapeColors(), backgrounds()...) {
		dr, dg, db := sr-float64(c.c.R), sg-float64(c.c.G), sb-float64(c.c.B)
		if d := dr*dr + dg*dg + db*db; d < bestD {
			best, bestD = c.name, d
		}
	}
	return best
}

func TestShapeColors(t *testing.T) {
	for _, opts := range []*Options{{Pairs: 40, Seed: 7}, {Pairs: 20, Width: MinSide, Height: MinSide, Seed: 8}} {
		pairs, err := Pairs(opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pairs {
			img, _, err := image.Decode(bytes.NewReader(p.Image))
			if err != nil {
				t.Fatal(err)
			}
			bgName := strings.TrimSuffix(p.Caption, " background")
			bgName = bgName[strings.LastIndexByte(bgName, ' ')+1:]
			b := img.Bounds()
			for _, c := range []image.Point{{2, 2}, {b.Dx() - 3, 2}, {2, b.Dy() - 3}, {b.Dx() - 3, b.Dy() - 3}} {
				if nearObject(p.Objects, c, 12) {
					continue
				}
				if got := nearestColor(img, c); got != bgName {
					t.Errorf("pair %s: background at %v reads as %q, caption says %q", p.Key, c, got, bgName)
				}
			}
			for _, o := range p.Objects {
				want := o.Name[:strings.IndexByte(o.Name, ' ')]
				if got := nearestColor(img, probe(o)); got != want {
					t.Errorf("pair %s (%s): %q reads as %q", p.Key, p.Ext, o.Name, got)
				}
			}
		}
	}
}

// nearObject reports whether c lies within d pixels of any object's box.
func nearObject(objs []Object, c image.Point, d int) bool {
	for _, o := range objs {
		if c.In(image.Rect(o.X0, o.Y0, o.X1, o.Y1).Inset(-d)) {
			return true
		}
	}
	return false
}

// readShard reads every sample of one shard with the wds reader.
func readShard(t *testing.T, data []byte) []wds.Sample {
	t.Helper()
	r, err := wds.NewReader(bytes.NewReader(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []wds.Sample
	for {
		s, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
}

func TestWriteShardsRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "out")
	opts := &Options{Seed: 11} // defaults: 24 pairs, 3 shards
	paths, err := WriteShards(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	pairs, err := Pairs(opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) != DefaultShards {
		t.Fatalf("got %d shards", len(paths))
	}
	var got []wds.Sample
	for i, p := range paths {
		if filepath.Base(p) != ShardName(i) || filepath.Dir(p) != dir {
			t.Errorf("shard %d path %q", i, p)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		ss := readShard(t, data)
		if len(ss) != DefaultPairs/DefaultShards {
			t.Errorf("shard %d holds %d samples", i, len(ss))
		}
		got = append(got, ss...)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != len(paths) {
		t.Errorf("dir holds %d entries, want %d (temporary files left?)", len(entries), len(paths))
	}
	if len(got) != len(pairs) {
		t.Fatalf("read %d samples, want %d", len(got), len(pairs))
	}
	for i, s := range got {
		p := pairs[i]
		if s.Problem != "" {
			t.Errorf("sample %s: problem %q", s.Key, s.Problem)
		}
		if s.Key != p.Key || s.Caption != p.Caption || !s.HasCaption || s.ImageExt != p.Ext || !bytes.Equal(s.Image, p.Image) {
			t.Errorf("sample %d: got key %q caption %q ext %q, want %q %q %q (image equal: %v)",
				i, s.Key, s.Caption, s.ImageExt, p.Key, p.Caption, p.Ext, bytes.Equal(s.Image, p.Image))
		}
		var m struct {
			Key, Caption  string
			Width, Height int
		}
		if err := json.Unmarshal(s.JSON, &m); err != nil {
			t.Fatalf("sample %s: json: %v", s.Key, err)
		}
		cfg, _, err := image.DecodeConfig(bytes.NewReader(p.Image))
		if err != nil {
			t.Fatal(err)
		}
		if m.Key != p.Key || m.Caption != p.Caption || m.Width != cfg.Width || m.Height != cfg.Height {
			t.Errorf("sample %s: json %+v, image %dx%d", s.Key, m, cfg.Width, cfg.Height)
		}
	}
}

func TestWriteTarBrokenSamples(t *testing.T) {
	pairs, err := Pairs(&Options{Pairs: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	broken := []Pair{
		pairs[0],
		{Key: "000000100", Caption: "no image here"},
		{Key: "000000101", Caption: "   ", Image: pairs[1].Image, Ext: "jpg"},
		{Key: "000000102", Caption: "caf\xe9", Image: pairs[1].Image, Ext: "jpg"},
		{Key: "../evil", Caption: "escape", Image: []byte("x"), Ext: "jpg"},
		pairs[1],
	}
	var buf bytes.Buffer
	if err := WriteTar(&buf, broken); err != nil {
		t.Fatal(err)
	}
	got := readShard(t, buf.Bytes())
	wantProblem := []string{"", "no image member", "empty caption", "not valid UTF-8", "unsafe member name", ""}
	if len(got) != len(wantProblem) {
		t.Fatalf("got %d samples, want %d", len(got), len(wantProblem))
	}
	for i, w := range wantProblem {
		if (w == "") != (got[i].Problem == "") || !strings.Contains(got[i].Problem, w) {
			t.Errorf("sample %d (%s): problem %q, want %q", i, got[i].Key, got[i].Problem, w)
		}
	}
}

func TestOptionErrors(t *testing.T) {
	tests := []struct {
		name string
		opts *Options
	}{
		{name: "negative pairs", opts: &Options{Pairs: -1}},
		{name: "too many pairs", opts: &Options{Pairs: MaxPairs + 1}},
		{name: "negative shards", opts: &Options{Shards: -2}},
		{name: "tiny width", opts: &Options{Width: 10}},
		{name: "huge height", opts: &Options{Height: MaxSide + 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Pairs(tc.opts); err == nil {
				t.Fatal("Pairs accepted invalid options")
			}
			if _, err := WriteShards(t.TempDir(), tc.opts); err == nil {
				t.Fatal("WriteShards accepted invalid options")
			}
		})
	}
	if _, err := WriteShards(t.TempDir(), &Options{Pairs: 2, Shards: 3}); err == nil {
		t.Fatal("more shards than pairs accepted")
	}
	for _, p := range []Pair{{Key: ""}, {Key: "a.b"}, {Key: "k", Image: []byte("x"), Ext: ""}} {
		if err := WriteTar(io.Discard, []Pair{p}); err == nil {
			t.Errorf("WriteTar accepted %+v", p)
		}
	}
}
