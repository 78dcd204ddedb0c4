package sink

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"strings"
)

// Names gives every input shard the base name of its output files: the
// shard's file name without extensions, or, when two shards share one,
// that name with a hash of the full path, so names are deterministic and
// never collide.
func Names(shards []string) map[string]string {
	base := func(s string) string {
		b := path.Base(s)
		if i := strings.Index(b, "."); i > 0 {
			b = b[:i]
		}
		return b
	}
	count := map[string]int{}
	for _, s := range shards {
		count[base(s)]++
	}
	out := make(map[string]string, len(shards))
	for _, s := range shards {
		b := base(s)
		if count[b] > 1 {
			b += "-" + hashName(s)
		}
		out[s] = b
	}
	return out
}

func hashName(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])[:10]
}
