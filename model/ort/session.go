//go:build cgo

package ort

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	onnx "github.com/yalue/onnxruntime_go"
)

// environment is the process's ONNX Runtime environment and session cache:
// the only process-wide mutable state groundbeam has.
var environment struct {
	mu       sync.Mutex
	lib      string
	sessions map[Key]*Session
	created  atomic.Int64
	// epMu guards epLibs and the environment's execution-provider
	// devices while libraries are registered and devices listed or
	// appended (providers.go, epdevices.go). It is not mu, so session
	// options can be built with or without mu held.
	epMu sync.Mutex
	// epLibs holds the plugin execution-provider libraries registered
	// with the environment, by absolute path.
	epLibs map[string]bool
}

// Init loads the ONNX Runtime shared library at lib and creates the
// process's environment. Later calls with the same library are no-ops; a
// different library is an error, since a process holds one.
func Init(lib string) error {
	environment.mu.Lock()
	defer environment.mu.Unlock()
	if onnx.IsInitialized() {
		if lib != environment.lib {
			return fmt.Errorf("onnx runtime already initialised from %s, not %s", environment.lib, lib)
		}
		return nil
	}
	onnx.SetSharedLibraryPath(lib)
	if err := onnx.InitializeEnvironment(onnx.WithLogLevelError()); err != nil {
		return fmt.Errorf("load onnx runtime from %s: %w", lib, err)
	}
	environment.lib = lib
	environment.sessions = map[Key]*Session{}
	return nil
}

// Start resolves the library as FindLibrary does (explicit path first)
// and initialises the process's environment with it: what a worker's
// DoFn Setup calls before acquiring sessions.
func Start(explicit string) error {
	lib, err := FindLibrary(explicit)
	if err != nil {
		return err
	}
	return Init(lib)
}

// Version reports the loaded ONNX Runtime's version.
func Version() string { return onnx.GetVersion() }

// Key identifies a shared session: the same model file under the same
// identity, provider and thread settings gives the same session.
type Key struct {
	Identity string
	Path     string
	Options
}

// Options are the per-session settings. They are plain values, so a DoFn
// config holding them survives JSON serialisation to workers.
type Options struct {
	// Provider is the execution provider: "cpu" (the default, also ""),
	// "cuda" or "tensorrt". providers.go says how a GPU provider is found.
	Provider string
	// DeviceID selects the GPU for the cuda and tensorrt providers.
	DeviceID int
	// EPLib is the path of a plugin execution-provider library, such as
	// libonnxruntime_providers_cuda.so, to take the cuda or tensorrt
	// provider from; empty takes it from the loaded ONNX Runtime.
	EPLib string
	// EPOptions are provider options for the cuda or tensorrt provider,
	// "key=value" pairs joined by commas in key order (ParseEPOptions
	// makes that form), such as "cudnn_conv_algo_search=HEURISTIC". They
	// are passed as they are to the provider, which rejects keys it does
	// not know when the session is created.
	EPOptions string
	// IntraOpThreads is ONNX Runtime's intra-op thread count; 0 lets it
	// choose (one per core). SharedBy divides the cores among runs.
	IntraOpThreads int
	// Arena keeps ONNX Runtime's CPU memory arena. It is off by default:
	// the arena keeps the memory of the largest inputs a session has seen
	// for the session's life, and fragments as input shapes vary (every
	// image size and caption length is another shape); without it, a
	// run's buffers are freed when it ends and TrimMemory can hand them
	// back. With the label job's work in flight bounded, the arena made
	// it neither faster nor, over 10,000 pairs, larger (bench/README.md).
	Arena bool
	// Spin lets ONNX Runtime's intra-op threads spin while waiting for
	// work. It is off by default: in a pipeline the cores a spinning
	// thread holds are the ones decoding and writing the next batch.
	Spin bool
}

// Session is a shared ONNX Runtime session with named inputs and outputs.
type Session struct {
	key     Key
	inputs  []string
	outputs []string
	s       *onnx.DynamicAdvancedSession
	refs    atomic.Int64
	shapes  shapeLog
}

// Opened reports whether the process holds a session created from a graph
// of the bundle with this identity (a key whose Identity is identity or
// identity+"/" and a graph's name). Sessions are only created from checked
// bundle files, so bundle.LoadVerified takes it as proof that the bundle
// was checked.
func Opened(identity string) bool {
	environment.mu.Lock()
	defer environment.mu.Unlock()
	for k := range environment.sessions {
		if k.Identity == identity || strings.HasPrefix(k.Identity, identity+"/") {
			return true
		}
	}
	return false
}

// Sessions returns the process's cached sessions, in no particular order.
func Sessions() []*Session {
	environment.mu.Lock()
	defer environment.mu.Unlock()
	out := make([]*Session, 0, len(environment.sessions))
	for _, s := range environment.sessions {
		out = append(out, s)
	}
	return out
}

// RunShapes returns the input shapes the session has run with since it was
// created or last reset, in order of first use.
func (s *Session) RunShapes() []RunShape { return s.shapes.snapshot() }

// ResetRunShapes forgets the recorded run shapes.
func (s *Session) ResetRunShapes() { s.shapes.reset() }

// Inputs are the session's input tensor names, in Run's order.
func (s *Session) Inputs() []string { return slices.Clone(s.inputs) }

// Outputs are the session's output tensor names, in Run's order.
func (s *Session) Outputs() []string { return slices.Clone(s.outputs) }

// Key is the key the session was acquired under.
func (s *Session) Key() Key { return s.key }

// SessionsCreated reports how many sessions this process has created; a
// worker that reuses its sessions creates one per model.
func SessionsCreated() int64 { return environment.created.Load() }

// Acquire returns the process's session for key, creating it on first use.
// inputs and outputs are the graph's tensor names in the order Run takes
// and returns them. Init must have been called.
func Acquire(key Key, inputs, outputs []string) (*Session, error) {
	environment.mu.Lock()
	defer environment.mu.Unlock()
	if !onnx.IsInitialized() {
		return nil, errors.New("onnx runtime not initialised")
	}
	if s, ok := environment.sessions[key]; ok {
		if !slices.Equal(s.inputs, inputs) || !slices.Equal(s.outputs, outputs) {
			return nil, fmt.Errorf("session %s already open with other tensor names", key.Identity)
		}
		s.refs.Add(1)
		return s, nil
	}
	opts, err := sessionOptions(key.Options)
	if err != nil {
		return nil, fmt.Errorf("session options for %s: %w", key.Identity, err)
	}
	defer opts.Destroy()
	ds, err := onnx.NewDynamicAdvancedSession(key.Path, inputs, outputs, opts)
	if err != nil {
		return nil, fmt.Errorf("create session for %s (%s): %w", key.Identity, key.Path, err)
	}
	s := &Session{key: key, inputs: append([]string(nil), inputs...), outputs: append([]string(nil), outputs...), s: ds}
	s.refs.Store(1)
	environment.sessions[key] = s
	environment.created.Add(1)
	return s, nil
}

// Release drops the caller's reference. The session stays cached for the
// process's other users until [Shutdown].
func (s *Session) Release() { s.refs.Add(-1) }

// Identity is the identity the session was acquired under.
func (s *Session) Identity() string { return s.key.Identity }

// Tensor is a named dense tensor passed to or returned from Run. Exactly
// one of F32, I64 and U8 is set; U8 is for inputs only (Run's outputs are
// float32).
type Tensor struct {
	Shape []int64
	F32   []float32
	I64   []int64
	U8    []uint8
}

// Run runs the graph on inputs, given in the order of the session's input
// names, and returns its outputs as float32 tensors in the order of its
// output names. Cancelling ctx terminates the run; Run returns only after
// ONNX Runtime has let go of every tensor.
func (s *Session) Run(ctx context.Context, inputs []Tensor) (outs []Tensor, err error) {
	if len(inputs) != len(s.inputs) {
		return nil, fmt.Errorf("run %s: %d inputs, graph takes %d", s.key.Identity, len(inputs), len(s.inputs))
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("run %s: %w", s.key.Identity, err)
	}
	values := make([]onnx.Value, 0, len(inputs))
	defer func() {
		for _, v := range values {
			err = errors.Join(err, v.Destroy())
		}
	}()
	for i, in := range inputs {
		v, err := newValue(in)
		if err != nil {
			return nil, fmt.Errorf("run %s: input %s: %w", s.key.Identity, s.inputs[i], err)
		}
		values = append(values, v)
	}
	ro, err := onnx.NewRunOptions()
	if err != nil {
		return nil, fmt.Errorf("run %s: %w", s.key.Identity, err)
	}
	defer ro.Destroy()
	stop := context.AfterFunc(ctx, func() { ro.Terminate() })
	defer stop()
	outputs := make([]onnx.Value, len(s.outputs))
	runErr := s.s.RunWithOptions(values, outputs, ro)
	defer func() {
		for _, v := range outputs {
			if v != nil {
				err = errors.Join(err, v.Destroy())
			}
		}
	}()
	if runErr != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("run %s: %w", s.key.Identity, ctx.Err())
		}
		return nil, fmt.Errorf("run %s: %w", s.key.Identity, runErr)
	}
	s.shapes.record(inputs)
	outs = make([]Tensor, len(outputs))
	for i, v := range outputs {
		t, ok := v.(*onnx.Tensor[float32])
		if !ok {
			return nil, fmt.Errorf("run %s: output %s is %T, want float32 tensor", s.key.Identity, s.outputs[i], v)
		}
		outs[i] = Tensor{Shape: append([]int64(nil), t.GetShape()...), F32: append([]float32(nil), t.GetData()...)}
	}
	return outs, nil
}

func newValue(t Tensor) (onnx.Value, error) {
	shape := onnx.NewShape(t.Shape...)
	switch {
	case t.F32 != nil:
		return onnx.NewTensor(shape, t.F32)
	case t.I64 != nil:
		return onnx.NewTensor(shape, t.I64)
	case t.U8 != nil:
		return onnx.NewTensor(shape, t.U8)
	}
	return nil, errors.New("tensor has no data")
}

// Shutdown destroys every cached session. It is for the end of a process
// (or a test); the environment itself stays, since a process holds one.
func Shutdown() error {
	environment.mu.Lock()
	defer environment.mu.Unlock()
	var err error
	for k, s := range environment.sessions {
		err = errors.Join(err, s.s.Destroy())
		delete(environment.sessions, k)
	}
	return err
}
