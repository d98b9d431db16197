package keyword

// This file is the contract shared by the keyword files and the engine.
// Names here are fixed; the core helper owns the rest of Sig.

import (
	"fmt"
	"sort"

	"github.com/tapwatch/tapwatch/rules/decode"
)

// PacketMatcher is a per-packet test that needs no payload cursor: the IP,
// TCP and ICMP header keywords, dsize, sameip. Match must not allocate.
type PacketMatcher interface {
	Match(p *decode.Packet) bool
}

// Keyword is one rule option as the parser meets it.
type Keyword struct {
	Name    string
	Aliases []string
	// Apply parses arg (the text after the colon, unquoted only where the
	// keyword says so; "" for options without a value) and records what it
	// means on the signature under construction. Errors are plain messages:
	// the parser adds file:line:col.
	Apply func(s *Sig, arg string) error
}

// registry is filled from init functions of the keyword files and is
// read-only afterwards: it is a table of code, not state.
var registry = map[string]*Keyword{}

// Register adds k under its name and aliases. It panics on a duplicate: two
// files claiming one keyword is a programming error caught by any test.
func Register(k Keyword) {
	kk := k
	for _, n := range append([]string{k.Name}, k.Aliases...) {
		if _, dup := registry[n]; dup {
			panic(fmt.Sprintf("keyword: %q registered twice", n))
		}
		registry[n] = &kk
	}
}

// Lookup returns the keyword registered under name.
func Lookup(name string) (*Keyword, bool) {
	k, ok := registry[name]
	return k, ok
}

// Names lists every registered name (including aliases), sorted.
func Names() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// AddPacketMatch records a header test on the signature.
func (s *Sig) AddPacketMatch(m PacketMatcher) { s.Packet = append(s.Packet, m) }
