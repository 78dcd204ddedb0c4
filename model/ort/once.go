//go:build cgo

package ort

import (
	"context"
	"errors"
	"fmt"

	onnx "github.com/yalue/onnxruntime_go"
)

// Initialized reports whether this process's ONNX Runtime environment
// exists (see [Init]).
func Initialized() bool { return onnx.IsInitialized() }

// RunOnce creates a session from a serialized ONNX model outside the
// process's session cache, runs it once on inputs (in the order of the
// names in inputNames) and destroys it. It is for one-off runs, such as
// computing reference outputs while a bundle is written, that should leave
// no session behind; name identifies the model in errors. The environment
// must exist.
func RunOnce(ctx context.Context, name string, model []byte, opts Options, inputNames, outputNames []string, inputs []Tensor) (outs []Tensor, err error) {
	if !onnx.IsInitialized() {
		return nil, fmt.Errorf("run %s: onnx runtime not initialised", name)
	}
	so, err := sessionOptions(opts)
	if err != nil {
		return nil, fmt.Errorf("session options for %s: %w", name, err)
	}
	defer so.Destroy()
	ds, err := onnx.NewDynamicAdvancedSessionWithONNXData(model, inputNames, outputNames, so)
	if err != nil {
		return nil, fmt.Errorf("create session for %s: %w", name, err)
	}
	defer func() { err = errors.Join(err, ds.Destroy()) }()
	s := &Session{key: Key{Identity: name, Options: opts}, inputs: inputNames, outputs: outputNames, s: ds}
	return s.Run(ctx, inputs)
}
