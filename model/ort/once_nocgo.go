//go:build !cgo

package ort

import "context"

// Initialized is always false without cgo.
func Initialized() bool { return false }

// RunOnce fails: ONNX Runtime needs cgo.
func RunOnce(ctx context.Context, name string, model []byte, opts Options, inputNames, outputNames []string, inputs []Tensor) ([]Tensor, error) {
	return nil, errNoCgo
}
