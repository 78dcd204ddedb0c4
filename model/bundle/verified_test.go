package bundle_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/tiny"
)

// TestLoadVerified checks that a bundle the process has verified is not
// hashed again, and that anything else is: a corrupted graph file shows
// unless the verifier vouches for exactly that manifest's identity.
func TestLoadVerified(t *testing.T) {
	teacher, _, err := tiny.WriteBundles(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	corrupt := func(t *testing.T, edit bool) string {
		var rename func(m *bundle.Manifest)
		if edit {
			rename = func(m *bundle.Manifest) { m.Name += "-edited" }
		}
		dir := copyBundle(t, teacher.Dir, rename)
		f, err := os.OpenFile(filepath.Join(dir, teacher.Manifest.ONNX), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte{0})
		f.Close()
		return dir
	}
	known := func(id string) bool { return id == teacher.Identity }
	tests := []struct {
		name     string
		edit     bool
		verified func(string) bool
		wantErr  string
	}{
		{name: "no verifier checks the files", verified: nil, wantErr: "sha256"},
		{name: "unverified identity checks the files", verified: func(string) bool { return false }, wantErr: "sha256"},
		{name: "verified identity skips the files", verified: known},
		{name: "edited manifest is another identity", edit: true, verified: known, wantErr: "sha256"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := corrupt(t, tc.edit)
			b, err := bundle.LoadVerified(dir, bundle.KindGrounding, tc.verified)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one mentioning %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.Identity != teacher.Identity || b.Manifest.ONNX != teacher.Manifest.ONNX {
				t.Errorf("got %s (%s), want %s", b.Identity, b.Manifest.ONNX, teacher.Identity)
			}
		})
	}
	if _, err := bundle.LoadVerified(teacher.Dir, bundle.KindCLIP, func(string) bool { return true }); err == nil || !strings.Contains(err.Error(), "kind") {
		t.Errorf("wrong kind: err = %v, want a kind error", err)
	}
}
