package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/groundbeam/groundbeam/internal/testenv"
)

// TestGPURuntimeWithoutGPU runs the CUDA-capable ONNX Runtime that make
// deps fetches (.cache/ort-gpu: onnxruntime-node 1.29's core and the 1.29
// GPU release's provider libraries) on this machine, which has neither a
// GPU nor the CUDA libraries: its CPU sessions work, and asking for cuda or
// tensorrt fails naming the first library the provider needs. Each case is
// its own process, since a process loads one ONNX Runtime.
func TestGPURuntimeWithoutGPU(t *testing.T) {
	root := testenv.ModuleRoot(t)
	gpuDir := filepath.Join(root, ".cache", "ort-gpu")
	core := filepath.Join(gpuDir, "libonnxruntime.so.1")
	if _, err := os.Stat(filepath.Join(gpuDir, "libonnxruntime_providers_cuda.so")); err != nil {
		t.Fatalf("the CUDA-capable runtime is missing (run make deps): %v", err)
	}
	dir := t.TempDir()
	bin := buildGroundbeam(t, root, dir)
	models := filepath.Join(dir, "models")
	if out, err := exec.Command(bin, "models", "tiny", models, "--uint8", "--ort-lib", testenv.ORTLib(t)).CombinedOutput(); err != nil {
		t.Fatalf("models tiny: %v\n%s", err, out)
	}
	teacher := filepath.Join(models, "teacher")
	cudaLib := filepath.Join(gpuDir, "libonnxruntime_providers_cuda.so")
	tests := []cliCase{
		{name: "cpu sessions on the gpu runtime", args: []string{"models", "verify", teacher, "--provider", "cpu"},
			stdout: []string{"all 5 fixtures ok"}},
		{name: "cuda without the cuda libraries", args: []string{"models", "verify", teacher, "--provider", "cuda"}, code: 1,
			stderr: []string{"cuda execution provider: " + cudaLib + " needs libcu", "which the dynamic loader cannot find (set LD_LIBRARY_PATH"}},
		{name: "tensorrt without tensorrt", args: []string{"models", "verify", teacher, "--provider", "tensorrt"}, code: 1,
			stderr: []string{"tensorrt execution provider: ", "libonnxruntime_providers_tensorrt.so needs lib", "which the dynamic loader cannot find"}},
		{name: "devices with the cuda library", args: []string{"models", "devices", "--ort-ep-lib", cudaLib}, code: 1,
			stdout: []string{"ONNX Runtime 1.29.0 from " + core},
			stderr: []string{cudaLib + " needs libcu", "which the dynamic loader cannot find"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, append(tt.args, "--ort-lib", core)...)
			cmd.Env = append(os.Environ(), "LD_LIBRARY_PATH=", "GROUNDBEAM_ORT_LIB=")
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			tt.check(t, code, stdout.String(), stderr.String())
		})
	}
}
