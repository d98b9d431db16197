package mpm

// This file is the contract other packages build against; the mpm helper
// fills in the bodies and may add to it, but must not rename these.
// The bodies live in build.go, scan.go and scratch.go.

// Builder collects patterns for one Matcher. The zero value is ready to use.
type Builder struct {
	pats []rawPattern
}

// Add adds pattern with id (ids need not be dense; one id may have several
// patterns). nocase matches ASCII letters case-insensitively.
// The pattern is copied, so the caller may reuse its buffer. An empty
// pattern occurs in every buffer, including an empty one.
func (b *Builder) Add(pattern []byte, nocase bool, id uint32) {
	b.pats = append(b.pats, rawPattern{b: append([]byte(nil), pattern...), nocase: nocase, id: id})
}

// Len returns how many patterns were added.
func (b *Builder) Len() int { return len(b.pats) }

// Build compiles the patterns. A Matcher is immutable and safe for
// concurrent use. The Builder may be reused (more Adds, another Build).
func (b *Builder) Build() *Matcher { return build(b.pats) }

// Matcher finds patterns in buffers.
type Matcher struct {
	// ids maps a dense id index (what patterns and Scratch stamps use) back
	// to the caller's id.
	ids []uint32
	// idList holds the dense ids of patterns that were added under more
	// than one id; most patterns carry their single id inline.
	idList []uint32
	pats   []pattern
	data   []byte // pattern bytes; nocase patterns are stored lowered

	always []uint32 // dense ids of empty patterns

	// Patterns of at least gramLen+long.stride-1 bytes are found through
	// 4-byte anchors, other 2+ byte ones through a 2-byte anchor, 1-byte
	// ones directly.
	long  table
	short table
	// 1-byte patterns: oneVals are the raw bytes that match some of them,
	// onePats[oneStart[k]:oneStart[k+1]] the patterns oneVals[k] matches.
	oneVals  []byte
	oneStart []uint32
	onePats  []uint32

	// single is set when the group is one case-sensitive pattern, where
	// bytes.Index (SIMD in the runtime) beats any table walk.
	single bool
}

// Scan reports each id whose pattern occurs in buf, calling hit at most once
// per id per scan in no particular order (dedup is the Matcher's job, using
// s as scratch). s must not be shared between goroutines.
// buf must be shorter than 4 GiB. Scan does not allocate (once s has grown
// to fit m) and hit must not call Scan with the same s.
func (m *Matcher) Scan(buf []byte, s *Scratch, hit func(id uint32)) { m.scan(buf, s, hit) }

// Scratch is per-goroutine state for Scan; NewScratch sizes it for m.
// One Scratch may be used with any number of Matchers: Scan grows it (once,
// allocating) when it meets a Matcher with more distinct ids than it has
// room for, so a goroutine can keep a single Scratch for all its groups.
// The zero value is valid.
type Scratch struct {
	// stamp[d] == gen means dense id d was reported in the current scan,
	// stamp[len(ids)+k] that pattern k was (so it is not verified again);
	// bumping gen forgets all earlier scans at O(1) cost, so dedup costs
	// O(hits), not O(ids).
	stamp []uint32
	gen   uint32
	// cand collects a filter pass's candidate positions; kept here so
	// that a scan does not zero a fresh array on every call (most scans
	// are of a packet or a segment, where that showed in profiles).
	cand [candCap]uint32
}

// NewScratch returns scratch space for m.
func (m *Matcher) NewScratch() *Scratch {
	return &Scratch{stamp: make([]uint32, len(m.ids)+len(m.pats))}
}
