package coco_test

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/groundbeam/groundbeam/report/coco"
	"github.com/groundbeam/groundbeam/report/internal/testout"
	"github.com/groundbeam/groundbeam/schemas"
)

// doc is the COCO document as a consumer reads it.
type doc struct {
	Info     map[string]any `json:"info"`
	Licenses []any          `json:"licenses"`
	Images   []struct {
		ID       int64  `json:"id"`
		FileName string `json:"file_name"`
		Width    int    `json:"width"`
		Height   int    `json:"height"`
		Caption  string `json:"caption"`
	} `json:"images"`
	Categories []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"categories"`
	Annotations []struct {
		ID             int64      `json:"id"`
		ImageID        int64      `json:"image_id"`
		CategoryID     int64      `json:"category_id"`
		BBox           []float64  `json:"bbox"`
		Area           *float64   `json:"area"`
		IsCrowd        *int       `json:"iscrowd"`
		Score          *float64   `json:"score"`
		TokensPositive [][2]int32 `json:"tokens_positive"`
	} `json:"annotations"`
}

func export(t *testing.T, out string, opts coco.Options) ([]byte, coco.Summary) {
	t.Helper()
	var buf bytes.Buffer
	sum, err := coco.Export(context.Background(), out, &buf, opts)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), sum
}

// checkRules checks the format's rules and returns the parsed document.
func checkRules(t *testing.T, raw []byte, sum coco.Summary) *doc {
	t.Helper()
	var d doc
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if d.Images == nil || d.Categories == nil || d.Annotations == nil || d.Info == nil || d.Licenses == nil {
		t.Error("missing one of info, licenses, images, categories, annotations")
	}
	if len(d.Images) != sum.Images || len(d.Annotations) != sum.Annotations || len(d.Categories) != sum.Categories {
		t.Errorf("summary %+v, document has %d images, %d annotations, %d categories", sum, len(d.Images), len(d.Annotations), len(d.Categories))
	}
	type size struct{ w, h float64 }
	images := map[int64]size{}
	for _, im := range d.Images {
		if im.ID <= 0 || images[im.ID] != (size{}) {
			t.Errorf("image id %d not positive or not unique", im.ID)
		}
		if im.Width <= 0 || im.Height <= 0 || im.FileName == "" {
			t.Errorf("image %d: size %dx%d, file_name %q", im.ID, im.Width, im.Height, im.FileName)
		}
		images[im.ID] = size{float64(im.Width), float64(im.Height)}
	}
	cats := map[int64]bool{}
	names := map[string]bool{}
	for _, c := range d.Categories {
		if c.ID <= 0 || cats[c.ID] {
			t.Errorf("category id %d not positive or not unique", c.ID)
		}
		if c.Name == "" || names[c.Name] {
			t.Errorf("category %d: name %q empty or repeated", c.ID, c.Name)
		}
		cats[c.ID], names[c.Name] = true, true
	}
	anns := map[int64]bool{}
	for _, a := range d.Annotations {
		if a.ID <= 0 || anns[a.ID] {
			t.Errorf("annotation id %d not positive or not unique", a.ID)
		}
		anns[a.ID] = true
		im, ok := images[a.ImageID]
		if !ok {
			t.Errorf("annotation %d: no image %d", a.ID, a.ImageID)
		}
		if !cats[a.CategoryID] {
			t.Errorf("annotation %d: no category %d", a.ID, a.CategoryID)
		}
		if len(a.BBox) != 4 {
			t.Errorf("annotation %d: bbox %v", a.ID, a.BBox)
			continue
		}
		x, y, w, h := a.BBox[0], a.BBox[1], a.BBox[2], a.BBox[3]
		if !(w > 0 && h > 0 && x >= 0 && y >= 0 && x+w <= im.w && y+h <= im.h) {
			t.Errorf("annotation %d: bbox %v outside the %vx%v image or empty", a.ID, a.BBox, im.w, im.h)
		}
		if a.Area == nil || *a.Area != w*h {
			t.Errorf("annotation %d: area %v, want w*h = %v", a.ID, a.Area, w*h)
		}
		if a.IsCrowd == nil || *a.IsCrowd != 0 {
			t.Errorf("annotation %d: iscrowd %v, want 0", a.ID, a.IsCrowd)
		}
		if a.Score == nil || *a.Score < 0 || *a.Score > 1 {
			t.Errorf("annotation %d: score %v", a.ID, a.Score)
		}
	}
	return &d
}

func TestExport(t *testing.T) {
	tests := []struct {
		name       string
		corpus     testout.Options
		opts       coco.Options
		vocabulary bool
		noBoxes    bool // every box skipped
	}{
		{"phrases auto", testout.Options{}, coco.Options{}, false, false},
		{"vocabulary auto", testout.Options{Vocabulary: true}, coco.Options{}, true, false},
		{"vocabulary as phrases", testout.Options{Vocabulary: true}, coco.Options{Categories: coco.CategoriesPhrases}, false, false},
		{"phrases forced to vocabulary", testout.Options{}, coco.Options{Categories: coco.CategoriesVocabulary}, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := testout.Build(t, tt.corpus)
			raw, sum := export(t, c.Out, tt.opts)
			if again, _ := export(t, c.Out, tt.opts); !bytes.Equal(raw, again) {
				t.Error("two exports differ")
			}
			d := checkRules(t, raw, sum)
			if sum.Vocabulary != tt.vocabulary {
				t.Errorf("Vocabulary %v, want %v", sum.Vocabulary, tt.vocabulary)
			}

			// Images: one per row, in row order, with the row's source and size.
			if len(d.Images) != len(c.Labels) {
				t.Fatalf("%d images for %d rows", len(d.Images), len(c.Labels))
			}
			var boxes int
			for i, r := range c.Labels {
				im := d.Images[i]
				if im.ID != int64(i+1) || im.FileName != r.Source || im.Width != int(r.Width) || im.Height != int(r.Height) || im.Caption != r.Caption {
					t.Errorf("image %d = %+v, want row %s %dx%d", i, im, r.Source, r.Width, r.Height)
				}
				boxes += len(r.Boxes)
			}
			if tt.noBoxes {
				if sum.Annotations != 0 || sum.Categories != 0 || sum.SkippedBoxes != boxes {
					t.Errorf("summary %+v, want every one of %d boxes skipped", sum, boxes)
				}
				return
			}
			if sum.Annotations != boxes || sum.SkippedBoxes != 0 {
				t.Fatalf("summary %+v, want %d annotations", sum, boxes)
			}

			// Categories.
			catName := map[int64]string{}
			for _, c := range d.Categories {
				catName[c.ID] = c.Name
			}
			want := map[string]bool{}
			for _, r := range c.Labels {
				for _, b := range r.Boxes {
					want[strings.ToLower(b.Phrase)] = true
				}
			}
			if len(d.Categories) != len(want) {
				t.Errorf("%d categories, want %d", len(d.Categories), len(want))
			}

			// Annotations: in row then box order, each the row's box.
			k := 0
			for i, r := range c.Labels {
				for _, b := range r.Boxes {
					a := d.Annotations[k]
					k++
					if a.ImageID != int64(i+1) {
						t.Errorf("annotation %d on image %d, want %d", a.ID, a.ImageID, i+1)
					}
					// Vocabulary names are the class's phrase as written.
					if got := catName[a.CategoryID]; !strings.EqualFold(got, b.Phrase) || (!tt.vocabulary && got != strings.ToLower(b.Phrase)) {
						t.Errorf("annotation %d category %q, want %q", a.ID, got, strings.ToLower(b.Phrase))
					}
					if tt.vocabulary && a.CategoryID != int64(b.LabelID)+1 {
						t.Errorf("annotation %d category %d, want label_id+1 = %d", a.ID, a.CategoryID, b.LabelID+1)
					}
					if math.Abs(*a.Score-float64(b.Score)) > 1e-6 {
						t.Errorf("annotation %d score %v, want %v", a.ID, *a.Score, b.Score)
					}
					x1, y1 := math.Max(0, float64(b.XYXY[0])), math.Max(0, float64(b.XYXY[1]))
					x2, y2 := math.Min(float64(r.Width), float64(b.XYXY[2])), math.Min(float64(r.Height), float64(b.XYXY[3]))
					wantBox := []float64{x1, y1, x2 - x1, y2 - y1}
					for j := range wantBox {
						if math.Abs(a.BBox[j]-wantBox[j]) > 0.011 {
							t.Errorf("annotation %d bbox %v, want %v (clipped xywh)", a.ID, a.BBox, wantBox)
							break
						}
					}
					if !tt.vocabulary && b.CharStart >= 0 {
						span := string([]rune(r.Caption)[b.CharStart:b.CharEnd])
						if len(a.TokensPositive) != 1 || a.TokensPositive[0] != [2]int32{b.CharStart, b.CharEnd} || !strings.EqualFold(span, b.Phrase) {
							t.Errorf("annotation %d tokens_positive %v, want [[%d %d]] (%q)", a.ID, a.TokensPositive, b.CharStart, b.CharEnd, span)
						}
					}
				}
			}
		})
	}
}

func TestExportSkips(t *testing.T) {
	out := t.TempDir()
	nan := float32(math.NaN())
	box := func(x1, y1, x2, y2 float32, phrase string) schemas.Box {
		return schemas.Box{XYXY: []float32{x1, y1, x2, y2}, Score: 0.5, Phrase: phrase, LabelID: -1, CharStart: -1, CharEnd: -1}
	}
	rows := []schemas.LabelRow{
		{Key: "a", Source: "a.jpg", Width: 100, Height: 50, Boxes: []schemas.Box{
			box(10, 10, 20, 20, "Dog"),
			box(30, 40, 5, 2, "  dog "),                           // corners reversed: kept
			box(10, 10, 10, 20, "dog"),                            // zero width
			box(nan, 0, 5, 5, "dog"),                              // NaN
			box(200, 60, 300, 90, "dog"),                          // wholly outside
			box(99.996, 0, 120, 10, "dog"),                        // under 0.01 px left after clipping
			box(1, 2, 3, 4, "   "),                                // no phrase
			{XYXY: []float32{1, 2, 3}, Score: 0.5, Phrase: "cat"}, // malformed
			box(0.333, 0.666, 99.999, 49.995, "cat"),
			// a region proposal: neither exported nor counted as skipped
			{XYXY: []float32{1, 1, 9, 9}, Score: 0.9, Phrase: "wolf", LabelID: -1, CharStart: -1, CharEnd: -1, Kind: schemas.KindProposal},
		}},
		{Key: "b", Source: "b.jpg", Width: 0, Height: 0, Boxes: []schemas.Box{box(1, 1, 2, 2, "dog")}},
	}
	if err := os.MkdirAll(filepath.Join(out, "labels"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := parquet.WriteFile(filepath.Join(out, "labels", "a.parquet"), rows); err != nil {
		t.Fatal(err)
	}
	raw, sum := export(t, out, coco.Options{})
	d := checkRules(t, raw, sum)
	if sum.Images != 1 || sum.SkippedImages != 1 || sum.Annotations != 3 || sum.SkippedBoxes != 6 || sum.Categories != 2 {
		t.Errorf("summary %+v, want 1 image (1 skipped), 3 annotations (6 skipped), 2 categories", sum)
	}
	if len(d.Annotations) == 3 {
		if got := d.Annotations[1].BBox; got[0] != 5 || got[1] != 2 || got[2] != 25 || got[3] != 38 {
			t.Errorf("reversed corners give %v, want [5 2 25 38]", got)
		}
		if got := d.Annotations[2].BBox; got[0] != 0.33 || got[1] != 0.67 || got[0]+got[2] > 100 || got[1]+got[3] > 50 {
			t.Errorf("fractional box gives %v", got)
		}
	}
	if d.Categories[0].Name != "cat" || d.Categories[1].Name != "dog" {
		t.Errorf("categories %+v, want cat then dog", d.Categories)
	}
}

func TestCategoryMode(t *testing.T) {
	for _, m := range []coco.CategoryMode{coco.CategoriesAuto, coco.CategoriesPhrases, coco.CategoriesVocabulary} {
		got, err := coco.ParseCategoryMode(m.String())
		if err != nil || got != m {
			t.Errorf("ParseCategoryMode(%q) = %v, %v", m.String(), got, err)
		}
	}
	if _, err := coco.ParseCategoryMode("classes"); err == nil {
		t.Error("ParseCategoryMode accepted \"classes\"")
	}
	if _, err := coco.Export(context.Background(), t.TempDir(), &bytes.Buffer{}, coco.Options{Categories: 7}); err == nil {
		t.Error("Export accepted category mode 7")
	}
}
