package mpm

// begin starts a scan that may report dense ids below n.
func (s *Scratch) begin(n int) uint32 {
	if len(s.stamp) < n {
		// Growing loses no state worth keeping: the old stamps belong to
		// finished scans.
		s.stamp = make([]uint32, n)
	}
	s.gen++
	if s.gen == 0 {
		// After 2^32 scans stale stamps could equal gen again.
		clear(s.stamp)
		s.gen = 1
	}
	return s.gen
}
