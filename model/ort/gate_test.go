package ort

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestGateBoundsHolders runs many holders through gates of several limits
// and checks that no more than the limit ever hold a slot at once, and
// that the limit is reached (the gate does not serialise more than asked).
func TestGateBoundsHolders(t *testing.T) {
	for _, limit := range []int{1, 2, 4} {
		g := NewGate(limit)
		var in, most atomic.Int32
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if err := g.Acquire(context.Background(), uint64(i)); err != nil {
					t.Error(err)
					return
				}
				n := in.Add(1)
				for {
					m := most.Load()
					if n <= m || most.CompareAndSwap(m, n) {
						break
					}
				}
				time.Sleep(2 * time.Millisecond)
				in.Add(-1)
				g.Release()
			}()
		}
		close(start)
		wg.Wait()
		if got := int(most.Load()); got != limit {
			t.Errorf("limit %d: at most %d held at once, want %d", limit, got, limit)
		}
	}
}

// TestGateLowestTicketFirst checks the admission order: waiters are
// admitted by ticket, whatever order they arrived in.
func TestGateLowestTicketFirst(t *testing.T) {
	tests := []struct {
		name   string
		arrive []uint64
		limit  int
		want   []uint64
	}{
		{"reverse arrival", []uint64{9, 7, 5, 3}, 1, []uint64{3, 5, 7, 9}},
		{"mixed", []uint64{4, 1, 3, 2}, 1, []uint64{1, 2, 3, 4}},
		{"two at once", []uint64{6, 5, 8, 7}, 2, []uint64{5, 6, 7, 8}},
		{"equal tickets", []uint64{2, 2, 1}, 1, []uint64{1, 2, 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewGate(tc.limit)
			for range tc.limit { // the holders the arrivals queue behind
				if err := g.Acquire(context.Background(), 0); err != nil {
					t.Fatal(err)
				}
			}
			order := make(chan uint64, len(tc.arrive))
			for i, ticket := range tc.arrive {
				go func() {
					if err := g.Acquire(context.Background(), ticket); err != nil {
						t.Error(err)
						return
					}
					order <- ticket
				}()
				waitFor(t, func() bool { return g.waiters() == i+1 }) // arrivals in order
			}
			for i, want := range tc.want {
				g.Release()
				if got := <-order; got != want {
					t.Fatalf("admission %d: ticket %d, want %d", i, got, want)
				}
			}
			for range tc.limit {
				g.Release()
			}
		})
	}
}

// TestGateCancel checks that a waiter whose context ends gets an error
// wrapping the context's, and that it takes no slot with it.
func TestGateCancel(t *testing.T) {
	g := NewGate(1)
	if err := g.Acquire(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { errc <- g.Acquire(ctx, 2) }()
	waitFor(t, func() bool { return g.waiters() == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v, want context.Canceled", err)
	}
	g.Release()
	// the slot is free again: a new holder gets it without waiting
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if err := g.Acquire(ctx2, 3); err != nil {
		t.Fatalf("after a cancelled waiter: %v", err)
	}
	g.Release()
}

// TestWorkerGate checks that a name gives one gate per process, and that
// asking again with another limit changes it and admits waiters.
func TestWorkerGate(t *testing.T) {
	a := WorkerGate("test.gate", 1)
	if err := a.Acquire(context.Background(), a.Ticket()); err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- a.Acquire(context.Background(), a.Ticket()) }()
	waitFor(t, func() bool { return a.waiters() == 1 })
	b := WorkerGate("test.gate", 2)
	if a != b {
		t.Fatal("the same name gave two gates")
	}
	if err := <-done; err != nil { // admitted by the raised limit
		t.Fatal(err)
	}
	if got := a.Limit(); got != 2 {
		t.Errorf("limit %d, want 2", got)
	}
	if c := WorkerGate("test.other", 1); c == a {
		t.Error("two names gave one gate")
	}
	if t1, t2 := a.Ticket(), a.Ticket(); t2 <= t1 {
		t.Errorf("tickets %d then %d: not increasing", t1, t2)
	}
	a.Release()
	a.Release()
}

func (g *Gate) waiters() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.waiting)
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not reached in 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}
