//go:build cgo

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "epdevices.h"

static void copy_message(const char *msg, char *err, size_t n) {
	if (n == 0) {
		return;
	}
	snprintf(err, n, "%s", msg ? msg : "unknown error");
}

const OrtApi *gb_ort_api(const char *path, char *err, size_t n) {
	void *handle = dlopen(path, RTLD_NOLOAD | RTLD_LAZY);
	if (!handle) {
		copy_message(dlerror(), err, n);
		return NULL;
	}
	const OrtApiBase *(*get_base)(void) = (const OrtApiBase *(*)(void))dlsym(handle, "OrtGetApiBase");
	if (!get_base) {
		copy_message(dlerror(), err, n);
		dlclose(handle);
		return NULL;
	}
	const OrtApi *api = get_base()->GetApi(ORT_API_VERSION);
	// The library stays loaded: onnxruntime_go holds its own handle.
	dlclose(handle);
	if (!api) {
		snprintf(err, n, "library does not offer ONNX Runtime C API version %d", ORT_API_VERSION);
	}
	return api;
}

void gb_status_error(const OrtApi *api, OrtStatus *status, char *err, size_t n) {
	copy_message(api->GetErrorMessage(status), err, n);
	api->ReleaseStatus(status);
}

OrtStatus *gb_ep_devices(const OrtApi *api, const OrtEnv *env, const OrtEpDevice *const **devices, size_t *n) {
	return api->GetEpDevices(env, devices, n);
}

static const char *lookup(const OrtApi *api, const OrtKeyValuePairs *kv, const char *key) {
	return kv ? api->GetKeyValue(kv, key) : NULL;
}

void gb_describe_ep_device(const OrtApi *api, const OrtEpDevice *device, gb_ep_device *out) {
	memset(out, 0, sizeof(*out));
	out->ep_name = api->EpDevice_EpName(device);
	out->ep_vendor = api->EpDevice_EpVendor(device);
	out->option_device_id = lookup(api, api->EpDevice_EpOptions(device), "device_id");
	const OrtHardwareDevice *hw = api->EpDevice_Device(device);
	if (!hw) {
		out->hardware_type = -1;
		return;
	}
	out->hardware_type = (int)api->HardwareDevice_Type(hw);
	out->hardware_vendor = api->HardwareDevice_Vendor(hw);
	out->vendor_id = api->HardwareDevice_VendorId(hw);
	out->metadata_device_id = lookup(api, api->HardwareDevice_Metadata(hw), "device_id");
}

OrtStatus *gb_append_ep_device(const OrtApi *api, OrtSessionOptions *options, OrtEnv *env,
	const OrtEpDevice *device, const char *const *keys, const char *const *values, size_t n) {
	const OrtEpDevice *devices[1] = {device};
	return api->SessionOptionsAppendExecutionProvider_V2(options, env, devices, 1, keys, values, n);
}

int gb_dlopen_check(const char *name, char *err, size_t n) {
	void *handle = dlopen(name, RTLD_LAZY | RTLD_LOCAL);
	if (!handle) {
		copy_message(dlerror(), err, n);
		return 0;
	}
	dlclose(handle);
	return 1;
}
