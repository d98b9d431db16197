package main

import (
	"testing"

	"github.com/tapwatch/tapwatch/rules/proto/dns"
)

// TestDNSQuery checks the query guestsend sends is one tapwatch's engine detects as DNS by
// content and reads the question name of, which the e2e test expects in the VM's profile.
func TestDNSQuery(t *testing.T) {
	q, err := dnsQuery("qemu-guest.tapwatch.test")
	if err != nil {
		t.Fatal(err)
	}
	q[0], q[1] = 0x12, 0x34
	if !dns.Probe(q) {
		t.Fatalf("dns.Probe rejects % x", q)
	}
	var m dns.Message
	if err := dns.Parse(q, &m); err != nil {
		t.Fatalf("dns.Parse: %v", err)
	}
	if m.Response || m.ID != 0x1234 || len(m.Queries) != 1 || string(m.Queries[0].Name) != "qemu-guest.tapwatch.test" ||
		m.Queries[0].Type != 1 || m.Queries[0].Class != 1 {
		t.Errorf("parsed %+v", m)
	}
	for _, bad := range []string{"", "a..b", string(make([]byte, 64)) + ".x"} {
		if _, err := dnsQuery(bad); err == nil {
			t.Errorf("dnsQuery(%q): no error", bad)
		}
	}
}
