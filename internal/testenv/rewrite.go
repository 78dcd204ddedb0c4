package testenv

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/groundbeam/groundbeam/model/bundle"
)

// RewriteBundle copies b to a new folder, letting edit change its manifest
// and file contents first, and returns the copy written and loaded (every
// sha256 recomputed, so only what edit did differs).
func RewriteBundle(t testing.TB, b *bundle.Bundle, edit func(m *bundle.Manifest, files map[string][]byte)) *bundle.Bundle {
	t.Helper()
	files := map[string][]byte{}
	for name := range b.Manifest.Files {
		raw, err := os.ReadFile(b.Path(name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = raw
	}
	m := b.Manifest
	edit(&m, files)
	nb, err := bundle.Write(t.TempDir(), m, files)
	if err != nil {
		t.Fatal(err)
	}
	return nb
}

// EditFixtures applies fn to the fixtures.json held in files.
func EditFixtures(t testing.TB, files map[string][]byte, fn func(f *bundle.Fixtures)) {
	t.Helper()
	var f bundle.Fixtures
	if err := json.Unmarshal(files[bundle.FixturesFile], &f); err != nil {
		t.Fatal(err)
	}
	fn(&f)
	raw, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	files[bundle.FixturesFile] = raw
}
