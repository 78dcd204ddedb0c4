package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/groundbeam/groundbeam/transforms/sink"
)

// isTerminal reports whether w is a character device (a TTY).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress draws a live line on w from the shard commit markers under out
// until ctx ends, then clears it. It works on every runner, since it only
// watches the output.
func progress(ctx context.Context, w io.Writer, out string, shards int, every time.Duration) {
	start := time.Now()
	seen := map[string]sink.ShardResult{}
	tick := time.NewTicker(every)
	defer tick.Stop()
	defer fmt.Fprint(w, "\r\033[K")
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if err := sink.Progress(ctx, out, seen); err != nil {
			continue
		}
		fmt.Fprint(w, "\r\033[K"+progressLine(seen, shards, time.Since(start)))
	}
}

// startProgress draws the live line on stderr while a job writes into out,
// when stdout is a terminal; the returned function stops and clears it.
func startProgress(ctx context.Context, stdout, stderr io.Writer, out string, shards int) (stop func()) {
	if !isTerminal(stdout) {
		return func() {}
	}
	pctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		progress(pctx, stderr, strings.TrimRight(out, "/"), shards, time.Second)
		close(done)
	}()
	return func() { cancel(); <-done }
}

// progressLine renders committed shards as one status line.
func progressLine(seen map[string]sink.ShardResult, shards int, elapsed time.Duration) string {
	var pairs, boxes, rejected int64
	done := 0
	for _, r := range seen {
		if r.Resumed {
			continue
		}
		pairs += r.Pairs
		boxes += r.Boxes
		rejected += r.Rejected
		done++
	}
	rate := float64(pairs) / max(elapsed.Seconds(), 1e-9)
	line := fmt.Sprintf("shards %d/%d · %d pairs (%.1f/s) · %d boxes · %d rejected", len(seen), shards, pairs, rate, boxes, rejected)
	if done > 0 && len(seen) < shards {
		eta := time.Duration(float64(elapsed) / float64(done) * float64(shards-len(seen)))
		line += " · ETA " + eta.Round(time.Second).String()
	}
	return line
}
