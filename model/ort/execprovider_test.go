package ort

import (
	"strings"
	"testing"
)

func TestCheckProvider(t *testing.T) {
	for _, tt := range []struct {
		name string
		ok   bool
	}{{"", true}, {"cpu", true}, {"cuda", true}, {"tensorrt", true}, {"CUDA", false}, {"rocm", false}} {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckProvider(tt.name)
			if (err == nil) != tt.ok {
				t.Fatalf("CheckProvider(%q) = %v, want ok=%v", tt.name, err, tt.ok)
			}
			if err != nil && !strings.Contains(err.Error(), "want cpu, cuda or tensorrt") {
				t.Errorf("error %q does not list the providers", err)
			}
		})
	}
}

func TestPickDevice(t *testing.T) {
	devs := []EPDevice{
		{EP: "CPUExecutionProvider", Hardware: "cpu"},
		{EP: "CUDAExecutionProvider", Hardware: "gpu", DeviceID: 0},
		{EP: "CUDAExecutionProvider", Hardware: "gpu", DeviceID: 1},
		{EP: "TensorrtExecutionProvider", Hardware: "gpu", DeviceID: 0},
		{EP: "NvTensorRTRTXExecutionProvider", Hardware: "gpu", DeviceID: 0},
	}
	tests := []struct {
		name     string
		eps      []string
		hardware string
		id       int
		want     int
		err      string
	}{
		{name: "cpu", eps: []string{"CPUExecutionProvider"}, hardware: "cpu", want: 0},
		{name: "cuda 0", eps: []string{"CUDAExecutionProvider"}, hardware: "gpu", want: 1},
		{name: "cuda 1", eps: []string{"CUDAExecutionProvider"}, hardware: "gpu", id: 1, want: 2},
		{name: "preference order", eps: []string{"NvTensorRTRTXExecutionProvider", "TensorrtExecutionProvider"}, hardware: "gpu", want: 4},
		{name: "no such id", eps: []string{"CUDAExecutionProvider"}, hardware: "gpu", id: 2,
			err: "no gpu device 2 of CUDAExecutionProvider; onnx runtime offers: CPUExecutionProvider (cpu, device 0"},
		{name: "cpu is not a gpu", eps: []string{"CPUExecutionProvider"}, hardware: "gpu", err: "no gpu device 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pickDevice(devs, tt.eps, tt.hardware, tt.id)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %d, %v; want %d", got, err, tt.want)
			}
		})
	}
	if _, err := pickDevice(nil, []string{"CUDAExecutionProvider"}, "gpu", 0); err == nil || !strings.HasSuffix(err.Error(), "offers: none") {
		t.Errorf("no devices: %v", err)
	}
}

func TestMissingDependencyError(t *testing.T) {
	tests := []struct {
		name   string
		needed string
		detail string
		want   string
	}{
		{
			name:   "the needed file",
			needed: "libcublasLt.so.13",
			detail: "libcublasLt.so.13: cannot open shared object file: No such file or directory",
			want:   "cuda execution provider: /x/libonnxruntime_providers_cuda.so needs libcublasLt.so.13, which the dynamic loader cannot find (set LD_LIBRARY_PATH to the folder holding it)",
		},
		{
			name:   "a file the needed one needs",
			needed: "libcublas.so.13",
			detail: "libcublasLt.so.13: cannot open shared object file: No such file or directory",
			want:   "needs libcublas.so.13, which needs libcublasLt.so.13, which the dynamic loader cannot find",
		},
		{
			name:   "another failure",
			needed: "libcublasLt.so.13",
			detail: "/lib/libcublasLt.so.13: undefined symbol: foo",
			want:   "needs libcublasLt.so.13, which the dynamic loader cannot load: /lib/libcublasLt.so.13: undefined symbol: foo",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := &MissingDependencyError{Library: "/x/libonnxruntime_providers_cuda.so", Needed: tt.needed, Missing: missingFile(tt.detail), Detail: tt.detail}
			got := "cuda execution provider: " + err.Error()
			if !strings.Contains(got, tt.want) {
				t.Fatalf("got %q, want %q in it", got, tt.want)
			}
		})
	}
}

func TestParseEPOptions(t *testing.T) {
	tests := []struct {
		name, in, want, err string
	}{
		{name: "none", in: "", want: ""},
		{name: "blank", in: "  ", want: ""},
		{name: "one", in: "cudnn_conv_algo_search=HEURISTIC", want: "cudnn_conv_algo_search=HEURISTIC"},
		{name: "sorted and trimmed", in: " use_tf32 = 0 ,cudnn_conv_algo_search=DEFAULT", want: "cudnn_conv_algo_search=DEFAULT,use_tf32=0"},
		{name: "empty value kept", in: "user_compute_stream=", want: "user_compute_stream="},
		{name: "no equals", in: "use_tf32", err: `provider option "use_tf32": want key=value`},
		{name: "empty key", in: "=1", err: "empty key"},
		{name: "twice", in: "use_tf32=0,use_tf32=1", err: `provider option "use_tf32" given twice`},
		{name: "trailing comma", in: "use_tf32=0,", err: `provider option "": want key=value`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseEPOptions(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseEPOptions(%q) = %q, %v; want an error with %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseEPOptions(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			if again, err := ParseEPOptions(got); err != nil || again != got {
				t.Errorf("the canonical form %q parses to %q, %v", got, again, err)
			}
		})
	}
}
