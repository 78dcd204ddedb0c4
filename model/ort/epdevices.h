// Access to the parts of the ONNX Runtime C API that onnxruntime_go v1.27.0
// does not wrap: execution-provider devices and appending one to session
// options. See epdevices.go.

#ifndef GROUNDBEAM_EPDEVICES_H
#define GROUNDBEAM_EPDEVICES_H

#include <stddef.h>
#include <stdint.h>

#include "onnxruntime_c_api.h"

// gb_ort_api returns the OrtApi of the ONNX Runtime library already loaded
// from path, or NULL with a message in err (of size n).
const OrtApi *gb_ort_api(const char *path, char *err, size_t n);

// gb_status_error copies status's message into err (of size n) and
// releases status.
void gb_status_error(const OrtApi *api, OrtStatus *status, char *err, size_t n);

// gb_ep_devices lists the environment's execution-provider devices; the
// array is owned by the environment.
OrtStatus *gb_ep_devices(const OrtApi *api, const OrtEnv *env, const OrtEpDevice *const **devices, size_t *n);

// gb_ep_device describes one OrtEpDevice. Strings are owned by ONNX
// Runtime; a device_id string is NULL when neither the hardware device's
// metadata nor the EP options have the key.
typedef struct {
	const char *ep_name;
	const char *ep_vendor;
	int hardware_type; // OrtHardwareDeviceType
	const char *hardware_vendor;
	uint32_t vendor_id;
	const char *metadata_device_id;
	const char *option_device_id;
} gb_ep_device;

void gb_describe_ep_device(const OrtApi *api, const OrtEpDevice *device, gb_ep_device *out);

// gb_append_ep_device appends the execution provider of device to options
// with n provider options.
OrtStatus *gb_append_ep_device(const OrtApi *api, OrtSessionOptions *options, OrtEnv *env,
	const OrtEpDevice *device, const char *const *keys, const char *const *values, size_t n);

// gb_dlopen_check reports whether the dynamic loader can load name (as
// dlopen(RTLD_LAZY|RTLD_LOCAL) does, honouring LD_LIBRARY_PATH and the ld
// cache): 1 if it can; 0 with dlerror's message in err otherwise.
int gb_dlopen_check(const char *name, char *err, size_t n);

#endif
