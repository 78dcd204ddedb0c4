// Package ort owns groundbeam's use of ONNX Runtime: the one environment a
// process has, the shared library's location, and a cache of sessions
// shared by every caller in the process (all DoFn instances of a worker),
// keyed by model identity, provider and thread settings.
//
// A session is created the first time it is acquired and lives until
// [Shutdown]; ONNX Runtime's Run is safe for concurrent use, so callers
// share it instead of loading the model again per element, bundle or DoFn
// instance.
package ort
