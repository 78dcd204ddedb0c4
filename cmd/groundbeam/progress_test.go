package main

import (
	"testing"
	"time"

	"github.com/groundbeam/groundbeam/transforms/sink"
)

func TestProgressLine(t *testing.T) {
	tests := []struct {
		name   string
		seen   map[string]sink.ShardResult
		shards int
		want   string
	}{
		{name: "nothing yet", seen: map[string]sink.ShardResult{}, shards: 4,
			want: "shards 0/4 · 0 pairs (0.0/s) · 0 boxes · 0 rejected"},
		{name: "half way", shards: 4, seen: map[string]sink.ShardResult{
			"a": {Pairs: 10, Boxes: 30, Rejected: 1}, "b": {Pairs: 10, Boxes: 20}},
			want: "shards 2/4 · 20 pairs (2.0/s) · 50 boxes · 1 rejected · ETA 10s"},
		{name: "resumed shards count as done, not as work", shards: 2, seen: map[string]sink.ShardResult{
			"a": {Pairs: 10, Boxes: 30, Resumed: true}, "b": {Pairs: 10, Boxes: 20}},
			want: "shards 2/2 · 10 pairs (1.0/s) · 20 boxes · 0 rejected"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := progressLine(tt.seen, tt.shards, 10*time.Second); got != tt.want {
				t.Errorf("got  %q\nwant %q", got, tt.want)
			}
		})
	}
}
