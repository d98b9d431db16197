package lab

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

func dnsQuery(id uint16, qtype uint16, labels ...string) []byte {
	q := binary.BigEndian.AppendUint16(nil, id)
	q = append(q, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0) // RD, one question
	for _, l := range labels {
		q = append(q, byte(len(l)))
		q = append(q, l...)
	}
	q = append(q, 0)
	q = binary.BigEndian.AppendUint16(q, qtype)
	return binary.BigEndian.AppendUint16(q, 1)
}

func TestDNSAnswer(t *testing.T) {
	web := netip.MustParseAddr("10.77.0.10")
	router := netip.MustParseAddr("10.77.0.1")
	d := &dnsResponder{answer: router, records: map[string]netip.Addr{"web.lab.example.": web}}

	resp, ok := dnsAnswer(dnsQuery(0xbeef, 1, "WEB", "lab", "example"), d.lookup)
	if !ok {
		t.Fatal("no answer to a valid A query")
	}
	if binary.BigEndian.Uint16(resp) != 0xbeef || resp[2]&0x80 == 0 || resp[2]&0x01 == 0 {
		t.Fatalf("header %x: want same id, QR and RD set", resp[:4])
	}
	if binary.BigEndian.Uint16(resp[6:]) != 1 {
		t.Fatalf("ANCOUNT %d, want 1", binary.BigEndian.Uint16(resp[6:]))
	}
	if got := netip.AddrFrom4([4]byte(resp[len(resp)-4:])); got != web {
		t.Fatalf("A = %s, want %s (case-insensitive lab name)", got, web)
	}

	resp, _ = dnsAnswer(dnsQuery(1, 1, "beacon", "evil-c2", "example"), d.lookup)
	if got := netip.AddrFrom4([4]byte(resp[len(resp)-4:])); got != router {
		t.Fatalf("unknown name answered %s, want the router %s", got, router)
	}
	resp, _ = dnsAnswer(dnsQuery(2, 28, "web", "lab", "example"), d.lookup)
	if binary.BigEndian.Uint16(resp[6:]) != 0 {
		t.Fatal("AAAA query got an answer; the lab is IPv4 only")
	}
	if _, ok := dnsAnswer([]byte{1, 2, 3}, d.lookup); ok {
		t.Fatal("a truncated query got an answer")
	}
	if _, ok := dnsAnswer(append(dnsQuery(3, 1, "x"), 0xff)[:14], d.lookup); ok {
		t.Fatal("a query cut inside its question got an answer")
	}
}
