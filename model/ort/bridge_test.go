//go:build cgo

package ort

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestBridgeCore checks that a provider-bridge library (one exporting
// GetProvider) is refused for a core without the provider's interface, and
// accepted for one with it, while a library without GetProvider passes
// either way.
func TestBridgeCore(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc) to build fake provider libraries")
	}
	dir := t.TempDir()
	build := func(name, src string) string {
		c := filepath.Join(dir, name+".c")
		if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		so := filepath.Join(dir, name+".so")
		if out, err := exec.Command(cc, "-shared", "-fPIC", "-o", so, c).CombinedOutput(); err != nil {
			t.Fatalf("cc: %v\n%s", err, out)
		}
		return so
	}
	bridge := build("bridge", "void *GetProvider(void) { return 0; }\n")
	plugin := build("plugin", "int CreateEpFactories(void) { return 0; }\n")
	caller := build("caller", "extern void *GetProvider(void);\nvoid *gb_call(void) { return GetProvider(); }\n")
	cuda, _ := lookupProvider("cuda")
	tests := []struct {
		name         string
		lib          string
		hasInterface bool
		err          []string
	}{
		{name: "bridge library, core without the interface", lib: bridge,
			err: []string{"cuda execution provider: " + bridge + " is a provider-bridge library (it exports GetProvider)",
				"/x/libonnxruntime.so was built without the CUDA provider interface", "onnxruntime-node"}},
		{name: "bridge library, core with the interface", lib: bridge, hasInterface: true},
		{name: "plugin library, core without the interface", lib: plugin},
		{name: "a library that only calls GetProvider", lib: caller},
		{name: "missing library is left to registration", lib: filepath.Join(dir, "none.so")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := bridgeCoreError(cuda, tt.lib, "/x/libonnxruntime.so", tt.hasInterface)
			if len(tt.err) == 0 {
				if err != nil {
					t.Fatalf("error %v, want none", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want one with %q", tt.err)
			}
			for _, w := range tt.err {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}
