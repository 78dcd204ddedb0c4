package ort_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/model/ort"
	"github.com/groundbeam/groundbeam/model/tiny"
)

// TestRunOnce checks that a one-off run gives what the cached session of
// the same model gives, leaves no session in the cache, and names the
// model in its errors.
func TestRunOnce(t *testing.T) {
	testenv.InitORT(t)
	if !ort.Initialized() {
		t.Fatal("Initialized is false after Init")
	}
	raw, err := tiny.CLIPImage(nil)
	if err != nil {
		t.Fatal(err)
	}
	in, out := []string{"pixel_values"}, []string{"image_embeds"}
	pix := make([]float32, 2*3*224*224)
	for i := range pix {
		pix[i] = float32(i%97)/48 - 1
	}
	inputs := []ort.Tensor{{Shape: []int64{2, 3, 224, 224}, F32: pix}}
	s, err := ort.Acquire(ort.Key{Identity: "once@1", Path: writeModel(t)}, in, out)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	want, err := s.Run(context.Background(), inputs)
	if err != nil {
		t.Fatal(err)
	}
	before := ort.SessionsCreated()
	got, err := ort.RunOnce(context.Background(), "once", raw, ort.Options{IntraOpThreads: 1}, in, out, inputs)
	if err != nil {
		t.Fatal(err)
	}
	if n := ort.SessionsCreated() - before; n != 0 {
		t.Errorf("RunOnce added %d sessions to the cache", n)
	}
	if !slices.Equal(got[0].Shape, want[0].Shape) || !slices.Equal(got[0].F32, want[0].F32) {
		t.Errorf("RunOnce gave %v %v…, the cached session %v %v…", got[0].Shape, got[0].F32[:3], want[0].Shape, want[0].F32[:3])
	}
	tests := []struct {
		name  string
		model []byte
		in    []string
		want  string
	}{
		{"not a model", []byte("no onnx here"), in, "create session for broken"},
		{"unknown input", raw, []string{"pixels"}, "broken"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ort.RunOnce(context.Background(), "broken", tc.model, ort.Options{}, tc.in, out, inputs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}
