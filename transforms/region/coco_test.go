package region

import (
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/groundbeam/groundbeam/schemas"
)

func TestParseCOCO(t *testing.T) {
	const cats = `"categories": [{"id": 1, "name": "person"}, {"id": 18, "name": "dog"}]`
	tests := []struct {
		name    string
		json    string
		images  string
		chunk   int
		want    []schemas.LabelRow // Key, Source, Shard, Width, Height, Boxes only
		tasks   []string
		wantErr string
	}{
		{
			name: "coco, clipped boxes, an image without annotations", images: "gs://b/val2017/", chunk: 1,
			json: `{"images": [{"id": 7, "file_name": "a.jpg", "width": 100, "height": 50},
				{"id": 9, "file_name": "b.jpg", "width": 20, "height": 20}],
				"annotations": [{"id": 1, "image_id": 7, "category_id": 18, "bbox": [10, 5, 30, 20]},
				{"id": 2, "image_id": 7, "category_id": 1, "bbox": [-4, 40, 200, 30], "iscrowd": 1}], ` + cats + `}`,
			want: []schemas.LabelRow{
				{Key: "7", Source: "gs://b/val2017/a.jpg", Shard: "instances-00000", Width: 100, Height: 50, Boxes: []schemas.Box{
					{XYXY: []float32{10, 5, 40, 25}, Score: 1, Phrase: "dog", LabelID: 18, CharStart: -1, CharEnd: -1, Kind: schemas.KindAnnotation},
					{XYXY: []float32{0, 40, 100, 50}, Score: 1, Phrase: "person", LabelID: 1, CharStart: -1, CharEnd: -1, Kind: schemas.KindAnnotation},
				}},
				{Key: "9", Source: "gs://b/val2017/b.jpg", Shard: "instances-00001", Width: 20, Height: 20, Boxes: []schemas.Box{}},
			},
			tasks: []string{"instances-00000", "instances-00001"},
		},
		{
			name: "lvis names images by coco_url", images: "/data/coco",
			json: `{"images": [{"id": 139, "coco_url": "http://images.cocodataset.org/val2017/000000000139.jpg", "width": 64, "height": 48}],
				"annotations": [{"id": 5, "image_id": 139, "category_id": 1, "bbox": [1, 2, 3, 4]}], ` + cats + `}`,
			want: []schemas.LabelRow{{Key: "139", Source: "/data/coco/val2017/000000000139.jpg", Shard: "instances-00000", Width: 64, Height: 48,
				Boxes: []schemas.Box{{XYXY: []float32{1, 2, 4, 6}, Score: 1, Phrase: "person", LabelID: 1, CharStart: -1, CharEnd: -1, Kind: schemas.KindAnnotation}}}},
			tasks: []string{"instances-00000"},
		},
		{name: "not json", json: `{"images": [`, wantErr: "unexpected end"},
		{name: "no images", json: `{"images": [], ` + cats + `}`, wantErr: "no images"},
		{name: "image listed twice", json: `{"images": [{"id": 1, "file_name": "a.jpg", "width": 2, "height": 2},
			{"id": 1, "file_name": "b.jpg", "width": 2, "height": 2}]}`, wantErr: "image id 1 is listed twice"},
		{name: "image without a name", json: `{"images": [{"id": 1, "width": 2, "height": 2}]}`, wantErr: "neither file_name nor coco_url"},
		{name: "image without a size", json: `{"images": [{"id": 1, "file_name": "a.jpg"}]}`, wantErr: "size 0x0"},
		{name: "unknown image", json: `{"images": [{"id": 1, "file_name": "a.jpg", "width": 2, "height": 2}],
			"annotations": [{"id": 3, "image_id": 2, "category_id": 1, "bbox": [0, 0, 1, 1]}], ` + cats + `}`, wantErr: "names image 2"},
		{name: "unknown category", json: `{"images": [{"id": 1, "file_name": "a.jpg", "width": 2, "height": 2}],
			"annotations": [{"id": 3, "image_id": 1, "category_id": 4, "bbox": [0, 0, 1, 1]}], ` + cats + `}`, wantErr: "names category 4"},
		{name: "short bbox", json: `{"images": [{"id": 1, "file_name": "a.jpg", "width": 2, "height": 2}],
			"annotations": [{"id": 3, "image_id": 1, "category_id": 1, "bbox": [0, 0, 1]}], ` + cats + `}`, wantErr: "bbox of 3 numbers"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCOCO([]byte(tt.json), "gs://ann/instances.json", tt.images, tt.chunk)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "instances.json") {
					t.Fatalf("err %v, want one naming the file and saying %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !regexp.MustCompile(`^instances\.json@[0-9a-f]{12}$`).MatchString(c.Identity) {
				t.Errorf("identity %q", c.Identity)
			}
			if !reflect.DeepEqual(c.Shards(), tt.tasks) {
				t.Errorf("tasks %v, want %v", c.Shards(), tt.tasks)
			}
			var got []schemas.LabelRow
			for _, task := range c.Tasks {
				for _, r := range task.Rows {
					if r.Teacher != c.Identity || r.ParamsHash != "" || r.Caption != "" || r.SchemaVersion != schemas.Version {
						t.Errorf("row %s: provenance %q %q, caption %q", r.Key, r.Teacher, r.ParamsHash, r.Caption)
					}
					if r.Shard != task.Shard {
						t.Errorf("row %s in task %s says shard %s", r.Key, task.Shard, r.Shard)
					}
					r.Teacher, r.SchemaVersion = "", 0
					got = append(got, r)
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("rows\n%+v\nwant\n%+v", got, tt.want)
			}
			if c.Images != len(tt.want) {
				t.Errorf("%d images", c.Images)
			}
		})
	}
}
