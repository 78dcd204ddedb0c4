package tiny

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"

	"google.golang.org/protobuf/proto"

	"github.com/groundbeam/groundbeam/model/onnxpb"
)

const (
	// irVersion is the ONNX IR version written into every model.
	irVersion = 8
	// opsetVersion is the default-domain opset every model imports.
	opsetVersion = 17
	// producerName identifies these models in ModelProto.producer_name.
	producerName = "groundbeam/model/tiny"
)

// graph incrementally builds an ONNX GraphProto. The first error met is kept
// in err and reported by model, so construction code can stay linear.
type graph struct {
	g    *onnxpb.GraphProto
	seq  int
	err  error
	used map[string]bool
}

// newGraph returns an empty graph with the given name.
func newGraph(name string) *graph {
	return &graph{g: &onnxpb.GraphProto{Name: proto.String(name)}, used: map[string]bool{}}
}

// fail records the first error.
func (b *graph) fail(format string, args ...any) {
	if b.err == nil {
		b.err = fmt.Errorf(format, args...)
	}
}

// claim marks a value name as defined, recording an error on redefinition.
func (b *graph) claim(name string) string {
	if b.used[name] {
		b.fail("value %q defined twice", name)
	}
	b.used[name] = true
	return name
}

// fresh returns a new unique value name with the given prefix.
func (b *graph) fresh(prefix string) string {
	for {
		b.seq++
		name := fmt.Sprintf("%s_%d", prefix, b.seq)
		if !b.used[name] {
			return name
		}
	}
}

// valueInfo builds a tensor ValueInfoProto. Each dim is either an int
// (dim_value) or a string (symbolic dim_param).
func (b *graph) valueInfo(name string, elem onnxpb.TensorProto_DataType, dims ...any) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		td := &onnxpb.TensorShapeProto_Dimension{}
		switch v := d.(type) {
		case int:
			td.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(v)}
		case string:
			td.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: v}
		default:
			b.fail("value %q: unsupported dim %v (%T)", name, d, d)
		}
		shape.Dim = append(shape.Dim, td)
	}
	return &onnxpb.ValueInfoProto{
		Name: proto.String(name),
		Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(elem)),
			Shape:    shape,
		}}},
	}
}

// input declares a graph input and returns its name.
func (b *graph) input(name string, elem onnxpb.TensorProto_DataType, dims ...any) string {
	b.g.Input = append(b.g.Input, b.valueInfo(b.claim(name), elem, dims...))
	return name
}

// output declares a graph output; the value must be produced by a node
// (see opTo).
func (b *graph) output(name string, elem onnxpb.TensorProto_DataType, dims ...any) {
	b.g.Output = append(b.g.Output, b.valueInfo(name, elem, dims...))
}

// checkDims verifies that dims describe exactly n elements.
func (b *graph) checkDims(name string, dims []int64, n int) {
	want := int64(1)
	for _, d := range dims {
		if d < 0 {
			b.fail("initializer %q: negative dim in %v", name, dims)
			return
		}
		want *= d
	}
	if want != int64(n) {
		b.fail("initializer %q: dims %v need %d values, got %d", name, dims, want, n)
	}
}

// initF32 adds a float32 initializer (stored as little-endian raw_data) and
// returns its name.
func (b *graph) initF32(prefix string, dims []int64, data []float32) string {
	name := b.claim(b.fresh(prefix))
	b.checkDims(name, dims, len(data))
	raw := make([]byte, 4*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{
		Name:     proto.String(name),
		DataType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
		Dims:     append([]int64(nil), dims...),
		RawData:  raw,
	})
	return name
}

// initI64 adds an int64 initializer (stored as little-endian raw_data) and
// returns its name.
func (b *graph) initI64(prefix string, dims []int64, data []int64) string {
	name := b.claim(b.fresh(prefix))
	b.checkDims(name, dims, len(data))
	raw := make([]byte, 8*len(data))
	for i, v := range data {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{
		Name:     proto.String(name),
		DataType: proto.Int32(int32(onnxpb.TensorProto_INT64)),
		Dims:     append([]int64(nil), dims...),
		RawData:  raw,
	})
	return name
}

// scalarF32 adds a 0-D float32 initializer.
func (b *graph) scalarF32(prefix string, v float32) string {
	return b.initF32(prefix, nil, []float32{v})
}

// ints1 adds a 1-D int64 initializer holding vals (shape operands, axes...).
func (b *graph) ints1(prefix string, vals ...int64) string {
	return b.initI64(prefix, []int64{int64(len(vals))}, vals)
}

// op appends a single-output node and returns the name of its output.
func (b *graph) op(opType string, inputs []string, attrs ...*onnxpb.AttributeProto) string {
	return b.opTo(b.fresh(opType), opType, inputs, attrs...)
}

// opTo appends a single-output node writing to out and returns out.
func (b *graph) opTo(out, opType string, inputs []string, attrs ...*onnxpb.AttributeProto) string {
	for _, in := range inputs {
		if in != "" && !b.used[in] {
			b.fail("node %s: input %q is not defined", opType, in)
		}
	}
	b.claim(out)
	b.g.Node = append(b.g.Node, &onnxpb.NodeProto{
		Name:      proto.String(out),
		OpType:    proto.String(opType),
		Input:     append([]string(nil), inputs...),
		Output:    []string{out},
		Attribute: attrs,
	})
	return out
}

// attrInt builds an INT attribute.
func attrInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

// attrInts builds an INTS attribute.
func attrInts(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

// attrFloat builds a FLOAT attribute.
func attrFloat(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

// attrString builds a STRING attribute.
func attrString(name, v string) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte(v)}
}

// attrTensorI64 builds a TENSOR attribute holding a 1-element int64 tensor
// (the value of ConstantOfShape).
func attrTensorI64(name string, v int64) *onnxpb.AttributeProto {
	t := &onnxpb.TensorProto{
		DataType:  proto.Int32(int32(onnxpb.TensorProto_INT64)),
		Dims:      []int64{1},
		Int64Data: []int64{v},
	}
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: t}
}

// linear emits x @ w + bias for a 2-D weight w [in,out] drawn from rng with
// standard deviation std (bias drawn with biasStd, omitted when 0).
func (b *graph) linear(x string, w *weights, in, out int, std, biasStd float64) string {
	y := b.op("MatMul", []string{x, b.initF32("w", []int64{int64(in), int64(out)}, w.normal(in*out, std))})
	if biasStd == 0 {
		return y
	}
	return b.op("Add", []string{y, b.initF32("b", []int64{int64(out)}, w.normal(out, biasStd))})
}

// model wraps the graph in a ModelProto (IR 8, opset 17) and serialises it
// deterministically.
func (b *graph) model(doc string) ([]byte, error) {
	if b.err != nil {
		return nil, fmt.Errorf("build %s graph: %w", b.g.GetName(), b.err)
	}
	for _, o := range b.g.Output {
		if !b.used[o.GetName()] {
			return nil, fmt.Errorf("build %s graph: output %q is not produced", b.g.GetName(), o.GetName())
		}
	}
	m := &onnxpb.ModelProto{
		IrVersion:       proto.Int64(irVersion),
		OpsetImport:     []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(opsetVersion)}},
		ProducerName:    proto.String(producerName),
		ProducerVersion: proto.String("1"),
		ModelVersion:    proto.Int64(1),
		DocString:       proto.String(doc),
		Graph:           b.g,
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("marshal %s model: %w", b.g.GetName(), err)
	}
	return data, nil
}

// weights draws deterministic pseudo-random parameters.
type weights struct {
	r *rand.Rand
}

// newWeights returns a generator for the given seed and stream; distinct
// streams give independent parameter sets for the same seed.
func newWeights(seed, stream uint64) *weights {
	return &weights{r: rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15^stream))}
}

// normal returns n samples of N(0, std²).
func (w *weights) normal(n int, std float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(w.r.NormFloat64() * std)
	}
	return out
}

// uniform returns n samples of U[lo, hi).
func (w *weights) uniform(n int, lo, hi float64) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(lo + (hi-lo)*w.r.Float64())
	}
	return out
}
