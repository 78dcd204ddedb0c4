//go:build !cgo

package ort

// EPDevices fails: ONNX Runtime needs cgo.
func EPDevices() ([]EPDevice, error) { return nil, errNoCgo }

// RegisterEPLibrary fails: ONNX Runtime needs cgo.
func RegisterEPLibrary(path string) error { return errNoCgo }
