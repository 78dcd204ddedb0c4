//go:build cgo

package ort

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	onnx "github.com/yalue/onnxruntime_go"
)

// sessionOptions builds the ONNX Runtime session options for o.
//
// The cuda and tensorrt providers are taken from what the loaded library
// offers:
//
//  1. With o.EPLib, that plugin execution-provider library is registered
//     (once per process) and its GPU device appended through
//     SessionOptionsAppendExecutionProvider_V2.
//  2. Otherwise the legacy API (official ONNX Runtime GPU builds):
//     New{CUDA,TensorRT}ProviderOptions and AppendExecutionProvider*.
//  3. When the legacy API says the provider is not in the build (see
//     appendLegacy), the plugin library beside the loaded libonnxruntime,
//     if there is one, is used as in 1.
//
// Before a provider library is loaded, its dependencies are checked, so a
// missing CUDA library is an error naming it.
func sessionOptions(o Options) (*onnx.SessionOptions, error) {
	p, ok := lookupProvider(o.Provider)
	if !ok {
		return nil, CheckProvider(o.Provider)
	}
	if p.name == "cpu" && o.EPLib != "" {
		return nil, fmt.Errorf("execution provider library %s given for the cpu provider (want cuda or tensorrt)", o.EPLib)
	}
	if p.name == "cpu" && o.EPOptions != "" {
		return nil, fmt.Errorf("provider options %q given for the cpu provider (want cuda or tensorrt)", o.EPOptions)
	}
	opts, err := onnx.NewSessionOptions()
	if err != nil {
		return nil, fmt.Errorf("new session options: %w", err)
	}
	if o.IntraOpThreads > 0 {
		if err := opts.SetIntraOpNumThreads(o.IntraOpThreads); err != nil {
			opts.Destroy()
			return nil, fmt.Errorf("intra-op threads %d: %w", o.IntraOpThreads, err)
		}
	}
	if !o.Arena {
		if err := opts.SetCpuMemArena(false); err != nil {
			opts.Destroy()
			return nil, fmt.Errorf("cpu memory arena: %w", err)
		}
	}
	if !o.Spin {
		if err := opts.AddSessionConfigEntry("session.intra_op.allow_spinning", "0"); err != nil {
			opts.Destroy()
			return nil, fmt.Errorf("intra-op spinning: %w", err)
		}
	}
	if p.name != "cpu" {
		if err := appendProvider(opts, p, o); err != nil {
			opts.Destroy()
			return nil, err
		}
	}
	return opts, nil
}

// appendProvider appends the GPU provider p to opts, choosing the route as
// sessionOptions describes.
func appendProvider(opts *onnx.SessionOptions, p provider, o Options) error {
	environment.epMu.Lock()
	defer environment.epMu.Unlock()
	settings, err := epOptionMap(o.EPOptions)
	if err != nil {
		return fmt.Errorf("%s: %w", p.label(), err)
	}
	if _, ok := settings["device_id"]; ok {
		return fmt.Errorf("%s: provider option device_id: choose the gpu with the device id (--device-id)", p.label())
	}
	if o.EPLib != "" {
		return appendPlugin(opts, p, o.EPLib, o.DeviceID, settings)
	}
	err = appendLegacy(opts, p, o.DeviceID, settings)
	var nb *notInBuildError
	if !errors.As(err, &nb) {
		return err
	}
	if lib, ok := besideLibrary(environment.lib, p.libFile); ok {
		slog.Info("execution provider not in the onnx runtime build; using the plugin library beside it",
			"provider", p.name, "ort_lib", environment.lib, "ep_lib", lib)
		return appendPlugin(opts, p, lib, o.DeviceID, settings)
	}
	return fmt.Errorf("%s: %s has no %s execution provider (legacy api: %w) and no %s beside it; pass --ort-ep-lib PATH naming a plugin execution provider library such as %s",
		p.label(), environment.lib, p.title, nb.err, p.libFile, p.libFile)
}

// notInBuildError is the legacy API's refusal: the loaded library was
// built without the provider.
type notInBuildError struct{ err error }

func (e *notInBuildError) Error() string { return e.err.Error() }
func (e *notInBuildError) Unwrap() error { return e.err }

// appendLegacy appends p through the provider-options API that official
// ONNX Runtime GPU builds expose. It fails with a *notInBuildError when
// the loaded library lacks the provider: creating the options fails (CPU
// builds without the provider interface), or configuring them fails with
// no provider library beside the loaded one for the interface to load
// (CPU builds with it, such as npm's).
func appendLegacy(opts *onnx.SessionOptions, p provider, deviceID int, options map[string]string) error {
	_, beside := besideLibrary(environment.lib, p.libFile)
	fail := func(err error) error {
		if !beside {
			return &notInBuildError{err}
		}
		return fmt.Errorf("%s: %w", p.label(), err)
	}
	settings := map[string]string{"device_id": fmt.Sprint(deviceID)}
	for k, v := range options {
		settings[k] = v
	}
	switch p.name {
	case "cuda":
		cuda, err := onnx.NewCUDAProviderOptions()
		if err != nil {
			return &notInBuildError{err}
		}
		defer cuda.Destroy()
		if err := checkBeside(p); err != nil {
			return err
		}
		if err := cuda.Update(settings); err != nil {
			return fail(fmt.Errorf("options %v: %w", settings, err))
		}
		if err := opts.AppendExecutionProviderCUDA(cuda); err != nil {
			return fail(err)
		}
	case "tensorrt":
		trt, err := onnx.NewTensorRTProviderOptions()
		if err != nil {
			return &notInBuildError{err}
		}
		defer trt.Destroy()
		if err := checkBeside(p); err != nil {
			return err
		}
		if err := trt.Update(settings); err != nil {
			return fail(fmt.Errorf("options %v: %w", settings, err))
		}
		if err := opts.AppendExecutionProviderTensorRT(trt); err != nil {
			return fail(err)
		}
	default:
		return fmt.Errorf("%s: no legacy api", p.label())
	}
	slog.Debug("execution provider appended through the legacy api", "provider", p.name, "device_id", deviceID)
	return nil
}

// checkBeside checks the dependencies of the provider library an official
// build loads from beside libonnxruntime when the session is created.
func checkBeside(p provider) error {
	lib, ok := besideLibrary(environment.lib, p.libFile)
	if !ok {
		return nil
	}
	if err := checkDependencies(lib, environment.lib); err != nil {
		return fmt.Errorf("%s: %w", p.label(), err)
	}
	return nil
}

// appendPlugin registers the plugin library lib and appends p's GPU
// device deviceID from it, with the provider options.
func appendPlugin(opts *onnx.SessionOptions, p provider, lib string, deviceID int, options map[string]string) error {
	if err := checkBridgeCore(p, lib); err != nil {
		return err
	}
	if err := registerEPLibrary(p.label(), lib); err != nil {
		return err
	}
	if err := appendDevice(opts, p.epNames, "gpu", deviceID, options); err != nil {
		return fmt.Errorf("%s from %s: %w", p.label(), lib, err)
	}
	slog.Debug("execution provider appended from a plugin library", "provider", p.name, "ep_lib", lib, "device_id", deviceID, "options", options)
	return nil
}

// RegisterEPLibrary registers the plugin execution-provider library at
// path (such as libonnxruntime_providers_cuda.so) with the process's
// environment, so that EPDevices lists its devices. A path is registered
// once per process; its dependencies are checked first, and a missing one
// is a *MissingDependencyError. Init must have been called.
func RegisterEPLibrary(path string) error {
	environment.epMu.Lock()
	defer environment.epMu.Unlock()
	return registerEPLibrary("execution provider library", path)
}

// registerEPLibrary is RegisterEPLibrary with environment.epMu held;
// label prefixes its errors.
func registerEPLibrary(label, path string) error {
	if !onnx.IsInitialized() {
		return fmt.Errorf("%s: onnx runtime not initialised", label)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	if environment.epLibs[abs] {
		return nil
	}
	st, err := os.Stat(abs)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%s: execution provider library %s does not exist", label, path)
	case err != nil:
		return fmt.Errorf("%s: execution provider library: %w", label, err)
	case st.IsDir():
		return fmt.Errorf("%s: execution provider library %s is a folder", label, path)
	}
	if err := checkDependencies(abs, environment.lib); err != nil {
		return fmt.Errorf("%s: %w", label, err)
	}
	if err := onnx.RegisterExecutionProviderLibrary(abs, abs); err != nil {
		return fmt.Errorf("%s: register %s: %w", label, abs, err)
	}
	if environment.epLibs == nil {
		environment.epLibs = map[string]bool{}
	}
	environment.epLibs[abs] = true
	slog.Info("registered execution provider library", "path", abs)
	return nil
}
