package teacher

import (
	"encoding/binary"
	"math"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/onnxpb"
	"github.com/groundbeam/groundbeam/model/tiny"
)

// probeQueries is the probe graph's Q.
const probeQueries = 3

// probeGraph is a grounding graph that echoes its inputs, to check what
// the teacher feeds it:
//
//	logits[b,q,t]    = input_ids[b,t] + 0.5·attention_mask[b,t] + 1e4·token_type_ids[b,t]
//	centerness[b,q]  = Σ pixel_mask[b]  (the number of real pixels)
//	pred_boxes[b,q]  = (0.5, 0.5, 0.5, 0.5) + 0·mean(pixel_values[b])
func probeGraph(t *testing.T) []byte {
	t.Helper()
	g := &onnxpb.GraphProto{Name: proto.String("probe")}
	vi := func(name string, elem onnxpb.TensorProto_DataType, dims ...any) *onnxpb.ValueInfoProto {
		shape := &onnxpb.TensorShapeProto{}
		for _, d := range dims {
			td := &onnxpb.TensorShapeProto_Dimension{}
			switch v := d.(type) {
			case int:
				td.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(v)}
			case string:
				td.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: v}
			}
			shape.Dim = append(shape.Dim, td)
		}
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
			TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(elem)), Shape: shape}}}}
	}
	f32, i64 := onnxpb.TensorProto_FLOAT, onnxpb.TensorProto_INT64
	g.Input = []*onnxpb.ValueInfoProto{
		vi("pixel_values", f32, "B", 3, "H", "W"), vi("input_ids", i64, "B", "T"), vi("attention_mask", i64, "B", "T"),
		vi("pixel_mask", i64, "B", "H", "W"), vi("token_type_ids", i64, "B", "T"),
	}
	g.Output = []*onnxpb.ValueInfoProto{vi("pred_boxes", f32, "B", probeQueries, 4), vi("logits", f32, "B", probeQueries, "T"), vi("centerness", f32, "B", probeQueries)}
	initF := func(name string, dims []int64, vals ...float32) {
		raw := make([]byte, 4*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
		}
		g.Initializer = append(g.Initializer, &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(f32)), Dims: dims, RawData: raw})
	}
	initI := func(name string, vals ...int64) {
		raw := make([]byte, 8*len(vals))
		for i, v := range vals {
			binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
		}
		g.Initializer = append(g.Initializer, &onnxpb.TensorProto{Name: proto.String(name), DataType: proto.Int32(int32(i64)), Dims: []int64{int64(len(vals))}, RawData: raw})
	}
	node := func(op, out string, attrs []*onnxpb.AttributeProto, in ...string) {
		g.Node = append(g.Node, &onnxpb.NodeProto{Name: proto.String(out), OpType: proto.String(op), Input: in, Output: []string{out}, Attribute: attrs})
	}
	toF := []*onnxpb.AttributeProto{{Name: proto.String("to"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(int64(f32))}}
	noKeep := []*onnxpb.AttributeProto{{Name: proto.String("keepdims"), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(0)}}
	zq := make([]float32, probeQueries)
	box := make([]float32, probeQueries*4)
	for i := range box {
		box[i] = 0.5
	}
	initF("zeros_q", []int64{1, probeQueries}, zq...)
	initF("zeros_q1", []int64{1, probeQueries, 1}, zq...)
	initF("box", []int64{1, probeQueries, 4}, box...)
	initF("half", nil, 0.5)
	initF("big", nil, 1e4)
	initF("zero", nil, 0)
	initI("ax1", 1)
	initI("ax12", 1, 2)
	// logits
	node("Cast", "ids_f", toF, "input_ids")
	node("Cast", "am_f", toF, "attention_mask")
	node("Cast", "tt_f", toF, "token_type_ids")
	node("Mul", "am_h", nil, "am_f", "half")
	node("Mul", "tt_b", nil, "tt_f", "big")
	node("Add", "s1", nil, "ids_f", "am_h")
	node("Add", "s2", nil, "s1", "tt_b")
	node("Unsqueeze", "s3", nil, "s2", "ax1")
	node("Add", "logits", nil, "s3", "zeros_q1")
	// centerness
	node("Cast", "pm_f", toF, "pixel_mask")
	node("ReduceSum", "pm_sum", noKeep, "pm_f", "ax12")
	node("Unsqueeze", "pm_u", nil, "pm_sum", "ax1")
	node("Add", "centerness", nil, "pm_u", "zeros_q")
	// boxes
	node("ReduceMean", "px_mean", append(noKeep, &onnxpb.AttributeProto{Name: proto.String("axes"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: []int64{1, 2, 3}}), "pixel_values")
	node("Unsqueeze", "px_u", nil, "px_mean", "ax12")
	node("Mul", "px_zero", nil, "px_u", "zero")
	node("Add", "pred_boxes", nil, "box", "px_zero")
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(8),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(17)}},
		Graph:       g,
	}
	raw, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// probeBundle writes a grounding bundle around the probe graph, with the
// tiny models' vocabulary and the given resize rule.
func probeBundle(t *testing.T, shortest, maxSize int) *bundle.Bundle {
	t.Helper()
	vocab := tiny.WordPieceVocab(tiny.DefaultGroundingVocabSize)
	var text []byte
	for _, v := range vocab {
		text = append(text, v+"\n"...)
	}
	b, err := bundle.Write(filepath.Join(t.TempDir(), "probe"), bundle.Manifest{
		Name: "probe", Kind: bundle.KindGrounding, ONNX: "model.onnx",
		Inputs: map[string]string{bundle.InImage: "pixel_values", bundle.InInputIDs: "input_ids", bundle.InAttentionMask: "attention_mask",
			bundle.InPixelMask: "pixel_mask", bundle.InTokenTypeIDs: "token_type_ids"},
		Outputs:   map[string]string{bundle.OutBoxes: "pred_boxes", bundle.OutLogits: "logits", bundle.OutCenterness: "centerness"},
		BoxFormat: bundle.BoxCXCYWHNorm, LogitsActivation: "none",
		Image: bundle.ImageSpec{Resize: "shortest_edge", ShortestEdge: shortest, MaxSize: maxSize, PadMultiple: 32,
			ChannelOrder: "BGR", Scale: 255, Mean: [3]float32{103.530, 116.280, 123.675}, Std: [3]float32{57.375, 57.120, 58.395}},
		Text: bundle.TextSpec{Tokenizer: "wordpiece", Vocab: "vocab.txt", Lowercase: true, MaxTokens: 256},
	}, map[string][]byte{"model.onnx": probeGraph(t), "vocab.txt": text})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
