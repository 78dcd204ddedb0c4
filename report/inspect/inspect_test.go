package inspect

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/groundbeam/groundbeam/report/internal/testout"
	"github.com/groundbeam/groundbeam/schemas"
)

// writeArtifacts keeps the sheet for a human look when
// GROUNDBEAM_REPORT_ARTIFACTS names a folder.
func writeArtifacts(t *testing.T, name string, data []byte) {
	if dir := os.Getenv("GROUNDBEAM_REPORT_ARTIFACTS"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func rgbaAt(img image.Image, x, y int) color.RGBA {
	r, g, b, a := img.At(x, y).RGBA()
	return color.RGBA{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8), uint8(a >> 8)}
}

// byKey returns the corpus rows sorted by key, as Sheet selects them.
func byKey(c *testout.Corpus) map[string]schemas.LabelRow {
	m := map[string]schemas.LabelRow{}
	for _, r := range c.Labels {
		m[r.Key] = r
	}
	return m
}

func TestSheet(t *testing.T) {
	tests := []struct {
		name   string
		corpus testout.Options
		opts   Options
		cells  int
		cols   int
	}{
		{"unscaled", testout.Options{Side: 256, Missing: true}, Options{Thumb: 256}, 10, 4},
		{"scaled", testout.Options{Missing: true}, Options{N: 6, Columns: 3, Thumb: 128}, 6, 3},
		{"vocabulary", testout.Options{Vocabulary: true}, Options{N: 4}, 4, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testout.Build(t, tt.corpus)
			pngBytes, page, err := Sheet(context.Background(), c.Out, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			writeArtifacts(t, "sheet-"+tt.name+".png", pngBytes)
			writeArtifacts(t, "sheet-"+tt.name+".html", page)
			img, err := png.Decode(bytes.NewReader(pngBytes))
			if err != nil {
				t.Fatalf("sheet does not decode: %v", err)
			}
			s, _ := resolve(tt.opts)
			g := newGeometry(tt.cells, s)
			if g.cols != tt.cols {
				t.Errorf("columns %d, want %d", g.cols, tt.cols)
			}
			if img.Bounds().Size() != g.size() {
				t.Errorf("sheet is %v, want %v", img.Bounds().Size(), g.size())
			}
			rows := byKey(c)
			keys := sortedKeys(rows)[:tt.cells]

			// The known box: row 0 (the first key) has exactly one box.
			r0 := rows[keys[0]]
			if len(r0.Boxes) != 1 {
				t.Fatalf("corpus row 0 has %d boxes, want 1", len(r0.Boxes))
			}
			area := g.imageArea(0)
			dst := placement(area, int(r0.Width), int(r0.Height))
			if tt.opts.Thumb == 256 && dst != area {
				t.Fatalf("256 px image in a 256 px cell placed at %v, want %v", dst, area)
			}
			br, ok := boxRect(r0.Boxes[0].XYXY, int(r0.Width), int(r0.Height), dst)
			if !ok {
				t.Fatal("known box not drawable")
			}
			if tt.opts.Thumb == 256 { // unscaled: the edge is at the box's own pixel coordinates
				x0, y0 := int(r0.Boxes[0].XYXY[0]), int(r0.Boxes[0].XYXY[1])
				if br.Min != area.Min.Add(image.Pt(x0, y0)) {
					t.Fatalf("box drawn from %v, want %v", br.Min, area.Min.Add(image.Pt(x0, y0)))
				}
			}
			want := Colour(r0.Boxes[0].Phrase)
			midY := (br.Min.Y + br.Max.Y) / 2
			for _, p := range []image.Point{{br.Min.X, midY}, {br.Min.X + 1, midY}, {br.Max.X - 1, midY}} {
				if got := rgbaAt(img, p.X, p.Y); got != want {
					t.Errorf("pixel %v on the left/right edge of %q is %v, want %v", p, r0.Boxes[0].Phrase, got, want)
				}
			}
			// Just outside the outline is image, not box colour.
			if got := rgbaAt(img, br.Min.X+boxWidth+1, midY); got == want {
				t.Errorf("pixel inside the 2 px outline has the box colour %v", got)
			}

			// Every box is drawn: an edge midpoint has its colour (the
			// others may be under labels).
			for i, key := range keys {
				r := rows[key]
				if strings.Contains(r.Source, "no-such-member") {
					continue
				}
				dst := placement(g.imageArea(i), int(r.Width), int(r.Height))
				for _, b := range r.Boxes {
					br, ok := boxRect(b.XYXY, int(r.Width), int(r.Height), dst)
					if !ok {
						continue
					}
					want := Colour(b.Phrase)
					mx, my := (br.Min.X+br.Max.X)/2, (br.Min.Y+br.Max.Y)/2
					hits := 0
					for _, p := range []image.Point{{br.Min.X, my}, {br.Max.X - 1, my}, {mx, br.Min.Y}, {mx, br.Max.Y - 1}} {
						if rgbaAt(img, p.X, p.Y) == want {
							hits++
						}
					}
					if hits < 1 {
						t.Errorf("%s: box %q %v has its colour on %d of 4 edge midpoints", key, b.Phrase, br, hits)
					}
				}
			}

			// The missing image's cell is grey.
			if tt.corpus.Missing {
				for i, key := range keys {
					if strings.Contains(rows[key].Source, "no-such-member") {
						a := g.imageArea(i)
						if got := rgbaAt(img, a.Max.X-2, a.Max.Y-2); got != missingCell {
							t.Errorf("missing image's cell is %v, want grey %v", got, missingCell)
						}
						if !strings.Contains(string(page), "unavailable: ") {
							t.Error("html does not give the missing image's reason")
						}
					}
				}
			}

			// The HTML embeds the same PNG and lists every drawn key.
			m := regexp.MustCompile(`src="data:image/png;base64,([^"]+)"`).FindSubmatch(page)
			if m == nil {
				t.Fatal("html has no PNG data URI")
			}
			embedded, err := base64.StdEncoding.DecodeString(html.UnescapeString(string(m[1])))
			if err != nil || !bytes.Equal(embedded, pngBytes) {
				t.Errorf("html's data URI is not the sheet (err %v)", err)
			}
			for _, key := range keys {
				if !bytes.Contains(page, []byte("<h2>"+key+"</h2>")) {
					t.Errorf("html has no section for %s", key)
				}
			}
			if n := bytes.Count(page, []byte("<h2>")); n != tt.cells {
				t.Errorf("html has %d image sections, want %d", n, tt.cells)
			}
			// Each drawn box's CLIP score is in its table row.
			for _, key := range keys {
				for _, b := range rows[key].Boxes {
					if b.ClipScore != nil && !bytes.Contains(page, []byte(fmt.Sprintf(`<td class="num">%.3f</td><td class="num">%.3f</td>`, b.Score, *b.ClipScore))) {
						t.Errorf("%s: html lacks box %q's clip score %.3f", key, b.Phrase, *b.ClipScore)
					}
				}
			}
		})
	}
}

func sortedKeys(m map[string]schemas.LabelRow) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := range keys { // insertion sort: tiny
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

func TestSelection(t *testing.T) {
	c := testout.Build(t, testout.Options{Pairs: 12})
	ctx := context.Background()
	s, _ := resolve(Options{N: 5})
	rows, total, err := selectRows(ctx, c.Out, &s)
	if err != nil {
		t.Fatal(err)
	}
	if total != int64(len(c.Labels)) {
		t.Errorf("total %d, want %d", total, len(c.Labels))
	}
	var got []string
	for _, r := range rows {
		got = append(got, r.Key)
		for _, b := range r.Boxes {
			if b.Embedding != nil {
				t.Error("selected rows keep embeddings")
			}
		}
	}
	if want := "000000000 000000001 000000002 000000003 000000004"; strings.Join(got, " ") != want {
		t.Errorf("first 5 by key: %v, want %s", got, want)
	}
	seeded := func(seed uint64) string {
		s, _ := resolve(Options{N: 5, Seed: seed})
		rows, _, err := selectRows(ctx, c.Out, &s)
		if err != nil {
			t.Fatal(err)
		}
		var keys []string
		for _, r := range rows {
			keys = append(keys, r.Key)
		}
		return strings.Join(keys, " ")
	}
	if a, b := seeded(3), seeded(3); a != b {
		t.Errorf("seed 3 gave %s then %s", a, b)
	}
	if seeded(3) == seeded(4) && seeded(4) == seeded(5) {
		t.Errorf("seeds 3, 4 and 5 all chose %s", seeded(3))
	}

	// Files: the rows of one file only, the first by name without a
	// seed, the same one for the same seed, and other seeds reach the
	// other file.
	shardOf := map[string]string{}
	for _, r := range c.Labels {
		shardOf[r.Key] = r.Shard
	}
	fromFiles := func(seed uint64) (string, int64, string) {
		s, _ := resolve(Options{N: 20, Seed: seed, Files: 1})
		rows, total, err := selectRows(ctx, c.Out, &s)
		if err != nil {
			t.Fatal(err)
		}
		shards := map[string]bool{}
		for _, r := range rows {
			shards[shardOf[r.Key]] = true
		}
		if len(shards) != 1 || int64(len(rows)) != total || s.from != ", from 1 of 2 files" {
			t.Fatalf("seed %d: %d rows of %d read, from shards %v (%q)", seed, len(rows), total, shards, s.from)
		}
		for sh := range shards {
			return sh, total, s.from
		}
		return "", 0, ""
	}
	first, total1, _ := fromFiles(0)
	if !strings.HasSuffix(first, "shard-00000.tar") || total1 != int64(len(c.Labels)/2) {
		t.Errorf("no seed: rows from %s (%d), want the first file's %d", first, total1, len(c.Labels)/2)
	}
	a3, _, _ := fromFiles(3)
	b3, _, _ := fromFiles(3)
	if a3 != b3 {
		t.Errorf("seed 3 picked %s, then %s", a3, b3)
	}
	picked := map[string]bool{}
	for seed := uint64(1); seed <= 8; seed++ {
		sh, _, _ := fromFiles(seed)
		picked[sh] = true
	}
	if len(picked) != 2 {
		t.Errorf("seeds 1..8 all picked %v", picked)
	}
}

func TestColour(t *testing.T) {
	if Colour("Red Square") != Colour(" red square") {
		t.Error("Colour depends on case or surrounding space")
	}
	seen := map[color.RGBA]bool{}
	for _, p := range []string{"dog", "cat", "red square", "blue circle", "a person", "tree", "car", "sky"} {
		c := Colour(p)
		if c.A != 255 {
			t.Errorf("Colour(%q) = %v is not opaque", p, c)
		}
		seen[c] = true
	}
	if len(seen) < 4 {
		t.Errorf("8 phrases share %d colours", len(seen))
	}
}

func TestOptionsAndEmpty(t *testing.T) {
	ctx := context.Background()
	for _, o := range []Options{{N: -1}, {N: MaxN + 1}, {Columns: -2}, {Thumb: 10}, {Thumb: MaxThumb + 1}} {
		if _, _, err := Sheet(ctx, t.TempDir(), o); err == nil {
			t.Errorf("Sheet accepted %+v", o)
		}
	}
	if _, _, err := Sheet(ctx, t.TempDir(), Options{}); !errors.Is(err, ErrNoRows) {
		t.Errorf("empty folder: got %v, want ErrNoRows", err)
	}
}
