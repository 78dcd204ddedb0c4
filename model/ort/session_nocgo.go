//go:build !cgo

package ort

import (
	"context"
	"errors"
)

var errNoCgo = errors.New("onnx runtime needs cgo: this binary was built with CGO_ENABLED=0")

// Init fails: ONNX Runtime needs cgo.
func Init(lib string) error { return errNoCgo }

// Start fails: ONNX Runtime needs cgo.
func Start(explicit string) error { return errNoCgo }

// Version is empty without cgo.
func Version() string { return "" }

// Key identifies a shared session.
type Key struct {
	Identity string
	Path     string
	Options
}

// Options are the per-session settings.
type Options struct {
	Provider       string
	DeviceID       int
	EPLib          string
	EPOptions      string
	IntraOpThreads int
	Arena          bool
	Spin           bool
}

// Session is unavailable without cgo.
type Session struct{}

// Tensor is a named dense tensor. Exactly one of F32, I64 and U8 is set;
// U8 is for inputs only.
type Tensor struct {
	Shape []int64
	F32   []float32
	I64   []int64
	U8    []uint8
}

// Sessions is always empty without cgo.
func Sessions() []*Session { return nil }

// RunShapes is always empty without cgo.
func (s *Session) RunShapes() []RunShape { return nil }

// ResetRunShapes does nothing without cgo.
func (s *Session) ResetRunShapes() {}

// Inputs is always empty without cgo.
func (s *Session) Inputs() []string { return nil }

// Outputs is always empty without cgo.
func (s *Session) Outputs() []string { return nil }

// Key is empty without cgo.
func (s *Session) Key() Key { return Key{} }

// Opened is always false without cgo.
func Opened(identity string) bool { return false }

// SessionsCreated is always zero without cgo.
func SessionsCreated() int64 { return 0 }

// Acquire fails: ONNX Runtime needs cgo.
func Acquire(key Key, inputs, outputs []string) (*Session, error) { return nil, errNoCgo }

// Release does nothing.
func (s *Session) Release() {}

// Identity is empty without cgo.
func (s *Session) Identity() string { return "" }

// Run fails: ONNX Runtime needs cgo.
func (s *Session) Run(ctx context.Context, inputs []Tensor) ([]Tensor, error) { return nil, errNoCgo }

// Shutdown does nothing.
func Shutdown() error { return nil }
