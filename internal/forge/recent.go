package forge

import "sync"

// Recent is a bounded map that forgets the keys added longest ago first.
// The zero Recent holds DefaultMemorySize keys. Safe for concurrent use.
type Recent[K comparable, V any] struct {
	// Size bounds the keys kept; 0 for DefaultMemorySize.
	Size int

	mu    sync.Mutex
	m     map[K]V
	order []K // insertion order, for eviction
}

// Get returns the value of k.
func (c *Recent[K, V]) Get(k K) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

// Update sets k to f of its current value (the zero value and false when
// absent), forgetting the oldest key if k is new and the map is full.
func (c *Recent[K, V]) Update(k K, f func(v V, ok bool) V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[K]V)
	}
	v, ok := c.m[k]
	if !ok {
		size := c.Size
		if size <= 0 {
			size = DefaultMemorySize
		}
		for len(c.order) >= size {
			delete(c.m, c.order[0])
			c.order = c.order[1:]
		}
		c.order = append(c.order, k)
	}
	c.m[k] = f(v, ok)
}

// Put sets k to v.
func (c *Recent[K, V]) Put(k K, v V) { c.Update(k, func(V, bool) V { return v }) }

// Len is how many keys are kept.
func (c *Recent[K, V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
