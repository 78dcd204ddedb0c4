package ort

import (
	"slices"
	"sync"
)

// maxRunShapes bounds how many distinct input-shape combinations a session
// records; runs with further combinations are counted in
// RunShape{Other: true}.
const maxRunShapes = 4096

// RunShape is one combination of input shapes and types a session ran
// with, and how many times. It tells which shapes a job fed a graph (what
// a GPU engine or shape bucket must cover) and lets a benchmark replay a
// job's inference on its own.
type RunShape struct {
	// Shapes and Types are per input, in the session's input order;
	// Types are "float32", "int64" or "uint8".
	Shapes [][]int64
	Types  []string
	// Runs is how many successful runs had these shapes.
	Runs int64
	// Other marks the bucket counting runs past maxRunShapes distinct
	// combinations (Shapes and Types are then empty).
	Other bool
}

// shapeLog records a session's RunShapes.
type shapeLog struct {
	mu    sync.Mutex
	index map[string]int
	list  []RunShape
	other int64
}

func tensorType(t Tensor) string {
	switch {
	case t.F32 != nil:
		return "float32"
	case t.I64 != nil:
		return "int64"
	case t.U8 != nil:
		return "uint8"
	}
	return ""
}

func (l *shapeLog) record(inputs []Tensor) {
	key := make([]byte, 0, 64)
	for _, t := range inputs {
		key = append(key, tensorType(t)...)
		for _, d := range t.Shape {
			key = append(key, byte(d), byte(d>>8), byte(d>>16), byte(d>>24), byte(d>>32))
		}
		key = append(key, 0xff)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if i, ok := l.index[string(key)]; ok {
		l.list[i].Runs++
		return
	}
	if len(l.list) >= maxRunShapes {
		l.other++
		return
	}
	if l.index == nil {
		l.index = map[string]int{}
	}
	rs := RunShape{Runs: 1}
	for _, t := range inputs {
		rs.Shapes = append(rs.Shapes, slices.Clone(t.Shape))
		rs.Types = append(rs.Types, tensorType(t))
	}
	l.index[string(key)] = len(l.list)
	l.list = append(l.list, rs)
}

func (l *shapeLog) snapshot() []RunShape {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]RunShape, 0, len(l.list)+1)
	for _, rs := range l.list {
		c := rs
		c.Shapes = make([][]int64, len(rs.Shapes))
		for i, s := range rs.Shapes {
			c.Shapes[i] = slices.Clone(s)
		}
		c.Types = slices.Clone(rs.Types)
		out = append(out, c)
	}
	if l.other > 0 {
		out = append(out, RunShape{Runs: l.other, Other: true})
	}
	return out
}

func (l *shapeLog) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.index, l.list, l.other = nil, nil, 0
}
