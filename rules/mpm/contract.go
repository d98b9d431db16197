package mpm

// This file is the contract other packages build against; the mpm helper
// fills in the bodies and may add to it, but must not rename these.

// Builder collects patterns for one Matcher.
type Builder struct{}

// Add adds pattern with id (ids need not be dense; one id may have several
// patterns). nocase matches ASCII letters case-insensitively.
func (b *Builder) Add(pattern []byte, nocase bool, id uint32) { panic("mpm: not implemented") }

// Len returns how many patterns were added.
func (b *Builder) Len() int { panic("mpm: not implemented") }

// Build compiles the patterns. A Matcher is immutable and safe for
// concurrent use.
func (b *Builder) Build() *Matcher { panic("mpm: not implemented") }

// Matcher finds patterns in buffers.
type Matcher struct{}

// Scan reports each id whose pattern occurs in buf, calling hit at most once
// per id per scan in no particular order (dedup is the Matcher's job, using
// s as scratch). s must not be shared between goroutines.
func (m *Matcher) Scan(buf []byte, s *Scratch, hit func(id uint32)) { panic("mpm: not implemented") }

// Scratch is per-goroutine state for Scan; NewScratch sizes it for m.
type Scratch struct{}

// NewScratch returns scratch space for m.
func (m *Matcher) NewScratch() *Scratch { panic("mpm: not implemented") }
