//go:build cgo && linux

package ort

// #include <malloc.h>
import "C"

// TrimMemory hands the C heap's free memory back to the operating system
// (glibc's malloc_trim). ONNX Runtime's buffers, and the decoder's, are
// malloc'd by whichever thread runs them, and glibc keeps what each
// thread's arena freed for reuse; over a long run, as more threads have
// run more shapes, that retained memory grows. A worker calls it between
// units of work (the label job: after each committed shard), so memory
// follows the work in flight rather than the run's length.
func TrimMemory() { C.malloc_trim(0) }
