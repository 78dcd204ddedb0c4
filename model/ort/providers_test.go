//go:build cgo

package ort_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	onnx "github.com/yalue/onnxruntime_go"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/model/ort"
)

// buildC compiles the C source src into the shared library out with the
// C compiler, passing extra after the source (libraries to link); the test
// is skipped when there is no compiler.
func buildC(t *testing.T, out, src string, extra ...string) string {
	t.Helper()
	cc, err := exec.LookPath("cc")
	if err != nil {
		t.Skip("no C compiler (cc) to build fake provider libraries")
	}
	c := out + ".c"
	if err := os.WriteFile(c, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-shared", "-fPIC", "-o", out, c}, extra...)
	cmd := exec.Command(cc, args...)
	cmd.Dir = filepath.Dir(out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cc %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return out
}

// fakeEPLibs builds, with the C compiler, two shared libraries that stand
// in for plugin execution-provider libraries: missingDep links against
// libgbfakecuda.so.13, which is then deleted (as a CUDA library missing
// from a worker's library path would be), and notEP has no missing
// dependency but is no execution provider.
func fakeEPLibs(t *testing.T) (missingDep, notEP string) {
	t.Helper()
	dir := t.TempDir()
	dep := buildC(t, filepath.Join(dir, "libgbfakecuda.so.13"), "int gb_fake_cuda(void) { return 13; }\n",
		"-Wl,-soname,libgbfakecuda.so.13")
	missingDep = filepath.Join(dir, "missing", "libonnxruntime_providers_cuda.so")
	if err := os.Mkdir(filepath.Dir(missingDep), 0o755); err != nil {
		t.Fatal(err)
	}
	buildC(t, missingDep, "extern int gb_fake_cuda(void);\nint gb_fake_probe(void) { return gb_fake_cuda(); }\n",
		"-L", dir, "-l:libgbfakecuda.so.13")
	if err := os.Remove(dep); err != nil {
		t.Fatal(err)
	}
	notEP = buildC(t, filepath.Join(dir, "libonnxruntime_providers_plain.so"), "int gb_fake_plain(void) { return 1; }\n")
	return missingDep, notEP
}

// TestBridgeCore checks that a provider-bridge library (one exporting
// GetProvider) is refused for a core without the provider's interface, and
// accepted for one with it, while a library without GetProvider passes
// either way.
func TestBridgeCore(t *testing.T) {
	dir := t.TempDir()
	bridge := buildC(t, filepath.Join(dir, "bridge.so"), "void *GetProvider(void) { return 0; }\n")
	plugin := buildC(t, filepath.Join(dir, "plugin.so"), "int CreateEpFactories(void) { return 0; }\n")
	caller := buildC(t, filepath.Join(dir, "caller.so"), "extern void *GetProvider(void);\nvoid *gb_call(void) { return GetProvider(); }\n")
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
			err := ort.BridgeCoreError("cuda", tt.lib, "/x/libonnxruntime.so", tt.hasInterface)
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

// TestProviders checks provider selection on the CPU library: cpu works,
// and every way a GPU provider cannot be had is an error that says why.
func TestProviders(t *testing.T) {
	testenv.InitORT(t)
	lib := testenv.ORTLib(t)
	path := writeModel(t)
	missingDep, notEP := fakeEPLibs(t)
	_, cudaBeside := os.Stat(filepath.Join(filepath.Dir(lib), "libonnxruntime_providers_cuda.so"))
	type test struct {
		name string
		opts ort.Options
		errs []string // substrings of the error; none: a working session
		dep  bool     // the error is a *MissingDependencyError
	}
	tests := []test{
		{name: "cpu", opts: ort.Options{Provider: "cpu"}},
		{name: "default", opts: ort.Options{}},
		{name: "unknown", opts: ort.Options{Provider: "rocm"}, errs: []string{`unknown execution provider "rocm"`, "cpu, cuda or tensorrt"}},
		{name: "ep library with cpu", opts: ort.Options{Provider: "cpu", EPLib: notEP}, errs: []string{notEP, "cpu provider"}},
		{name: "provider options with cpu", opts: ort.Options{Provider: "cpu", EPOptions: "use_tf32=0"}, errs: []string{`provider options "use_tf32=0" given for the cpu provider`}},
		{name: "device id as a provider option", opts: ort.Options{Provider: "cuda", EPLib: notEP, EPOptions: "device_id=1"},
			errs: []string{"cuda execution provider: provider option device_id", "--device-id"}},
		{name: "ep library missing", opts: ort.Options{Provider: "cuda", EPLib: "/nonexistent/libonnxruntime_providers_cuda.so"},
			errs: []string{"cuda execution provider", "/nonexistent/libonnxruntime_providers_cuda.so does not exist"}},
		{name: "ep library needs a missing library", opts: ort.Options{Provider: "cuda", EPLib: missingDep}, dep: true,
			errs: []string{"cuda execution provider: " + missingDep + " needs libgbfakecuda.so.13, which the dynamic loader cannot find (set LD_LIBRARY_PATH"}},
		{name: "tensorrt ep library needs a missing library", opts: ort.Options{Provider: "tensorrt", EPLib: missingDep, DeviceID: 1}, dep: true,
			errs: []string{"tensorrt execution provider", "libgbfakecuda.so.13"}},
		{name: "ep library that is no execution provider", opts: ort.Options{Provider: "cuda", EPLib: notEP},
			errs: []string{"cuda execution provider: register " + notEP}},
	}
	if cudaBeside != nil { // the CPU library has no provider library beside it
		tests = append(tests,
			test{name: "cuda without ep library", opts: ort.Options{Provider: "cuda"},
				errs: []string{"cuda execution provider: " + lib + " has no CUDA execution provider (legacy api: ", "--ort-ep-lib PATH"}},
			test{name: "tensorrt without ep library", opts: ort.Options{Provider: "tensorrt"},
				errs: []string{lib + " has no TensorRT execution provider", "--ort-ep-lib PATH"}},
		)
	}
	img := make([]float32, 3*224*224)
	for i := range img {
		img[i] = float32(i%89) / 89
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ort.Acquire(ort.Key{Identity: "providers/" + tt.name, Path: path, Options: tt.opts}, []string{"pixel_values"}, []string{"image_embeds"})
			if len(tt.errs) > 0 {
				if err == nil {
					s.Release()
					t.Fatalf("no error, want one with %q", tt.errs)
				}
				t.Log(err)
				for _, want := range tt.errs {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q lacks %q", err, want)
					}
				}
				var dep *ort.MissingDependencyError
				if errors.As(err, &dep) != tt.dep {
					t.Errorf("error %v: *MissingDependencyError %v, want %v", err, !tt.dep, tt.dep)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer s.Release()
			out, err := s.Run(context.Background(), []ort.Tensor{{Shape: []int64{1, 3, 224, 224}, F32: img}})
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != 1 || len(out[0].F32) == 0 {
				t.Fatalf("outputs %v", out)
			}
		})
	}
}

// TestEPDevices checks the shim lists the CPU library's devices.
func TestEPDevices(t *testing.T) {
	testenv.InitORT(t)
	devs, err := ort.EPDevices()
	if err != nil {
		t.Fatal(err)
	}
	var cpu bool
	for _, d := range devs {
		t.Logf("%s", d)
		cpu = cpu || d.EP == "CPUExecutionProvider" && d.Hardware == "cpu" && d.DeviceID == 0
	}
	if !cpu {
		t.Fatalf("devices %v: no CPUExecutionProvider cpu device 0", devs)
	}
	if err := ort.RegisterEPLibrary("/nonexistent/libep.so"); err == nil || !strings.Contains(err.Error(), "/nonexistent/libep.so does not exist") {
		t.Errorf("RegisterEPLibrary of a missing file: %v", err)
	}
}

// TestAppendDevice proves the SessionOptionsAppendExecutionProvider_V2
// route the GPU providers take: the CPU provider's device, appended
// through it, gives a session whose output is the default session's.
func TestAppendDevice(t *testing.T) {
	testenv.InitORT(t)
	path := writeModel(t)
	img := make([]float32, 2*3*224*224)
	for i := range img {
		img[i] = float32(i%101)/101 - 0.5
	}
	shape := []int64{2, 3, 224, 224}
	def, err := ort.Acquire(ort.Key{Identity: "append/default", Path: path}, []string{"pixel_values"}, []string{"image_embeds"})
	if err != nil {
		t.Fatal(err)
	}
	defer def.Release()
	want, err := def.Run(context.Background(), []ort.Tensor{{Shape: shape, F32: img}})
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name, ep, hardware string
		id                 int
		err                string
	}{
		{name: "cpu device", ep: "CPUExecutionProvider", hardware: "cpu"},
		{name: "no such device id", ep: "CPUExecutionProvider", hardware: "cpu", id: 3, err: "no cpu device 3 of CPUExecutionProvider; onnx runtime offers: CPUExecutionProvider (cpu, device 0"},
		{name: "no such provider", ep: "CUDAExecutionProvider", hardware: "gpu", err: "no gpu device 0 of CUDAExecutionProvider"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts, err := onnx.NewSessionOptions()
			if err != nil {
				t.Fatal(err)
			}
			defer opts.Destroy()
			err = ort.AppendDevice(opts, tt.ep, tt.hardware, tt.id)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			s, err := onnx.NewDynamicAdvancedSession(path, []string{"pixel_values"}, []string{"image_embeds"}, opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Destroy()
			in, err := onnx.NewTensor(onnx.NewShape(shape...), img)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Destroy()
			outs := []onnx.Value{nil}
			if err := s.Run([]onnx.Value{in}, outs); err != nil {
				t.Fatal(err)
			}
			defer outs[0].Destroy()
			got := outs[0].(*onnx.Tensor[float32])
			if !reflect.DeepEqual([]int64(got.GetShape()), want[0].Shape) {
				t.Fatalf("shape %v, want %v", got.GetShape(), want[0].Shape)
			}
			for i, v := range got.GetData() {
				if d := math.Abs(float64(v - want[0].F32[i])); d > 1e-5 {
					t.Fatalf("output %d: %g, default session %g", i, v, want[0].F32[i])
				}
			}
		})
	}
}

// TestShimPinned fails when go.mod moves onnxruntime_go off the version
// epdevices.go reads the internals of, when its SessionOptions layout
// changes, or when the vendored C headers are not that version's.
func TestShimPinned(t *testing.T) {
	root := testenv.ModuleRoot(t)
	mod, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	var version string
	sc := bufio.NewScanner(bytes.NewReader(mod))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "github.com/yalue/onnxruntime_go" {
			version = f[1]
		}
		if len(f) >= 2 && f[0] == "replace" && f[1] == "github.com/yalue/onnxruntime_go" {
			t.Errorf("go.mod replaces github.com/yalue/onnxruntime_go: check model/ort/epdevices.go against it")
		}
	}
	if version != ort.OnnxPinned {
		t.Fatalf("go.mod requires github.com/yalue/onnxruntime_go %q; model/ort/epdevices.go and include/ are written for %s: "+
			"check its ortEnv variable and SessionOptions layout, copy its headers into model/ort/include, then update onnxPinned", version, ort.OnnxPinned)
	}
	typ := reflect.TypeFor[onnx.SessionOptions]()
	if typ.NumField() != 1 || typ.Field(0).Name != "o" || typ.Field(0).Type.Kind() != reflect.Pointer {
		t.Fatalf("onnxruntime_go SessionOptions is %v, want struct{ o *C.OrtSessionOptions }", typ)
	}
	if err := ort.CheckShim(); err != nil {
		t.Fatal(err)
	}
	gomodcache, err := exec.Command("go", "env", "GOMODCACHE").Output()
	if err != nil {
		t.Skipf("go env GOMODCACHE: %v", err)
	}
	src := filepath.Join(strings.TrimSpace(string(gomodcache)), "github.com", "yalue", "onnxruntime_go@"+ort.OnnxPinned)
	for _, h := range []string{"onnxruntime_c_api.h", "onnxruntime_ep_c_api.h"} {
		upstream, err := os.ReadFile(filepath.Join(src, h))
		if err != nil {
			t.Logf("no module copy to compare %s with: %v", h, err)
			continue
		}
		vendored, err := os.ReadFile(filepath.Join("include", h))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(upstream, vendored) {
			t.Errorf("include/%s differs from onnxruntime_go %s's", h, ort.OnnxPinned)
		}
	}
}

// TestCoreHasInterface checks the probe on the test library: npm's CPU
// build carries the CUDA provider interface (its provider library is
// installed separately), so its legacy options can be created, and a
// provider-bridge library is not refused for it.
func TestCoreHasInterface(t *testing.T) {
	testenv.InitORT(t)
	for _, p := range []string{"cpu", "cuda"} {
		if !ort.CoreHasInterface(p) {
			t.Errorf("CoreHasInterface(%q) = false for %s", p, testenv.ORTLib(t))
		}
	}
}
