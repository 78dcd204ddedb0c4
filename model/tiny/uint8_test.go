package tiny

import (
	"bytes"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/onnxpb"
)

var (
	rgb255 = bundle.ImageSpec{ChannelOrder: "RGB", Scale: 255, Mean: [3]float32{123.675, 116.28, 103.53}, Std: [3]float32{58.395, 57.12, 57.375}}
	rgb1   = bundle.ImageSpec{ChannelOrder: "RGB", Scale: 1, Mean: [3]float32{0.48145466, 0.4578275, 0.40821073}, Std: [3]float32{0.26862954, 0.26130258, 0.27577711}}
)

// nhwcPixels returns b random h×w images as uint8 NHWC, and the same
// normalised on the host as float NCHW: (p·Scale/255 − mean) / std.
func nhwcPixels(seed uint64, spec bundle.ImageSpec, b, h, w int) ([]uint8, []float32) {
	r := rand.New(rand.NewPCG(seed, 3))
	u8 := make([]uint8, b*h*w*3)
	for i := range u8 {
		u8[i] = uint8(r.IntN(256))
	}
	f32 := make([]float32, len(u8))
	k := spec.Scale / 255
	for n := range b {
		for y := range h {
			for x := range w {
				for c := range 3 {
					p := float32(u8[((n*h+y)*w+x)*3+c])
					f32[((n*3+c)*h+y)*w+x] = (p*k - spec.Mean[c]) / spec.Std[c]
				}
			}
		}
	}
	return u8, f32
}

// TestWithUInt8Input: each image-taking graph behind the uint8 prefix, fed
// raw pixels, gives what the float graph gives on pixels normalised on the
// host.
func TestWithUInt8Input(t *testing.T) {
	const b, h, w = 2, 64, 96
	ids := []int64{101, 7, 8, 9, 102, 101, 10, 11, 102, 0}
	mask := []int64{1, 1, 1, 1, 1, 1, 1, 1, 1, 0}
	tests := []struct {
		name    string
		build   func() ([]byte, error)
		spec    bundle.ImageSpec
		b, h, w int
		extra   []feed
		ins     []string
		outs    []string
	}{
		{name: "grounding 0-255", build: func() ([]byte, error) { return Grounding(nil) }, spec: rgb255, b: b, h: h, w: w,
			extra: []feed{{name: "input_ids", shape: []int64{b, 5}, i64: ids}, {name: "attention_mask", shape: []int64{b, 5}, i64: mask}},
			ins:   []string{"pixel_values", "input_ids", "attention_mask"}, outs: []string{"pred_boxes", "logits"}},
		{name: "clip image 0-1", build: func() ([]byte, error) { return CLIPImage(nil) }, spec: rgb1, b: b, h: CLIPImageSize, w: CLIPImageSize,
			ins: []string{"pixel_values"}, outs: []string{"image_embeds"}},
		{name: "clip region 0-1", build: func() ([]byte, error) { return CLIPRegion(nil) }, spec: rgb1, b: 1, h: h, w: w,
			extra: []feed{{name: "boxes", shape: []int64{3, 4}, f32: []float32{0, 0, 96, 64, 10.5, 5, 40, 33, 50, 20, 51, 21}}},
			ins:   []string{"pixel_values", "boxes"}, outs: []string{"region_embeds"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			float, err := tt.build()
			if err != nil {
				t.Fatal(err)
			}
			u8model, err := withUInt8Input(float, "pixel_values", tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			u8, f32 := nhwcPixels(1, tt.spec, tt.b, tt.h, tt.w)
			want := newSession(t, float, tt.ins, tt.outs).run(t,
				append([]feed{{name: "pixel_values", shape: []int64{int64(tt.b), 3, int64(tt.h), int64(tt.w)}, f32: f32}}, tt.extra...)...)
			got := newSession(t, u8model, tt.ins, tt.outs).run(t,
				append([]feed{{name: "pixel_values", shape: []int64{int64(tt.b), int64(tt.h), int64(tt.w), 3}, u8: u8}}, tt.extra...)...)
			for i := range want {
				if !shapeEq(got[i].shape, want[i].shape...) {
					t.Fatalf("%s: shape %v, float graph %v", tt.outs[i], got[i].shape, want[i].shape)
				}
				// Only float rounding differs: the graph computes
				// (p·k − mean)/std as the host does.
				d := maxAbsDiff(got[i].data, want[i].data)
				t.Logf("%s: max abs difference %.3g", tt.outs[i], d)
				if d > 1e-4 {
					t.Errorf("%s: max abs difference %g from the float graph", tt.outs[i], d)
				}
			}
		})
	}
}

func TestWithUInt8InputErrors(t *testing.T) {
	grounding, err := Grounding(nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, input string
		model       []byte
		want        string
	}{
		{"no such input", "pixels", grounding, `has no input "pixels"`},
		{"not a float image", "input_ids", grounding, "input_ids is not float32 [N,3,H,W]"},
		{"not a model", "pixel_values", []byte("\xff\xff not protobuf"), "parse model"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := withUInt8Input(tt.model, tt.input, rgb255)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one with %q", err, tt.want)
			}
		})
	}
}

// TestWriteBundlesUInt8: the uint8 bundles declare uint8_nhwc, their image
// inputs are uint8 [N,H,W,3], and their graphs hold the float bundles'
// weights unchanged.
func TestWriteBundlesUInt8(t *testing.T) {
	ft, fc, err := WriteBundles(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ut, uc, err := WriteBundles(t.TempDir(), &BundleOptions{UInt8Input: true})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name         string
		float, uint8 *bundle.Bundle
		file         string
		dims         []int64
	}{
		{"teacher", ft, ut, "model.onnx", []int64{-1, -1, -1, 3}},
		{"clip image", fc, uc, "image.onnx", []int64{-1, CLIPImageSize, CLIPImageSize, 3}},
		{"clip region", fc, uc, "region.onnx", []int64{1, -1, -1, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.float.Manifest.Image.Input != "" || tt.uint8.Manifest.Image.Input != bundle.InputUInt8NHWC {
				t.Errorf("image.input %q and %q, want \"\" and %s", tt.float.Manifest.Image.Input, tt.uint8.Manifest.Image.Input, bundle.InputUInt8NHWC)
			}
			if tt.float.Identity == tt.uint8.Identity {
				t.Errorf("both bundles are %s", tt.float.Identity)
			}
			ins, _, err := bundle.Graph(tt.uint8.Path(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			in := ins[0]
			if in.Name != "pixel_values" || in.Elem != int32(onnxpb.TensorProto_UINT8) || !shapeEq(in.Dims, tt.dims...) {
				t.Errorf("image input %+v, want pixel_values uint8 %v", in, tt.dims)
			}
			fw, uw := initializers(t, tt.float.Path(tt.file)), initializers(t, tt.uint8.Path(tt.file))
			for name, raw := range fw {
				if !bytes.Equal(uw[name], raw) {
					t.Errorf("initializer %s differs or is missing", name)
				}
			}
			if len(uw) <= len(fw) {
				t.Errorf("%d initializers, float graph %d: no normalisation constants", len(uw), len(fw))
			}
		})
	}
}

// initializers maps an ONNX file's initializers to their raw bytes.
func initializers(t *testing.T, path string) map[string][]byte {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, i := range m.GetGraph().GetInitializer() {
		out[i.GetName()] = i.GetRawData()
	}
	return out
}
