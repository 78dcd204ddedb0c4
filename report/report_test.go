package report_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/groundbeam/groundbeam/report"
	"github.com/groundbeam/groundbeam/report/internal/testout"
	"github.com/groundbeam/groundbeam/schemas"
)

func TestReadLabelsAndErrors(t *testing.T) {
	c := testout.Build(t, testout.Options{})
	ctx := context.Background()
	var got []string
	if err := report.ReadLabels(ctx, c.Out, func(r schemas.LabelRow) error {
		got = append(got, r.Key+" "+r.Source)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, r := range c.Labels {
		want = append(want, r.Key+" "+r.Source)
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("ReadLabels order/content:\ngot  %q\nwant %q", got, want)
	}
	var stages []string
	if err := report.ReadErrors(ctx, c.Out, func(r schemas.ErrorRow) error {
		stages = append(stages, r.Stage)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(stages) != len(c.Errors) {
		t.Errorf("ReadErrors: %d rows, want %d (the .tmp- file must be skipped)", len(stages), len(c.Errors))
	}
	for _, s := range stages {
		if s == "junk" {
			t.Error("ReadErrors read the uncommitted .tmp- file")
		}
	}
}

// TestReadFollowsManifest: with a manifest, the files read are those it
// lists, not others an earlier run left under the table folders.
func TestReadFollowsManifest(t *testing.T) {
	c := testout.Build(t, testout.Options{Manifest: true, Stale: true})
	ctx := context.Background()
	var keys []string
	if err := report.ReadLabels(ctx, c.Out, func(r schemas.LabelRow) error {
		keys = append(keys, r.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(keys) != len(c.Labels) || slices.Contains(keys, "junk") {
		t.Errorf("read %d label rows %v, want the %d listed", len(keys), keys, len(c.Labels))
	}
	for _, table := range []string{report.LabelsTable, report.ErrorsTable} {
		extra, err := report.Unlisted(ctx, c.Out, table)
		if err != nil {
			t.Fatal(err)
		}
		if len(extra) != 1 || filepath.Base(extra[0]) != "shard-00009.parquet" {
			t.Errorf("%s: unlisted %v, want the stale shard-00009.parquet", table, extra)
		}
	}
}

func TestReadLabelsBatchesAndStops(t *testing.T) {
	out := t.TempDir()
	const n = 200 // more than one batch
	rows := make([]schemas.LabelRow, n)
	for i := range rows {
		rows[i] = schemas.LabelRow{Key: fmt.Sprintf("%05d", i), Width: 1, Height: 1}
	}
	if err := os.MkdirAll(filepath.Join(out, "labels"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := parquet.WriteFile(filepath.Join(out, "labels", "a.parquet"), rows, parquet.MaxRowsPerRowGroup(30)); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	i := 0
	if err := report.ReadLabels(ctx, out, func(r schemas.LabelRow) error {
		if want := fmt.Sprintf("%05d", i); r.Key != want {
			return fmt.Errorf("row %d: key %q, want %q", i, r.Key, want)
		}
		i++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if i != n {
		t.Errorf("read %d rows, want %d", i, n)
	}
	stop := errors.New("stop")
	calls := 0
	err := report.ReadLabels(ctx, out, func(schemas.LabelRow) error {
		calls++
		if calls == 70 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 70 {
		t.Errorf("fn error: got %v after %d calls, want the same error after 70", err, calls)
	}
	// An absent folder reads as empty.
	if err := report.ReadLabels(ctx, filepath.Join(out, "nope"), func(schemas.LabelRow) error { return nil }); err != nil {
		t.Errorf("absent folder: %v", err)
	}
	// A file that is not Parquet fails with its name.
	if err := os.WriteFile(filepath.Join(out, "labels", "b.parquet"), []byte("not parquet"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = report.ReadLabels(ctx, out, func(schemas.LabelRow) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "b.parquet") {
		t.Errorf("corrupt file: got %v, want an error naming b.parquet", err)
	}
}

func TestNormalisePhrase(t *testing.T) {
	for in, want := range map[string]string{"  Red  Square ": "red square", "DOG": "dog", "": ""} {
		if got := report.NormalisePhrase(in); got != want {
			t.Errorf("NormalisePhrase(%q) = %q, want %q", in, got, want)
		}
	}
}
