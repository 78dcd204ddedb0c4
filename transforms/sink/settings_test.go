package sink_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/groundbeam/groundbeam/schemas"
	"github.com/groundbeam/groundbeam/transforms/sink"
)

type testSettings struct {
	Job    string `json:"job"`
	Params struct {
		Threshold float64 `json:"threshold"`
		TopK      int     `json:"top_k"`
	} `json:"params"`
	Scales []float64 `json:"scales"`
}

func mustSettings(t *testing.T, threshold float64, scales ...float64) sink.Settings {
	t.Helper()
	v := testSettings{Job: "label", Scales: scales}
	v.Params.Threshold, v.Params.TopK = threshold, 100
	s, err := sink.NewSettings(v)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// commitShard commits one shard with one labelled row under cfg.
func commitShard(t *testing.T, cfg sink.Config, u sink.Unit) {
	t.Helper()
	ctx := context.Background()
	w, err := sink.NewShardWriter(ctx, cfg, u)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Label(ctx, schemas.LabelRow{Key: "k", Shard: u.Shard, Width: 4, Height: 4}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestPrepare: a resumed run with other settings is refused before
// anything changes, with the changed fields named; the same settings, or a
// folder without a settings file, resume; a run that starts over clears
// the previous run's markers and manifest. A marker is taken only under
// its own settings.
func TestPrepare(t *testing.T) {
	base := mustSettings(t, 0.3, 1, 1.5)
	tests := []struct {
		name         string
		prev         *sink.Settings // the settings file there before; nil: none
		now          sink.Settings
		resume       bool
		wantErr      []string // fragments of the error; nil: no error
		wantMarker   bool     // the previous marker is still there
		wantManifest bool     // the previous manifest is still there
	}{
		{name: "resume same", prev: &base, now: base, resume: true, wantMarker: true, wantManifest: true},
		{name: "resume changed", prev: &base, now: mustSettings(t, 0.6, 1), resume: true,
			wantErr:    []string{"settings changed", "params.threshold was 0.3, is now 0.6", "scales was [1,1.5], is now [1]"},
			wantMarker: true, wantManifest: true},
		{name: "resume without settings file", now: base, resume: true, wantMarker: true, wantManifest: true},
		{name: "start over", prev: &base, now: mustSettings(t, 0.6, 1)},
		{name: "start over same settings", prev: &base, now: base},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			out := t.TempDir()
			u := sink.Unit{Shard: "in/a.tar", Name: "a"}
			prevCfg := sink.Config{Out: out, Settings: base}
			commitShard(t, prevCfg, u)
			if err := os.WriteFile(filepath.Join(out, sink.ManifestFile), []byte("{}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if tt.prev != nil {
				if err := os.WriteFile(filepath.Join(out, sink.SettingsFile), append(tt.prev.JSON, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}

			err := sink.Prepare(ctx, out, tt.now, tt.resume)
			if tt.wantErr == nil && err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			if tt.wantErr != nil {
				if !errors.Is(err, sink.ErrSettingsChanged) {
					t.Fatalf("Prepare: %v, want ErrSettingsChanged", err)
				}
				for _, f := range tt.wantErr {
					if !strings.Contains(err.Error(), f) {
						t.Errorf("error %q does not say %q", err, f)
					}
				}
			}
			_, errMarker := os.Stat(filepath.Join(out, sink.MarkerDir, "a.json"))
			_, errManifest := os.Stat(filepath.Join(out, sink.ManifestFile))
			if (errMarker == nil) != tt.wantMarker || (errManifest == nil) != tt.wantManifest {
				t.Errorf("marker kept %v (want %v), manifest kept %v (want %v)", errMarker == nil, tt.wantMarker, errManifest == nil, tt.wantManifest)
			}
			raw, err := os.ReadFile(filepath.Join(out, sink.SettingsFile))
			if err != nil {
				t.Fatal(err)
			}
			want := tt.now.JSON
			if tt.wantErr != nil {
				want = tt.prev.JSON // a refused run changes nothing
			}
			if strings.TrimSpace(string(raw)) != string(want) {
				t.Errorf("settings file %s, want %s", raw, want)
			}

			// The marker counts only for the settings it was written with.
			for _, s := range []sink.Settings{base, mustSettings(t, 0.6, 1)} {
				_, ok, err := sink.Committed(ctx, sink.Config{Out: out, Settings: s}, u)
				if err != nil {
					t.Fatal(err)
				}
				if want := tt.wantMarker && s.Hash == base.Hash; ok != want {
					t.Errorf("Committed under settings %s: %v, want %v", s.Hash, ok, want)
				}
			}
		})
	}
}

// TestNewSettings: the hash follows the JSON, which must be an object.
func TestNewSettings(t *testing.T) {
	a, b := mustSettings(t, 0.3, 1), mustSettings(t, 0.3, 1)
	if a.Hash != b.Hash || len(a.Hash) != 12 {
		t.Errorf("equal settings hash %q and %q", a.Hash, b.Hash)
	}
	if c := mustSettings(t, 0.3, 2); c.Hash == a.Hash {
		t.Errorf("different settings share hash %q", a.Hash)
	}
	if _, err := sink.NewSettings([]int{1}); err == nil {
		t.Error("a JSON array was taken as settings")
	}
}
