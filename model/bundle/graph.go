package bundle

import (
	"errors"
	"fmt"
	"os"
	"slices"

	"google.golang.org/protobuf/proto"

	"github.com/groundbeam/groundbeam/model/onnxpb"
)

// ONNX element types a bundle's tensors may have.
const (
	floatType = int32(onnxpb.TensorProto_FLOAT)
	int64Type = int32(onnxpb.TensorProto_INT64)
	uint8Type = int32(onnxpb.TensorProto_UINT8)
)

type tensorSpec struct {
	role     string
	elem     int32
	rank     int
	required bool
}

type graphSpec struct {
	file      string
	ins, outs []tensorSpec
}

// Tensor describes one graph input or output as the ONNX file declares it.
type Tensor struct {
	Name string
	// Elem is the ONNX element type (onnxpb.TensorProto_DataType).
	Elem int32
	// Dims holds each dimension's size, -1 where symbolic.
	Dims []int64
}

// Graph lists an ONNX file's inputs (initializers excluded) and outputs.
func Graph(path string) (ins, outs []Tensor, err error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(raw, &m); err != nil {
		return nil, nil, fmt.Errorf("parse onnx %s: %w", path, err)
	}
	g := m.GetGraph()
	if g == nil {
		return nil, nil, fmt.Errorf("onnx %s has no graph", path)
	}
	inits := map[string]bool{}
	for _, t := range g.GetInitializer() {
		inits[t.GetName()] = true
	}
	for _, v := range g.GetInput() {
		if !inits[v.GetName()] {
			ins = append(ins, tensorOf(v))
		}
	}
	for _, v := range g.GetOutput() {
		outs = append(outs, tensorOf(v))
	}
	return ins, outs, nil
}

func tensorOf(v *onnxpb.ValueInfoProto) Tensor {
	tt := v.GetType().GetTensorType()
	t := Tensor{Name: v.GetName(), Elem: tt.GetElemType()}
	for _, d := range tt.GetShape().GetDim() {
		if d.GetDimParam() != "" || d.Value == nil {
			t.Dims = append(t.Dims, -1)
			continue
		}
		t.Dims = append(t.Dims, d.GetDimValue())
	}
	return t
}

func (b *Bundle) checkGraph(g graphSpec) error {
	ins, outs, err := Graph(b.Path(g.file))
	if err != nil {
		return err
	}
	var errs []error
	errs = append(errs, match(g.file, "input", b.Manifest.Inputs, g.ins, ins, b.Manifest.Image.Input)...)
	errs = append(errs, match(g.file, "output", b.Manifest.Outputs, g.outs, outs, "")...)
	return errors.Join(errs...)
}

// imageTensor is the spec of a graph's image input: float32 [B,3,H,W], or
// uint8 [B,H,W,3] when the manifest's image.input says uint8_nhwc.
func imageTensor(im ImageSpec) tensorSpec {
	if im.UInt8() {
		return tensorSpec{InImage, uint8Type, 4, true}
	}
	return tensorSpec{InImage, floatType, 4, true}
}

// match checks the tensors a graph has against specs; imageInput is the
// manifest's image.input, named in an image input's type error.
func match(file, side string, names map[string]string, specs []tensorSpec, have []Tensor, imageInput string) []error {
	var errs []error
	for _, s := range specs {
		name, ok := names[s.role]
		if !ok {
			if s.required {
				errs = append(errs, fmt.Errorf("%ss has no %q entry", side, s.role))
			}
			continue
		}
		i := slices.IndexFunc(have, func(t Tensor) bool { return t.Name == name })
		if i < 0 {
			if s.required || names[s.role] != "" {
				errs = append(errs, fmt.Errorf("%s: %s %q (%s) is not in the graph (it has %s)", file, side, name, s.role, tensorNames(have)))
			}
			continue
		}
		t := have[i]
		if t.Elem != s.elem {
			hint := ""
			if s.role == InImage && side == "input" {
				if imageInput == "" {
					imageInput = InputFloat32NCHW
				}
				hint = fmt.Sprintf(" (image.input is %s)", imageInput)
			}
			errs = append(errs, fmt.Errorf("%s: %s %q has element type %s, want %s%s", file, side, name,
				onnxpb.TensorProto_DataType(t.Elem), onnxpb.TensorProto_DataType(s.elem), hint))
		}
		if len(t.Dims) != s.rank {
			errs = append(errs, fmt.Errorf("%s: %s %q has rank %d, want %d", file, side, name, len(t.Dims), s.rank))
		}
	}
	return errs
}

func tensorNames(ts []Tensor) string {
	s := ""
	for i, t := range ts {
		if i > 0 {
			s += ", "
		}
		s += t.Name
	}
	return s
}
