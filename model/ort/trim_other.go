//go:build !cgo || !linux

package ort

// TrimMemory does nothing where the C heap is not glibc's.
func TrimMemory() {}
