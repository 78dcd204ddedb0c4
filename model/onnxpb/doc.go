// Package onnxpb holds the Go protobuf types generated from the ONNX
// intermediate representation schema (onnx.proto), used to build and inspect
// ONNX models (ModelProto, GraphProto, NodeProto, TensorProto, ...).
//
// onnx.proto is an unmodified copy of /usr/include/onnx/onnx.proto from
// Debian's libonnx-dev 1.12.0 (ONNX 1.12.0, IR_VERSION 8), licensed under
// Apache-2.0 by the ONNX Project Contributors. The Go import path is supplied
// on the protoc command line (--go_opt=M...) so the schema needs no
// go_package option.
//
// onnx.pb.go is generated with Debian's protoc 3.21.12 and protoc-gen-go
// v1.28.1; regenerate it with
//
//	go generate ./model/onnxpb
package onnxpb

//go:generate protoc --go_out=. --go_opt=paths=source_relative --go_opt=Monnx.proto=github.com/groundbeam/groundbeam/model/onnxpb onnx.proto
