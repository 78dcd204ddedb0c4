package schemas

import (
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

func TestSchemas(t *testing.T) {
	tests := []struct {
		name  string
		model any
		want  string
	}{
		{
			name:  "labels",
			model: LabelRow{},
			want: `message LabelRow {
	required binary key (STRING);
	required binary source (STRING);
	required binary shard (STRING);
	required int32 width (INT(32,true));
	required int32 height (INT(32,true));
	required binary caption (STRING);
	required group boxes (LIST) {
		repeated group list {
			required group element {
				required group xyxy (LIST) {
					repeated group list {
						required float element;
					}
				}
				required float score;
				required binary phrase (STRING);
				required int32 label_id (INT(32,true));
				required int32 char_start (INT(32,true));
				required int32 char_end (INT(32,true));
				required group embedding (LIST) {
					repeated group list {
						required float element;
					}
				}
				required group embedding_f16 (LIST) {
					repeated group list {
						required int32 element (INT(16,false));
					}
				}
				required binary kind (STRING);
				optional float clip_score;
			}
		}
	}
	required binary teacher (STRING);
	required binary clip (STRING);
	required binary params_hash (STRING);
	required int32 schema_version (INT(32,true));
}`,
		},
		{
			name:  "errors",
			model: ErrorRow{},
			want: `message ErrorRow {
	required binary key (STRING);
	required binary source (STRING);
	required binary shard (STRING);
	required binary stage (STRING);
	required binary reason (STRING);
	required int32 schema_version (INT(32,true));
}`,
		},
		{
			name:  "vocab",
			model: VocabRow{},
			want: `message VocabRow {
	required int32 label_id (INT(32,true));
	required binary name (STRING);
	required group embedding (LIST) {
		repeated group list {
			required float element;
		}
	}
	required binary clip (STRING);
	required int32 templates (INT(32,true));
	required int32 schema_version (INT(32,true));
}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := parquet.SchemaOf(tt.model).String()
			if strings.TrimSpace(got) != tt.want {
				t.Errorf("schema changed; bump Version and update the README.\ngot:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}
