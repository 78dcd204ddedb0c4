package ort

import "testing"

func TestSharedBy(t *testing.T) {
	tests := []struct {
		name        string
		o           Options
		runs, cores int
		want        int
	}{
		{"two runs on two cores", Options{}, 2, 2, 1},
		{"two runs on sixteen cores", Options{Provider: "cpu"}, 2, 16, 8},
		{"three runs on eight cores", Options{}, 3, 8, 2},
		{"more runs than cores", Options{}, 4, 2, 1},
		{"runs unset", Options{}, 0, 4, 4},
		{"explicit count kept", Options{IntraOpThreads: 3}, 2, 2, 3},
		{"gpu provider left to ONNX Runtime", Options{Provider: "cuda"}, 2, 16, 0},
		{"tensorrt too", Options{Provider: "tensorrt"}, 2, 16, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.o.SharedBy(tc.runs, tc.cores)
			if got.IntraOpThreads != tc.want {
				t.Errorf("%d intra-op threads, want %d", got.IntraOpThreads, tc.want)
			}
			if got.Provider != tc.o.Provider || got.Arena != tc.o.Arena || got.Spin != tc.o.Spin {
				t.Errorf("other settings changed: %+v from %+v", got, tc.o)
			}
		})
	}
}
