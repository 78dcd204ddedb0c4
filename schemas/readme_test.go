package schemas

import (
	"os"
	"strings"
	"testing"
)

// TestREADMESchema checks that the README's schema tables list exactly the
// columns the Parquet files have, in order, with their types.
func TestREADMESchema(t *testing.T) {
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	readme := string(raw)
	for _, tt := range []struct {
		table string
		model any
	}{
		{"labels", LabelRow{}},
		{"errors", ErrorRow{}},
		{"vocab", VocabRow{}},
	} {
		t.Run(tt.table, func(t *testing.T) {
			got := readmeColumns(t, readme, tt.table)
			want := Columns(tt.model)
			if len(got) != len(want) {
				t.Fatalf("README lists %d columns for %s, the files have %d:\nREADME: %v\nfiles:  %v", len(got), tt.table, len(want), got, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("column %d: README says %v, the files have %v", i, got[i], want[i])
				}
			}
		})
	}
}

// readmeColumns reads the table that follows `<!-- columns:TABLE -->`:
// rows of | `name` | type | meaning |.
func readmeColumns(t *testing.T, readme, table string) []Column {
	t.Helper()
	marker := "<!-- columns:" + table + " -->"
	i := strings.Index(readme, marker)
	if i < 0 {
		t.Fatalf("README has no %s", marker)
	}
	var cols []Column
	started := false
	for _, line := range strings.Split(readme[i+len(marker):], "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			if started {
				break
			}
			continue
		}
		started = true
		cells := strings.Split(strings.Trim(line, "|"), "|")
		if len(cells) < 2 {
			continue
		}
		name := strings.TrimSpace(cells[0])
		if !strings.HasPrefix(name, "`") {
			continue // header and separator rows
		}
		cols = append(cols, Column{Name: strings.Trim(name, "`"), Type: strings.TrimSpace(cells[1])})
	}
	return cols
}
