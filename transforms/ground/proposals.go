package ground

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/gcs"   // gs:// paths
	_ "github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem/local" // local paths
)

// proposalLine is one line of a proposals file.
type proposalLine struct {
	Key   string      `json:"key"`
	Boxes [][]float32 `json:"boxes"`
}

// ReadProposals reads a proposals file (local or any Beam filesystem
// path, such as gs://): JSON lines {"key": "...", "boxes": [[x1, y1, x2,
// y2], ...]} with boxes in original-image pixels. It returns each key's
// boxes, keeping at most limit per key (limit ≤ 0: all) in file order;
// a key on several lines has their boxes joined. Blank lines are skipped;
// a line that is not such an object, or a box without 4 numbers, is an
// error naming the line.
func ReadProposals(ctx context.Context, path string, limit int) (map[string][][4]float32, error) {
	return readProposals(ctx, path, limit, io.Discard)
}

// CheckProposals reads a proposals file as ReadProposals does, on the
// launcher, and returns the sha256 (hex) of its bytes, which identifies it
// in the run's settings.
func CheckProposals(ctx context.Context, path string) (string, error) {
	h := sha256.New()
	if _, err := readProposals(ctx, path, 1, h); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// readProposals is ReadProposals, copying the bytes it reads to h.
func readProposals(ctx context.Context, path string, limit int, h io.Writer) (map[string][][4]float32, error) {
	fs, err := filesystem.New(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("proposals %s: %w", path, err)
	}
	defer fs.Close()
	rc, err := fs.OpenRead(ctx, path)
	if err != nil {
		return nil, fmt.Errorf("proposals %s: %w", path, err)
	}
	defer rc.Close()
	out := map[string][][4]float32{}
	sc := bufio.NewScanner(io.TeeReader(rc, h))
	sc.Buffer(make([]byte, 0, 1<<16), 64<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var l proposalLine
		if err := json.Unmarshal([]byte(line), &l); err != nil {
			return nil, fmt.Errorf("proposals %s: line %d: %w", path, n, err)
		}
		if l.Key == "" {
			return nil, fmt.Errorf("proposals %s: line %d has no key", path, n)
		}
		boxes := out[l.Key]
		for i, b := range l.Boxes {
			if len(b) != 4 {
				return nil, fmt.Errorf("proposals %s: line %d: box %d has %d numbers, want 4", path, n, i, len(b))
			}
			if limit <= 0 || len(boxes) < limit {
				boxes = append(boxes, [4]float32{b[0], b[1], b[2], b[3]})
			}
		}
		out[l.Key] = boxes
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("proposals %s: %w", path, err)
	}
	return out, nil
}
