package ort

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// CheckProvider reports whether name is a provider Options.Provider
// accepts: "cpu" (or ""), "cuda" or "tensorrt". Command-line front ends
// call it when parsing flags, so a typo is a usage error before any work.
func CheckProvider(name string) error {
	if _, ok := lookupProvider(name); !ok {
		return fmt.Errorf("unknown execution provider %q (want cpu, cuda or tensorrt)", name)
	}
	return nil
}

// provider describes an execution provider Options.Provider can name.
type provider struct {
	// name is the Options.Provider value.
	name string
	// title is how errors name it ("CUDA").
	title string
	// libFile is the plugin library looked for beside libonnxruntime when
	// the loaded library lacks the provider.
	libFile string
	// epNames are the execution-provider names its devices carry in
	// GetEpDevices, in order of preference.
	epNames []string
}

// label prefixes the provider's errors.
func (p provider) label() string { return p.name + " execution provider" }

func lookupProvider(name string) (provider, bool) {
	switch name {
	case "", "cpu":
		return provider{name: "cpu", title: "CPU", epNames: []string{"CPUExecutionProvider"}}, true
	case "cuda":
		return provider{name: "cuda", title: "CUDA", libFile: "libonnxruntime_providers_cuda.so",
			epNames: []string{"CUDAExecutionProvider"}}, true
	case "tensorrt":
		return provider{name: "tensorrt", title: "TensorRT", libFile: "libonnxruntime_providers_tensorrt.so",
			epNames: []string{"NvTensorRTRTXExecutionProvider", "TensorrtExecutionProvider"}}, true
	}
	return provider{}, false
}

// besideLibrary returns file's path in the folder of the loaded ONNX
// Runtime library ortLib, if it is there.
func besideLibrary(ortLib, file string) (string, bool) {
	if ortLib == "" || file == "" {
		return "", false
	}
	p := filepath.Join(filepath.Dir(ortLib), file)
	if st, err := os.Stat(p); err != nil || st.IsDir() {
		return "", false
	}
	return p, true
}

// EPDevice is a device an execution provider offers in the loaded ONNX
// Runtime (its GetEpDevices list): the CPU provider's CPU, and a GPU for
// each plugin provider library that found one.
type EPDevice struct {
	// EP is the execution provider's name, e.g. CUDAExecutionProvider.
	EP string `json:"ep"`
	// Vendor is the execution provider's vendor.
	Vendor string `json:"vendor"`
	// Hardware is the device type: "cpu", "gpu" or "npu".
	Hardware string `json:"hardware"`
	// HardwareVendor is the device's vendor as ONNX Runtime discovered it.
	HardwareVendor string `json:"hardware_vendor"`
	// VendorID is the device's PCI vendor id (0x10de for NVIDIA).
	VendorID uint32 `json:"vendor_id"`
	// DeviceID is the id Options.DeviceID selects it by: the "device_id"
	// of the hardware device's metadata, else of the provider's options,
	// else its position among the provider's devices of its type.
	DeviceID int `json:"device_id"`
}

// String describes the device in one line.
func (d EPDevice) String() string {
	return fmt.Sprintf("%s (%s, device %d, vendor %q 0x%04x)", d.EP, d.Hardware, d.DeviceID, d.HardwareVendor, d.VendorID)
}

// hardwareName names an OrtHardwareDeviceType.
func hardwareName(t int) string {
	switch t {
	case 0:
		return "cpu"
	case 1:
		return "gpu"
	case 2:
		return "npu"
	}
	return fmt.Sprintf("unknown(%d)", t)
}

// pickDevice returns the index in devs of the device of the first of
// epNames with the given hardware type and DeviceID, or an error listing
// what there is.
func pickDevice(devs []EPDevice, epNames []string, hardware string, deviceID int) (int, error) {
	for _, name := range epNames {
		for i, d := range devs {
			if d.EP == name && d.Hardware == hardware && d.DeviceID == deviceID {
				return i, nil
			}
		}
	}
	found := make([]string, len(devs))
	for i, d := range devs {
		found[i] = d.String()
	}
	list := strings.Join(found, "; ")
	if list == "" {
		list = "none"
	}
	return -1, fmt.Errorf("no %s device %d of %s; onnx runtime offers: %s", hardware, deviceID, strings.Join(epNames, " or "), list)
}

// MissingDependencyError reports a library the dynamic loader cannot find
// for an execution-provider library, so a worker without the CUDA
// libraries on its path fails saying which file it lacks.
type MissingDependencyError struct {
	// Library is the execution-provider library.
	Library string
	// Needed is the entry of Library's DT_NEEDED list that failed to load.
	Needed string
	// Missing is the file the loader could not find: Needed itself, or a
	// library Needed depends on; empty when the loader failed otherwise.
	Missing string
	// Detail is the loader's message.
	Detail string
}

// Error names the missing file and how to make it visible.
func (e *MissingDependencyError) Error() string {
	switch e.Missing {
	case e.Needed:
		return fmt.Sprintf("%s needs %s, which the dynamic loader cannot find (set LD_LIBRARY_PATH to the folder holding it)", e.Library, e.Needed)
	case "":
		return fmt.Sprintf("%s needs %s, which the dynamic loader cannot load: %s", e.Library, e.Needed, e.Detail)
	}
	return fmt.Sprintf("%s needs %s, which needs %s, which the dynamic loader cannot find (set LD_LIBRARY_PATH to the folder holding it)", e.Library, e.Needed, e.Missing)
}

// missingFile extracts the file name from a dlopen message such as
// "libx.so.1: cannot open shared object file: No such file or directory".
func missingFile(dlerror string) string {
	name, rest, ok := strings.Cut(dlerror, ": ")
	if !ok || !strings.HasPrefix(rest, "cannot open shared object file") {
		return ""
	}
	return filepath.Base(name)
}

// ParseEPOptions checks s, provider options written as "key=value" pairs
// separated by commas, and returns them in the canonical form
// Options.EPOptions holds: sorted by key, one pair per key. An empty s is
// no options. A pair without "=", an empty key, a key given twice or a
// key or value holding a comma is an error.
func ParseEPOptions(s string) (string, error) {
	m, err := epOptionMap(s)
	if err != nil {
		return "", err
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = k + "=" + m[k]
	}
	return strings.Join(pairs, ","), nil
}

// epOptionMap splits provider options written as ParseEPOptions takes
// them into a map.
func epOptionMap(s string) (map[string]string, error) {
	m := map[string]string{}
	if strings.TrimSpace(s) == "" {
		return m, nil
	}
	for _, pair := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(pair, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		switch {
		case !ok:
			return nil, fmt.Errorf("provider option %q: want key=value", pair)
		case k == "":
			return nil, fmt.Errorf("provider option %q: empty key", pair)
		}
		if _, dup := m[k]; dup {
			return nil, fmt.Errorf("provider option %q given twice", k)
		}
		m[k] = v
	}
	return m, nil
}
