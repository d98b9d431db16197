package flow

// Bits is a small set of flowbit indexes (the engine maps names to indexes).
// It grows on Set; negative indexes are ignored (never set).
type Bits struct{ w []uint64 }

// Set, Unset, IsSet and Toggle manage flowbit i.
func (b *Bits) Set(i int) {
	if i < 0 {
		return
	}
	for i>>6 >= len(b.w) {
		b.w = append(b.w, 0)
	}
	b.w[i>>6] |= 1 << (i & 63)
}

func (b *Bits) Unset(i int) {
	if i >= 0 && i>>6 < len(b.w) {
		b.w[i>>6] &^= 1 << (i & 63)
	}
}

func (b *Bits) IsSet(i int) bool {
	return i >= 0 && i>>6 < len(b.w) && b.w[i>>6]&(1<<(i&63)) != 0
}

func (b *Bits) Toggle(i int) {
	if b.IsSet(i) {
		b.Unset(i)
	} else {
		b.Set(i)
	}
}

// Any reports whether any bit is set.
func (b *Bits) Any() bool {
	for _, w := range b.w {
		if w != 0 {
			return true
		}
	}
	return false
}

// Clear unsets every bit, keeping the memory.
func (b *Bits) Clear() {
	clear(b.w)
	b.w = b.w[:0]
}
