package tiny

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/onnxpb"
)

// withUInt8Input rewrites a serialized model whose input named input is
// normalised float32 [N,3,H,W] pixels into the same model taking raw
// pixels under the same name: uint8 [N,H,W,3] in the spec's channel order,
// cast to float, scaled by spec.Scale/255 (when Scale is not 255), minus
// spec.Mean, divided by spec.Std and transposed to NCHW in front of the
// unchanged graph. That is the host's normalisation moved into the graph,
// as model.json's image.input uint8_nhwc declares.
func withUInt8Input(model []byte, input string, spec bundle.ImageSpec) ([]byte, error) {
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(model, &m); err != nil {
		return nil, fmt.Errorf("uint8 input: parse model: %w", err)
	}
	g := m.GetGraph()
	if g == nil {
		return nil, errors.New("uint8 input: model has no graph")
	}
	used := map[string]bool{}
	var in *onnxpb.ValueInfoProto
	for _, v := range g.GetInput() {
		used[v.GetName()] = true
		if v.GetName() == input {
			in = v
		}
	}
	for _, t := range g.GetInitializer() {
		used[t.GetName()] = true
	}
	for _, n := range g.GetNode() {
		used[n.GetName()] = true
		for _, o := range n.GetOutput() {
			used[o] = true
		}
		for _, a := range n.GetAttribute() {
			if a.G != nil || len(a.Graphs) > 0 {
				return nil, fmt.Errorf("uint8 input: node %s has a subgraph, which this rewrite does not follow", n.GetName())
			}
		}
	}
	if in == nil {
		return nil, fmt.Errorf("uint8 input: graph %s has no input %q", g.GetName(), input)
	}
	for _, o := range g.GetOutput() {
		if o.GetName() == input {
			return nil, fmt.Errorf("uint8 input: %s is also a graph output", input)
		}
	}
	tt := in.GetType().GetTensorType()
	dims := tt.GetShape().GetDim()
	if tt.GetElemType() != int32(onnxpb.TensorProto_FLOAT) || len(dims) != 4 || dims[1].GetDimValue() != 3 {
		return nil, fmt.Errorf("uint8 input: %s is not float32 [N,3,H,W]", input)
	}

	name := func(suffix string) (string, error) {
		n := input + "_u8_" + suffix
		if used[n] {
			return "", fmt.Errorf("uint8 input: graph %s already has a value %q", g.GetName(), n)
		}
		used[n] = true
		return n, nil
	}
	steps := []struct {
		suffix, op string
		operand    []float32 // the second input, an initializer; nil: none
		attrs      []*onnxpb.AttributeProto
		skip       bool
	}{
		{suffix: "cast", op: "Cast", attrs: []*onnxpb.AttributeProto{attrInt("to", int64(onnxpb.TensorProto_FLOAT))}},
		{suffix: "scale", op: "Mul", operand: []float32{spec.Scale / 255}, skip: spec.Scale == 255 || spec.Scale == 0},
		{suffix: "sub_mean", op: "Sub", operand: spec.Mean[:]},
		{suffix: "div_std", op: "Div", operand: spec.Std[:]},
		{suffix: "nchw", op: "Transpose", attrs: []*onnxpb.AttributeProto{attrInts("perm", 0, 3, 1, 2)}},
	}
	var prefix []*onnxpb.NodeProto
	var inits []*onnxpb.TensorProto
	last := input
	for _, st := range steps {
		if st.skip {
			continue
		}
		out, err := name(st.suffix)
		if err != nil {
			return nil, err
		}
		ins := []string{last}
		if st.operand != nil {
			c, err := name(st.suffix + "_const")
			if err != nil {
				return nil, err
			}
			inits = append(inits, floatConst(c, st.operand))
			ins = append(ins, c)
		}
		prefix = append(prefix, &onnxpb.NodeProto{Name: proto.String(out), OpType: proto.String(st.op),
			Input: ins, Output: []string{out}, Attribute: st.attrs})
		last = out
	}
	// The graph's nodes now read the normalised NCHW tensor; the input
	// takes NHWC bytes.
	for _, n := range g.GetNode() {
		for i, x := range n.Input {
			if x == input {
				n.Input[i] = last
			}
		}
	}
	tt.ElemType = proto.Int32(int32(onnxpb.TensorProto_UINT8))
	tt.Shape.Dim = []*onnxpb.TensorShapeProto_Dimension{dims[0], dims[2], dims[3], dims[1]}
	g.Node = append(prefix, g.Node...)
	g.Initializer = append(g.Initializer, inits...)
	m.DocString = proto.String(m.GetDocString() + "; takes uint8 NHWC pixels and normalises them in the graph")
	out, err := proto.MarshalOptions{Deterministic: true}.Marshal(&m)
	if err != nil {
		return nil, fmt.Errorf("uint8 input: marshal %s: %w", g.GetName(), err)
	}
	return out, nil
}

// floatConst is a float32 initializer: a scalar for one value, else 1-D.
func floatConst(name string, v []float32) *onnxpb.TensorProto {
	raw := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
	}
	var dims []int64
	if len(v) > 1 {
		dims = []int64{int64(len(v))}
	}
	return &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Dims: dims, RawData: raw}
}
