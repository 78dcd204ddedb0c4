// Package coco exports a groundbeam output folder as COCO "instances"
// JSON, so the corpus can be loaded by detection training code
// (pycocotools, detectron2, mmdetection and the like).
//
// Images are the label rows (file_name is the row's source), categories
// are the distinct phrases or the vocabulary classes, and annotations are
// the boxes as [x, y, width, height] pixel boxes clipped to the image,
// with the teacher's score as an extra field.
package coco

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/groundbeam/groundbeam/report"
	"github.com/groundbeam/groundbeam/schemas"
)

// CategoryMode says what the categories are.
type CategoryMode int

// Category modes.
const (
	// CategoriesAuto uses CategoriesVocabulary when every usable box has
	// a label_id ≥ 0, and CategoriesPhrases otherwise.
	CategoriesAuto CategoryMode = iota
	// CategoriesPhrases makes one category per distinct phrase
	// (lower-cased, trimmed, white space collapsed), with ids from 1 in
	// the phrases' sorted order.
	CategoriesPhrases
	// CategoriesVocabulary makes one category per label_id that occurs,
	// with id label_id+1 and the name of its first box's phrase. Boxes
	// with label_id < 0 are skipped.
	CategoriesVocabulary
)

// String names the mode: "auto", "phrases" or "vocabulary".
func (m CategoryMode) String() string {
	switch m {
	case CategoriesAuto:
		return "auto"
	case CategoriesPhrases:
		return "phrases"
	case CategoriesVocabulary:
		return "vocabulary"
	}
	return fmt.Sprintf("CategoryMode(%d)", int(m))
}

// ParseCategoryMode parses the names String gives.
func ParseCategoryMode(s string) (CategoryMode, error) {
	for _, m := range []CategoryMode{CategoriesAuto, CategoriesPhrases, CategoriesVocabulary} {
		if s == m.String() {
			return m, nil
		}
	}
	return 0, fmt.Errorf("coco: unknown category mode %q (want auto, phrases or vocabulary)", s)
}

// Options controls Export. The zero value picks the category mode
// automatically.
type Options struct {
	// Categories says what the categories are; default CategoriesAuto.
	Categories CategoryMode
}

// Summary counts what Export wrote and what it left out.
type Summary struct {
	// Images, Annotations and Categories are the entries written.
	Images, Annotations, Categories int
	// Vocabulary is true when categories are vocabulary classes, false
	// when they are phrases.
	Vocabulary bool
	// SkippedImages counts rows without a positive width and height.
	SkippedImages int
	// SkippedBoxes counts boxes left out: malformed or non-finite
	// coordinates or score, nothing left after clipping to the image, an
	// empty phrase, or (vocabulary mode) a label_id < 0.
	SkippedBoxes int
}

// ErrChanged is returned when the output folder changes between Export's
// two reads of it.
var ErrChanged = errors.New("coco: output changed while exporting")

type image struct {
	ID       int64  `json:"id"`
	FileName string `json:"file_name"`
	Width    int32  `json:"width"`
	Height   int32  `json:"height"`
	Key      string `json:"key"`
	Caption  string `json:"caption"`
}

type category struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

type annotation struct {
	ID         int64      `json:"id"`
	ImageID    int64      `json:"image_id"`
	CategoryID int64      `json:"category_id"`
	BBox       [4]float64 `json:"bbox"`
	Area       float64    `json:"area"`
	IsCrowd    int        `json:"iscrowd"`
	Score      float32    `json:"score"`
	// TokensPositive is the phrase's [start, end) span in the image's
	// caption, in code points (MDETR/GLIP convention), in phrase mode.
	TokensPositive [][2]int32 `json:"tokens_positive,omitempty"`
}

type info struct {
	Description string `json:"description"`
	Version     string `json:"version"`
}

// Export reads the labels under out (local or gs://) twice, one batch of
// rows at a time, and writes one COCO instances document to w:
// {"info", "licenses", "images", "categories", "annotations"}. Images
// have ids from 1 in the order the rows are read (files by name, rows in
// file order); annotations have ids from 1 in image order, then box order.
// The same folder always gives the same bytes.
func Export(ctx context.Context, out string, w io.Writer, opts Options) (Summary, error) {
	var sum Summary
	mode := opts.Categories
	if mode < CategoriesAuto || mode > CategoriesVocabulary {
		return sum, fmt.Errorf("coco: unknown category mode %d", int(mode))
	}
	jw := &jsonWriter{w: bufio.NewWriterSize(w, 1<<16)}
	jw.raw(`{"info": `)
	jw.value(info{Description: "groundbeam pseudo-labels from " + out, Version: fmt.Sprintf("groundbeam schema %d", schemas.Version)})
	jw.raw(",\n\"licenses\": [],\n\"images\": [")

	// First read: images, and what the categories are.
	phrases := map[string]bool{}
	vocab := map[int32]string{}
	allVocab, anyBox := true, false
	var rows int
	err := report.ScanLabels(ctx, out, func(r schemas.LabelRow) error {
		rows++
		r.Boxes = report.TeacherBoxes(r.Boxes) // proposals are not labels
		if !report.Sized(r) {
			sum.SkippedImages++
			return nil
		}
		sum.Images++
		jw.elem(sum.Images == 1, image{ID: int64(sum.Images), FileName: r.Source, Width: r.Width, Height: r.Height, Key: r.Key, Caption: r.Caption})
		for _, b := range r.Boxes {
			if _, ok := report.ClipBox(b, r); !ok {
				continue
			}
			anyBox = true
			if b.LabelID < 0 {
				allVocab = false
			} else if _, ok := vocab[b.LabelID]; !ok {
				vocab[b.LabelID] = strings.TrimSpace(b.Phrase)
			}
			if p := report.NormalisePhrase(b.Phrase); p != "" && !phrases[p] {
				phrases[p] = true
			}
		}
		return jw.err
	})
	if err != nil {
		return sum, fmt.Errorf("coco: %w", err)
	}
	sum.Vocabulary = mode == CategoriesVocabulary || (mode == CategoriesAuto && anyBox && allVocab)

	jw.raw("\n],\n\"categories\": [")
	phraseID := map[string]int64{}
	if sum.Vocabulary {
		ids := make([]int32, 0, len(vocab))
		for id := range vocab {
			ids = append(ids, id)
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		for i, id := range ids {
			jw.elem(i == 0, category{ID: int64(id) + 1, Name: vocab[id]})
		}
		sum.Categories = len(ids)
	} else {
		names := make([]string, 0, len(phrases))
		for p := range phrases {
			names = append(names, p)
		}
		sort.Strings(names)
		for i, p := range names {
			phraseID[p] = int64(i) + 1
			jw.elem(i == 0, category{ID: int64(i) + 1, Name: p})
		}
		sum.Categories = len(names)
	}

	// Second read: annotations, with the same image ids as the first.
	jw.raw("\n],\n\"annotations\": [")
	var rows2, imageID int
	err = report.ScanLabels(ctx, out, func(r schemas.LabelRow) error {
		rows2++
		r.Boxes = report.TeacherBoxes(r.Boxes)
		if !report.Sized(r) {
			return nil
		}
		imageID++
		for _, b := range r.Boxes {
			box, ok := report.ClipBox(b, r)
			var cat int64
			switch {
			case !ok:
			case sum.Vocabulary && b.LabelID >= 0:
				cat = int64(b.LabelID) + 1
			case !sum.Vocabulary:
				cat = phraseID[report.NormalisePhrase(b.Phrase)]
			}
			if cat == 0 {
				sum.SkippedBoxes++
				continue
			}
			sum.Annotations++
			a := annotation{ID: int64(sum.Annotations), ImageID: int64(imageID), CategoryID: cat,
				BBox: box.XYWH(), Area: box.Area(), Score: b.Score}
			if !sum.Vocabulary && b.CharStart >= 0 && b.CharEnd > b.CharStart {
				a.TokensPositive = [][2]int32{{b.CharStart, b.CharEnd}}
			}
			jw.elem(sum.Annotations == 1, a)
		}
		return jw.err
	})
	if err != nil {
		return sum, fmt.Errorf("coco: %w", err)
	}
	if rows2 != rows || imageID != sum.Images {
		return sum, fmt.Errorf("%w: %d rows on the first read, %d on the second", ErrChanged, rows, rows2)
	}
	jw.raw("\n]}\n")
	if jw.err == nil {
		jw.err = jw.w.Flush()
	}
	if jw.err != nil {
		return sum, fmt.Errorf("coco: write: %w", jw.err)
	}
	return sum, nil
}

// jsonWriter writes JSON pieces and keeps the first error.
type jsonWriter struct {
	w   *bufio.Writer
	err error
}

func (j *jsonWriter) raw(s string) {
	if j.err == nil {
		_, j.err = j.w.WriteString(s)
	}
}

func (j *jsonWriter) value(v any) {
	if j.err != nil {
		return
	}
	b, err := json.Marshal(v)
	if err != nil {
		j.err = err
		return
	}
	_, j.err = j.w.Write(b)
}

// elem writes one array element on its own line.
func (j *jsonWriter) elem(first bool, v any) {
	if first {
		j.raw("\n")
	} else {
		j.raw(",\n")
	}
	j.value(v)
}
