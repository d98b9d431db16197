package stream

import (
	"net/netip"
	"strings"
)

// Policy is how a receiving host resolves overlapping TCP data whose
// copies differ (Suricata's host-os-policy). An IDS must reassemble as the
// receiver does, or an attacker shows it one copy and the host another.
type Policy uint8

// Overlap policies.
const (
	// PolicyFirst keeps the first copy (Windows, BSD, Vista...; the
	// default).
	PolicyFirst Policy = iota
	// PolicyLastEndsAfter takes the new copy when it ends at or after
	// the data it overlaps (old Linux, Solaris, HP-UX 11).
	PolicyLastEndsAfter
	// PolicyLast always takes the new copy.
	PolicyLast
)

// policyByName maps host-os-policy names to what tapwatch implements; the
// policies that differ from PolicyFirst only for segments starting before
// the data they overlap are treated as PolicyFirst.
func policyByName(name string) (Policy, bool) {
	switch name {
	case "old-linux", "solaris", "hpux11":
		return PolicyLastEndsAfter, true
	case "last":
		return PolicyLast, true
	case "windows", "bsd", "bsd-right", "linux", "old-solaris", "hpux10", "irix", "macos",
		"vista", "windows2k3", "first":
		return PolicyFirst, true
	}
	return PolicyFirst, false
}

type policyNet struct {
	pfx    netip.Prefix
	policy Policy
}

// Policies maps receiving hosts to overlap policies; the most specific
// prefix wins. The nil *Policies gives PolicyFirst for every host.
type Policies struct{ nets []policyNet }

// HostOSPolicies reads Suricata's host-os-policy section from flattened
// settings ("host-os-policy.old-linux.0" = "10.0.0.0/8"). Entries that do
// not parse are skipped: a policy only refines reassembly.
func HostOSPolicies(settings map[string]string) *Policies {
	var ps Policies
	for k, v := range settings {
		rest, ok := strings.CutPrefix(k, "host-os-policy.")
		if !ok {
			continue
		}
		name, _, _ := strings.Cut(rest, ".")
		pol, ok := policyByName(name)
		if !ok {
			continue
		}
		for _, s := range strings.Split(strings.Trim(v, "[] "), ",") {
			s = strings.TrimSpace(s)
			if s == "" {
				continue
			}
			pfx, err := netip.ParsePrefix(s)
			if err != nil {
				a, err := netip.ParseAddr(s)
				if err != nil {
					continue
				}
				pfx = netip.PrefixFrom(a, a.BitLen())
			}
			ps.nets = append(ps.nets, policyNet{pfx.Masked(), pol})
		}
	}
	if len(ps.nets) == 0 {
		return nil
	}
	return &ps
}

// Lookup returns the policy of host a.
func (ps *Policies) Lookup(a netip.Addr) Policy {
	if ps == nil {
		return PolicyFirst
	}
	a = a.Unmap()
	best, bits := PolicyFirst, -1
	for _, n := range ps.nets {
		if n.pfx.Bits() > bits && n.pfx.Contains(a) {
			best, bits = n.policy, n.pfx.Bits()
		}
	}
	return best
}

// SetHosts tells s its endpoints, so each direction reassembles with the
// overlap policy of the host receiving it (Config.Policies).
func (s *Session) SetHosts(client, server netip.Addr) {
	s.half[ToServer].policy = s.pool.cfg.Policies.Lookup(server)
	s.half[ToClient].policy = s.pool.cfg.Policies.Lookup(client)
}

// overwritePending applies h's policy to a segment that starts at stream
// offset start and overlaps delivered data: where the policy takes the new
// copy, bytes not yet returned (Config.AckGate) are replaced in the
// window. Returned bytes were already inspected and stay as they were.
func (h *half) overwritePending(start uint64, data []byte) {
	end := start + uint64(len(data))
	switch h.policy {
	case PolicyFirst:
		return
	case PolicyLastEndsAfter:
		if end < h.off {
			return
		}
	}
	win := h.r.win // the segment being processed made h.r
	lo := max(start, h.raw, h.off-uint64(len(win)))
	hi := min(end, h.off)
	if lo >= hi {
		return
	}
	w := len(win)
	copy(win[w-int(h.off-lo):w-int(h.off-hi)], data[lo-start:hi-start])
}
