package bpe

import (
	"strings"
	"sync"
)

const (
	// cacheEntries bounds the number of cached pre-tokens per tokenizer.
	cacheEntries = 1 << 14
	// maxCachedLen is the longest pre-token (in bytes) that is cached, so
	// that the cache's memory stays bounded whatever the input.
	maxCachedLen = 64
)

// cache maps pre-tokens to their BPE ids. It keeps two generations: when the
// current one is full it becomes the previous one and a new one starts, so
// at most capacity entries are held and recently used ones survive.
type cache struct {
	mu   sync.Mutex
	cur  map[string][]int64
	prev map[string][]int64
	half int
}

func newCache(capacity int) *cache {
	half := max(capacity/2, 1)
	return &cache{cur: make(map[string][]int64), half: half}
}

// get returns the cached ids of token. The slice must not be modified.
func (c *cache) get(token string) ([]int64, bool) {
	if len(token) > maxCachedLen {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ids, ok := c.cur[token]; ok {
		return ids, true
	}
	if ids, ok := c.prev[token]; ok {
		c.addLocked(strings.Clone(token), ids)
		return ids, true
	}
	return nil, false
}

// add caches ids for token; ids must not be modified afterwards.
func (c *cache) add(token string, ids []int64) {
	if len(token) > maxCachedLen {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.addLocked(strings.Clone(token), ids)
}

func (c *cache) addLocked(token string, ids []int64) {
	if len(c.cur) >= c.half {
		c.prev, c.cur = c.cur, make(map[string][]int64, c.half)
	}
	c.cur[token] = ids
}

// len returns the number of cached entries.
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.cur) + len(c.prev)
}
