package keyword

// Sig is a signature under construction and, once built, the input of the
// detection engine's compiler. The core helper extends it.
type Sig struct {
	// Packet holds header tests, all of which must match.
	Packet []PacketMatcher
}
