package sink

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
)

// Progress reads the commit markers under OUT that are not yet in seen
// (keyed by marker path) into it, so a launcher can report progress on any
// runner by watching the output. Markers that cannot be read yet are left
// for the next call.
func Progress(ctx context.Context, out string, seen map[string]ShardResult) error {
	glob := join(join(out, MarkerDir), "*.json")
	fs, err := filesystem.New(ctx, glob)
	if err != nil {
		return err
	}
	defer fs.Close()
	names, err := fs.List(ctx, glob)
	if err != nil {
		return err
	}
	for _, n := range names {
		if _, ok := seen[n]; ok {
			continue
		}
		r, err := fs.OpenRead(ctx, n)
		if err != nil {
			continue
		}
		raw, err := io.ReadAll(r)
		r.Close()
		var res ShardResult
		if err != nil || json.Unmarshal(raw, &res) != nil {
			continue
		}
		seen[n] = res
	}
	return nil
}

// ClearMarkers removes the commit markers of a previous run into out, so a
// run that starts over (no resume) cannot be mistaken for a resumed one.
func ClearMarkers(ctx context.Context, out string) error {
	if err := removeMatching(ctx, join(join(out, MarkerDir), "*")); err != nil {
		return fmt.Errorf("old markers: %w", err)
	}
	return nil
}
