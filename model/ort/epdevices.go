//go:build cgo

package ort

// This file is the one place groundbeam reaches past onnxruntime_go's API.
// onnxruntime_go v1.27.0 wraps RegisterExecutionProviderLibrary but not
// GetEpDevices or SessionOptionsAppendExecutionProvider_V2, and keeps the
// OrtEnv and OrtSessionOptions pointers those need unexported. So it
//
//   - takes the OrtApi from the library onnxruntime_go loaded
//     (dlopen RTLD_NOLOAD + OrtGetApiBase, in epdevices.c),
//   - reads onnxruntime_go's ortEnv variable through go:linkname, and
//   - reads the OrtSessionOptions pointer as the first (only) field of
//     onnx.SessionOptions.
//
// The last two depend on onnxruntime_go's internals, hence the pin: a build
// that links another version gets an error from checkShim instead of a
// crash, and TestShimPinned fails when go.mod or the layout changes. The C
// headers in include/ come from the same release.

/*
#cgo CFLAGS: -I${SRCDIR}/include
#cgo LDFLAGS: -ldl
#include <stdlib.h>
#include "epdevices.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"reflect"
	"runtime/debug"
	"strconv"
	"unsafe"

	onnx "github.com/yalue/onnxruntime_go"
)

const (
	// onnxModule is the module whose internals this file reads.
	onnxModule = "github.com/yalue/onnxruntime_go"
	// onnxPinned is the version of onnxModule this file was written for.
	onnxPinned = "v1.27.0"
	// errLen is the size of the buffers C writes messages into.
	errLen = 1024
)

// ortEnv is onnxruntime_go's *C.OrtEnv, nil until InitializeEnvironment.
//
//go:linkname ortEnv github.com/yalue/onnxruntime_go.ortEnv
var ortEnv unsafe.Pointer

// checkShim verifies the assumptions this file makes about onnxruntime_go:
// the version linked in (when the binary records it) and SessionOptions
// being one pointer field named o.
func checkShim() error {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path != onnxModule {
				continue
			}
			if m.Replace == nil && m.Version != onnxPinned {
				return fmt.Errorf("execution provider devices need %s %s, this binary has %s", onnxModule, onnxPinned, m.Version)
			}
		}
	}
	t := reflect.TypeFor[onnx.SessionOptions]()
	if t.NumField() != 1 || t.Field(0).Name != "o" || t.Field(0).Type.Kind() != reflect.Pointer {
		return fmt.Errorf("execution provider devices: %s.SessionOptions is not one pointer field o (layout of %s changed)", onnxModule, onnxPinned)
	}
	return nil
}

// rawSessionOptions returns the OrtSessionOptions inside opts.
func rawSessionOptions(opts *onnx.SessionOptions) (*C.OrtSessionOptions, error) {
	if err := checkShim(); err != nil {
		return nil, err
	}
	p := *(*unsafe.Pointer)(unsafe.Pointer(opts))
	if p == nil {
		return nil, errors.New("session options already destroyed")
	}
	return (*C.OrtSessionOptions)(p), nil
}

// ortAPI returns the OrtApi of the loaded library. The environment must be
// initialised.
func ortAPI() (*C.OrtApi, error) {
	if !onnx.IsInitialized() || ortEnv == nil {
		return nil, errors.New("onnx runtime not initialised")
	}
	if err := checkShim(); err != nil {
		return nil, err
	}
	path := C.CString(environment.lib)
	defer C.free(unsafe.Pointer(path))
	var msg [errLen]C.char
	api := C.gb_ort_api(path, &msg[0], errLen)
	if api == nil {
		return nil, fmt.Errorf("onnx runtime api of %s: %s", environment.lib, C.GoString(&msg[0]))
	}
	return api, nil
}

// statusError turns a non-nil OrtStatus into an error and releases it.
func statusError(api *C.OrtApi, st *C.OrtStatus) error {
	var msg [errLen]C.char
	C.gb_status_error(api, st, &msg[0], errLen)
	return errors.New(C.GoString(&msg[0]))
}

// epDevices lists the environment's execution-provider devices with the
// OrtEpDevice behind each. The pointers are the environment's and stay
// valid until the next library registration; callers hold environment.epMu.
func epDevices() ([]EPDevice, []*C.OrtEpDevice, *C.OrtApi, error) {
	api, err := ortAPI()
	if err != nil {
		return nil, nil, nil, err
	}
	var list **C.OrtEpDevice
	var n C.size_t
	if st := C.gb_ep_devices(api, (*C.OrtEnv)(ortEnv), &list, &n); st != nil {
		return nil, nil, nil, fmt.Errorf("get execution provider devices: %w", statusError(api, st))
	}
	if n == 0 {
		return nil, nil, api, nil
	}
	raw := unsafe.Slice(list, int(n))
	devs := make([]EPDevice, len(raw))
	ordinal := map[[2]string]int{}
	for i, d := range raw {
		var info C.gb_ep_device
		C.gb_describe_ep_device(api, d, &info)
		dev := EPDevice{
			EP:             C.GoString(info.ep_name),
			Vendor:         C.GoString(info.ep_vendor),
			Hardware:       hardwareName(int(info.hardware_type)),
			HardwareVendor: C.GoString(info.hardware_vendor),
			VendorID:       uint32(info.vendor_id),
		}
		k := [2]string{dev.EP, dev.Hardware}
		dev.DeviceID = ordinal[k]
		ordinal[k]++
		for _, s := range []*C.char{info.metadata_device_id, info.option_device_id} {
			if s == nil {
				continue
			}
			if id, err := strconv.Atoi(C.GoString(s)); err == nil {
				dev.DeviceID = id
				break
			}
		}
		devs[i] = dev
	}
	return devs, raw, api, nil
}

// EPDevices lists the devices the execution providers of the loaded ONNX
// Runtime offer, including those of plugin libraries registered so far
// (see RegisterEPLibrary). Init must have been called.
func EPDevices() ([]EPDevice, error) {
	environment.epMu.Lock()
	defer environment.epMu.Unlock()
	devs, _, _, err := epDevices()
	return devs, err
}

// appendDevice appends to opts the execution provider of the device
// pickDevice chooses from the environment's devices (the first of epNames
// with that hardware type and device id), through
// SessionOptionsAppendExecutionProvider_V2 with the given provider options.
// Callers hold environment.epMu.
func appendDevice(opts *onnx.SessionOptions, epNames []string, hardware string, deviceID int, options map[string]string) error {
	so, err := rawSessionOptions(opts)
	if err != nil {
		return err
	}
	devs, raw, api, err := epDevices()
	if err != nil {
		return err
	}
	i, err := pickDevice(devs, epNames, hardware, deviceID)
	if err != nil {
		return err
	}
	keys := make([]*C.char, 0, len(options)+1)
	values := make([]*C.char, 0, len(options)+1)
	defer func() {
		for i := range keys {
			C.free(unsafe.Pointer(keys[i]))
			C.free(unsafe.Pointer(values[i]))
		}
	}()
	for k, v := range options {
		keys = append(keys, C.CString(k))
		values = append(values, C.CString(v))
	}
	// Go memory holding only C pointers may be passed to C; keep a valid
	// address when there are no options.
	keys, values = append(keys, nil), append(values, nil)
	st := C.gb_append_ep_device(api, so, (*C.OrtEnv)(ortEnv), raw[i], &keys[0], &values[0], C.size_t(len(options)))
	keys, values = keys[:len(options)], values[:len(options)]
	if st != nil {
		return fmt.Errorf("append %s: %w", devs[i], statusError(api, st))
	}
	return nil
}

// dlopenCheck reports whether the dynamic loader can load name, honouring
// LD_LIBRARY_PATH and the ld cache; on failure it returns dlerror's text.
func dlopenCheck(name string) (ok bool, detail string) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var msg [errLen]C.char
	if C.gb_dlopen_check(cname, &msg[0], errLen) == 1 {
		return true, ""
	}
	return false, C.GoString(&msg[0])
}
