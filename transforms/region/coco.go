package region

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"path"
	"strconv"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"

	"github.com/groundbeam/groundbeam/schemas"
)

func init() {
	register.DoFn3x1[context.Context, []byte, func(Task), error](&readCOCOFn{})
	register.Emitter1[Task]()
}

// DefaultChunk is the default number of COCO images per Task (and per
// output file).
const DefaultChunk = 1000

// COCOConfig names a COCO or LVIS instances file and the images it
// describes.
type COCOConfig struct {
	// Path is the instances JSON file: local, gs:// or s3://.
	Path string
	// Images is the folder the images' names are relative to: local,
	// gs:// or s3://.
	Images string
	// ChunkSize is the number of images per Task (default DefaultChunk).
	ChunkSize int
	// Identity, when set, is the identity (COCO.Identity) the file must
	// still have when the pipeline reads it: LoadCOCO's at launch.
	Identity string
}

// COCO is a parsed instances file, split into tasks of ChunkSize images.
type COCO struct {
	// Identity is the file's base name and the first 12 hex digits of its
	// sha256 ("instances_val2017.json@0123456789ab"): the rows' teacher
	// provenance, since the boxes come from it.
	Identity string
	// Tasks hold one row per image, in file order, ChunkSize to a task;
	// task i is named BASE-0000i (BASE: the file name without .json),
	// which is also its rows' Shard and its output files' name.
	Tasks []Task
	// Images and Boxes count the file's images and annotations.
	Images int
	Boxes  int
}

// Shards lists the tasks' names, in order.
func (c *COCO) Shards() []string {
	out := make([]string, len(c.Tasks))
	for i, t := range c.Tasks {
		out[i] = t.Shard
	}
	return out
}

// cocoFile is the part of a COCO or LVIS instances file embed reads.
type cocoFile struct {
	Images []struct {
		ID       int64  `json:"id"`
		FileName string `json:"file_name"`
		COCOURL  string `json:"coco_url"`
		Width    int    `json:"width"`
		Height   int    `json:"height"`
	} `json:"images"`
	Annotations []struct {
		ID         int64     `json:"id"`
		ImageID    int64     `json:"image_id"`
		CategoryID int64     `json:"category_id"`
		BBox       []float64 `json:"bbox"`
	} `json:"annotations"`
	Categories []struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	} `json:"categories"`
}

// LoadCOCO reads cfg.Path and parses it with ParseCOCO.
func LoadCOCO(ctx context.Context, cfg COCOConfig) (*COCO, error) {
	fs, err := filesystem.New(ctx, cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("coco %s: %w", cfg.Path, err)
	}
	defer fs.Close()
	rc, err := fs.OpenRead(ctx, cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("coco %s: %w", cfg.Path, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, fmt.Errorf("coco %s: %w", cfg.Path, err)
	}
	return ParseCOCO(data, cfg.Path, cfg.Images, cfg.ChunkSize)
}

// ParseCOCO turns a COCO or LVIS instances file (read from name) into
// rows to embed, one per image, images without annotations included:
// Key is the image id, Source is images/FILE_NAME (LVIS, which has no
// file_name, gives the last two parts of its coco_url, "val2017/X.jpg",
// as detectron2 does), Width and Height are the file's, Caption is empty,
// and each annotation, in file order, is a Box with its xywh bbox as xyxy
// clipped to the image, Score 1, Phrase the category's name, LabelID the
// category id and CharStart and CharEnd -1. Rows are split into tasks of
// chunk images (0: DefaultChunk). A file that is not such JSON, or whose
// annotations name unknown images or categories, is an error.
func ParseCOCO(data []byte, name, images string, chunk int) (*COCO, error) {
	if chunk <= 0 {
		chunk = DefaultChunk
	}
	var f cocoFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("coco %s: %w", name, err)
	}
	if len(f.Images) == 0 {
		return nil, fmt.Errorf("coco %s: no images", name)
	}
	sum := sha256.Sum256(data)
	base := path.Base(name)
	c := &COCO{Identity: base + "@" + hex.EncodeToString(sum[:])[:12], Images: len(f.Images), Boxes: len(f.Annotations)}
	cats := make(map[int64]string, len(f.Categories))
	for _, cat := range f.Categories {
		if cat.ID < math.MinInt32 || cat.ID > math.MaxInt32 {
			return nil, fmt.Errorf("coco %s: category id %d does not fit int32", name, cat.ID)
		}
		cats[cat.ID] = cat.Name
	}
	rows := make([]schemas.LabelRow, len(f.Images))
	byID := make(map[int64]int, len(f.Images))
	stem := strings.TrimSuffix(base, ".json")
	for i, im := range f.Images {
		if _, dup := byID[im.ID]; dup {
			return nil, fmt.Errorf("coco %s: image id %d is listed twice", name, im.ID)
		}
		byID[im.ID] = i
		file := im.FileName
		if file == "" && im.COCOURL != "" {
			parts := strings.Split(strings.TrimRight(im.COCOURL, "/"), "/")
			file = strings.Join(parts[max(len(parts)-2, 0):], "/")
		}
		if file == "" {
			return nil, fmt.Errorf("coco %s: image %d has neither file_name nor coco_url", name, im.ID)
		}
		if im.Width <= 0 || im.Height <= 0 {
			return nil, fmt.Errorf("coco %s: image %d has size %dx%d", name, im.ID, im.Width, im.Height)
		}
		rows[i] = schemas.LabelRow{
			Key: strconv.FormatInt(im.ID, 10), Source: join(images, file), Shard: chunkName(stem, i/chunk),
			Width: int32(im.Width), Height: int32(im.Height), Teacher: c.Identity, SchemaVersion: schemas.Version,
			Boxes: []schemas.Box{},
		}
	}
	for k, a := range f.Annotations {
		i, ok := byID[a.ImageID]
		if !ok {
			return nil, fmt.Errorf("coco %s: annotation %d (id %d) names image %d, which the file does not list", name, k, a.ID, a.ImageID)
		}
		cat, ok := cats[a.CategoryID]
		if !ok {
			return nil, fmt.Errorf("coco %s: annotation %d (id %d) names category %d, which the file does not list", name, k, a.ID, a.CategoryID)
		}
		if len(a.BBox) != 4 {
			return nil, fmt.Errorf("coco %s: annotation %d (id %d) has a bbox of %d numbers, want x, y, w, h", name, k, a.ID, len(a.BBox))
		}
		r := &rows[i]
		w, h := float64(r.Width), float64(r.Height)
		x, y, bw, bh := a.BBox[0], a.BBox[1], a.BBox[2], a.BBox[3]
		r.Boxes = append(r.Boxes, schemas.Box{
			XYXY:  []float32{clampF(x, w), clampF(y, h), clampF(x+bw, w), clampF(y+bh, h)},
			Score: 1, Phrase: cat, LabelID: int32(a.CategoryID), CharStart: -1, CharEnd: -1,
			Kind: schemas.KindAnnotation,
		})
	}
	for lo := 0; lo < len(rows); lo += chunk {
		hi := min(lo+chunk, len(rows))
		name := chunkName(stem, lo/chunk)
		c.Tasks = append(c.Tasks, Task{Shard: name, Name: name, Rows: rows[lo:hi:hi]})
	}
	return c, nil
}

func chunkName(stem string, i int) string { return fmt.Sprintf("%s-%05d", stem, i) }

// clampF clips v to [0, hi].
func clampF(v, hi float64) float32 { return float32(math.Max(0, math.Min(v, hi))) }

// join joins a local or object-store folder and a relative name.
func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return strings.TrimRight(dir, "/") + "/" + strings.TrimLeft(name, "/")
}

// ReadCOCO reads and parses the instances file inside the pipeline (so
// that the rows travel as elements, not in the pipeline's graph) and
// returns its tasks as a PCollection of Task, spread over workers.
func ReadCOCO(s beam.Scope, cfg COCOConfig) beam.PCollection {
	s = s.Scope("region.ReadCOCO")
	return beam.Reshuffle(s, beam.ParDo(s, &readCOCOFn{Cfg: cfg}, beam.Impulse(s)))
}

type readCOCOFn struct {
	Cfg COCOConfig
}

// ProcessElement runs once: it emits every task of the file.
func (f *readCOCOFn) ProcessElement(ctx context.Context, _ []byte, emit func(Task)) error {
	c, err := LoadCOCO(ctx, f.Cfg)
	if err != nil {
		return err
	}
	if f.Cfg.Identity != "" && c.Identity != f.Cfg.Identity {
		return fmt.Errorf("coco %s changed since the pipeline was built: %s, was %s", f.Cfg.Path, c.Identity, f.Cfg.Identity)
	}
	for _, t := range c.Tasks {
		emit(t)
	}
	return nil
}
