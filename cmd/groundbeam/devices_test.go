package main

import (
	"testing"

	"github.com/groundbeam/groundbeam/internal/testenv"
)

// TestProviderFlags checks --provider is validated when flags are parsed
// (a usage error before any work) by every job, and that `models devices`
// lists the CPU library's provider and names a missing provider library.
func TestProviderFlags(t *testing.T) {
	lib := testenv.ORTLib(t)
	var tests []cliCase
	for _, cmd := range []string{"label", "embed", "vocab"} {
		tests = append(tests, cliCase{name: cmd + " unknown provider", args: []string{cmd, "--provider", "rocm"}, code: 2,
			stderr: []string{`invalid value "rocm" for flag -provider: unknown execution provider "rocm" (want cpu, cuda or tensorrt)`}},
			cliCase{name: cmd + " malformed provider options", args: []string{cmd, "--provider", "cuda", "--ort-ep-options", "use_tf32"}, code: 2,
				stderr: []string{`invalid value "use_tf32" for flag -ort-ep-options: provider option "use_tf32": want key=value`}})
	}
	tests = append(tests,
		cliCase{name: "help lists the flags", args: []string{"embed", "--help"}, code: 0,
			stderr: []string{"-provider provider", "cpu, cuda or tensorrt (docs/gpu.md) (default cpu)", "-ort-ep-lib", "-device-id"}},
		cliCase{name: "devices", args: []string{"models", "devices", "--ort-lib", lib}, code: 0,
			stdout: []string{"ONNX Runtime 1.", lib, "EXECUTION PROVIDER", "CPUExecutionProvider", "no GPU devices"}},
		cliCase{name: "devices, missing provider library", args: []string{"models", "devices", "--ort-lib", lib, "--ort-ep-lib", "/nonexistent/libonnxruntime_providers_cuda.so"},
			code: 1, oneLine: true, stderr: []string{"groundbeam models:", "/nonexistent/libonnxruntime_providers_cuda.so does not exist"}},
		cliCase{name: "devices, extra argument", args: []string{"models", "devices", "gpu"}, code: 2, stderr: []string{`unexpected argument "gpu"`}},
		cliCase{name: "devices help", args: []string{"models", "devices", "--help"}, code: 0, stderr: []string{"groundbeam models devices", "--ort-ep-lib"}},
	)
	runCLICases(t, tests)
}
