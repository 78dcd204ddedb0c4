//go:build cgo

package ort

import (
	"debug/elf"
	"fmt"

	onnx "github.com/yalue/onnxruntime_go"
)

// The CUDA and TensorRT libraries of ONNX Runtime's GPU releases are
// provider-bridge libraries: they export GetProvider and call back into the
// core through its provider-host interface, whose layout depends on whether
// the core was built with that provider's interface. A core built without it
// (a plain CPU release, such as npm's com.github.asus4.onnxruntime) accepts
// such a library, through the plugin route too, and then crashes inside Run
// on graphs with CPU-placed nodes (seen on an H200 with ONNX Runtime 1.29:
// SIGSEGV at a bogus address for every graph with a Shape or Gather on the
// CPU, docs/gpu.md). checkBridgeCore refuses that pair before a session
// exists.

// bridgeSymbol is the entry point a provider-bridge library exports.
const bridgeSymbol = "GetProvider"

// checkBridgeCore fails when lib is a provider-bridge library and the
// loaded core lacks p's provider interface.
func checkBridgeCore(p provider, lib string) error {
	return bridgeCoreError(p, lib, environment.lib, coreHasInterface(p))
}

// bridgeCoreError is checkBridgeCore with the core's capability given.
func bridgeCoreError(p provider, lib, ortLib string, hasInterface bool) error {
	if hasInterface {
		return nil
	}
	// A library that cannot be read is left to registration, which
	// names a missing file or dependency.
	if !exportsSymbol(lib, bridgeSymbol) {
		return nil
	}
	return fmt.Errorf("%s: %s is a provider-bridge library (it exports %s) from an ONNX Runtime GPU build, and %s was built without the %s provider interface; such a pair crashes inside Run, so load a core built with it: the libonnxruntime of an official onnxruntime-linux-x64-gpu release, or of npm's onnxruntime-node, of the provider library's version (docs/gpu.md)",
		p.label(), lib, bridgeSymbol, ortLib, p.title)
}

// coreHasInterface reports whether the loaded core was built with p's
// provider interface: its legacy provider options can be created.
func coreHasInterface(p provider) bool {
	switch p.name {
	case "cuda":
		return created(onnx.NewCUDAProviderOptions())
	case "tensorrt":
		return created(onnx.NewTensorRTProviderOptions())
	}
	return true
}

// created reports whether options were created, destroying them.
func created[T interface{ Destroy() error }](o T, err error) bool {
	if err != nil {
		return false
	}
	o.Destroy()
	return true
}

// exportsSymbol reports whether the shared library at lib can be read and
// defines the dynamic symbol name.
func exportsSymbol(lib, name string) bool {
	f, err := elf.Open(lib)
	if err != nil {
		return false
	}
	defer f.Close()
	syms, err := f.DynamicSymbols()
	if err != nil {
		return false
	}
	for _, s := range syms {
		if s.Name == name && s.Section != elf.SHN_UNDEF {
			return true
		}
	}
	return false
}
