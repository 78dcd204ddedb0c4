package ort

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// Gate bounds how much work feeds ONNX Runtime at once. A worker process
// may run many bundles at once (Prism ran ten shards of a 1,000-pair
// label job side by side; Dataflow runs as many as it has harness
// threads), and each bundle's DoFn holds decoded images and input tensors
// while its batches run: without a bound shared by the bundles, the
// worker's memory follows how many bundles the runner starts, not the
// work the cores can do. A Gate is a counting semaphore whose waiters are
// admitted lowest ticket first, so that the oldest shard finishes first
// and a newer one fills the gaps it leaves (while it reads, drains or
// commits).
type Gate struct {
	mu      sync.Mutex
	limit   int
	held    int
	tickets uint64
	waiting []*waiter
}

type waiter struct {
	ticket uint64
	ready  chan struct{}
}

// NewGate returns a gate that admits up to limit holders at once (at
// least one).
func NewGate(limit int) *Gate { return &Gate{limit: max(limit, 1)} }

// worker holds the process's named gates: like the session cache, they
// belong to the worker, not to one DoFn instance or bundle.
var worker struct {
	mu    sync.Mutex
	gates map[string]*Gate
}

// WorkerGate returns the process's gate called name, creating it with
// limit, or setting its limit to limit if it exists (a later pipeline in
// the same process may ask for another).
func WorkerGate(name string, limit int) *Gate {
	worker.mu.Lock()
	defer worker.mu.Unlock()
	g, ok := worker.gates[name]
	if !ok {
		if worker.gates == nil {
			worker.gates = map[string]*Gate{}
		}
		g = NewGate(limit)
		worker.gates[name] = g
		return g
	}
	g.SetLimit(limit)
	return g
}

// Ticket returns a new ticket: each is larger than every earlier one, so
// work that takes its ticket first is admitted first.
func (g *Gate) Ticket() uint64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.tickets++
	return g.tickets
}

// SetLimit changes how many holders the gate admits at once (at least
// one); raising it admits waiters at once.
func (g *Gate) SetLimit(limit int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.limit = max(limit, 1)
	g.admit()
}

// Limit returns how many holders the gate admits at once.
func (g *Gate) Limit() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.limit
}

// Held returns how many holders the gate admits now.
func (g *Gate) Held() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.held
}

// Acquire waits until the gate admits the holder of ticket, or ctx ends.
// Every successful Acquire must be followed by one Release.
func (g *Gate) Acquire(ctx context.Context, ticket uint64) error {
	g.mu.Lock()
	if g.held < g.limit && len(g.waiting) == 0 {
		g.held++
		g.mu.Unlock()
		return nil
	}
	w := &waiter{ticket: ticket, ready: make(chan struct{})}
	i, _ := slices.BinarySearchFunc(g.waiting, ticket, func(w *waiter, t uint64) int {
		if w.ticket <= t { // equal tickets keep arrival order
			return -1
		}
		return 1
	})
	g.waiting = slices.Insert(g.waiting, i, w)
	g.admit()
	g.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		g.mu.Lock()
		defer g.mu.Unlock()
		if j := slices.Index(g.waiting, w); j >= 0 {
			g.waiting = slices.Delete(g.waiting, j, j+1)
		} else { // admitted while ctx ended: give the slot on
			g.held--
			g.admit()
		}
		return fmt.Errorf("wait for a worker slot: %w", ctx.Err())
	}
}

// Release frees the slot an Acquire took.
func (g *Gate) Release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.held == 0 {
		panic("ort: Gate.Release without Acquire")
	}
	g.held--
	g.admit()
}

// admit hands free slots to the lowest tickets waiting; g.mu is held.
func (g *Gate) admit() {
	for g.held < g.limit && len(g.waiting) > 0 {
		w := g.waiting[0]
		g.waiting = g.waiting[1:]
		g.held++
		close(w.ready)
	}
}
