package ort_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/model/ort"
	"github.com/groundbeam/groundbeam/model/tiny"
)

// TestRunUInt8: U8 tensors feed a graph that takes uint8 pixels, and a
// float graph refuses them.
func TestRunUInt8(t *testing.T) {
	testenv.InitORT(t)
	_, u8Dir := testenv.Bundles(t, &tiny.BundleOptions{UInt8Input: true})
	const side = tiny.CLIPImageSize
	pix := make([]uint8, 2*side*side*3)
	for i := range pix {
		pix[i] = uint8(i % 251)
	}
	tests := []struct {
		name  string
		path  string
		in    ort.Tensor
		shape []int64
		err   string
	}{
		{name: "uint8 graph", path: filepath.Join(u8Dir, "image.onnx"), in: ort.Tensor{Shape: []int64{2, side, side, 3}, U8: pix},
			shape: []int64{2, tiny.DefaultCLIPEmbedDim}},
		{name: "float graph", path: writeModel(t), in: ort.Tensor{Shape: []int64{2, 3, side, side}, U8: pix}, err: "uint8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := ort.Acquire(ort.Key{Identity: "u8/" + tt.name, Path: tt.path}, []string{"pixel_values"}, []string{"image_embeds"})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Release()
			out, err := s.Run(context.Background(), []ort.Tensor{tt.in})
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := out[0].Shape; len(got) != 2 || got[0] != tt.shape[0] || got[1] != tt.shape[1] {
				t.Errorf("output shape %v, want %v", got, tt.shape)
			}
		})
	}
}
