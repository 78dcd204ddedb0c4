//go:build cgo

package ort

import onnx "github.com/yalue/onnxruntime_go"

// OnnxPinned is the onnxruntime_go version epdevices.go is written for.
const OnnxPinned = onnxPinned

// CheckShim exposes checkShim.
var CheckShim = checkShim

// AppendDevice appends the device of execution provider ep with the given
// hardware type and id to opts through the same path the cuda and
// tensorrt providers take (SessionOptionsAppendExecutionProvider_V2).
func AppendDevice(opts *onnx.SessionOptions, ep, hardware string, deviceID int) error {
	environment.epMu.Lock()
	defer environment.epMu.Unlock()
	return appendDevice(opts, []string{ep}, hardware, deviceID, nil)
}

// CoreHasInterface reports whether the loaded core has the named
// provider's interface (coreHasInterface).
func CoreHasInterface(name string) bool {
	p, _ := lookupProvider(name)
	return coreHasInterface(p)
}

// BridgeCoreError is bridgeCoreError for the named provider.
func BridgeCoreError(name, lib, ortLib string, hasInterface bool) error {
	p, _ := lookupProvider(name)
	return bridgeCoreError(p, lib, ortLib, hasInterface)
}
