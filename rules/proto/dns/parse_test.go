package dns

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
)

func u16(v int) []byte { return []byte{byte(v >> 8), byte(v)} }
func u32(v uint32) []byte {
	return []byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}
}

func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// wire encodes a dotted name without compression.
func wire(name string) []byte {
	var b []byte
	if name != "" {
		for _, l := range strings.Split(name, ".") {
			b = append(b, byte(len(l)))
			b = append(b, l...)
		}
	}
	return append(b, 0)
}

func ptr(off int) []byte { return []byte{0xc0 | byte(off>>8), byte(off)} }

func header(id, flags, qd, an, ns, ar int) []byte {
	return cat(u16(id), u16(flags), u16(qd), u16(an), u16(ns), u16(ar))
}

func rr(name []byte, typ int, ttl uint32, rdata []byte) []byte {
	return cat(name, u16(typ), u16(1), u32(ttl), u16(len(rdata)), rdata)
}

func query(id int, name string, typ int) []byte {
	return cat(header(id, 0x0100, 1, 0, 0, 0), wire(name), u16(typ), u16(1))
}

// dump renders everything a Message exposes so runs can be compared.
func dump(m *Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "id=%d flags=%04x resp=%v op=%d rc=%d counts=%d/%d/%d/%d anom=%b trunc=%v\n",
		m.ID, m.Flags, m.Response, m.Opcode, m.Rcode, m.QDCount, m.ANCount, m.NSCount, m.ARCount, m.Anomalies, m.Truncated)
	for _, q := range m.Queries {
		fmt.Fprintf(&b, " q %q %d %d\n", q.Name, q.Type, q.Class)
	}
	for i, sec := range [][]RR{m.Answers, m.Authorities, m.Additionals} {
		for _, r := range sec {
			fmt.Fprintf(&b, " %d %q %d %d %d %q %q\n", i, r.Name, r.Type, r.Class, r.TTL, r.Data, r.Text)
		}
	}
	return b.String()
}

func mustParse(t *testing.T, msg []byte) *Message {
	t.Helper()
	var m Message
	if err := Parse(msg, &m); err != nil {
		t.Fatalf("Parse: %v\n%s", err, dump(&m))
	}
	return &m
}

func TestQuery(t *testing.T) {
	msg := query(0x1234, "www.example.com", 1)
	m := mustParse(t, msg)
	if m.ID != 0x1234 || m.Response || len(m.Queries) != 1 || string(m.Queries[0].Name) != "www.example.com" || m.Queries[0].Type != 1 || m.Queries[0].Class != 1 {
		t.Fatalf("query: %s", dump(m))
	}
	names := m.QueryNames()
	if len(names) != 1 || string(names[0]) != "www.example.com" {
		t.Errorf("QueryNames %q", names)
	}
	if bufs, ok := m.Buffers("dns_query"); !ok || len(bufs) != 1 {
		t.Errorf("Buffers(dns_query) %q %v", bufs, ok)
	}
	if _, ok := m.Buffers("tls.sni"); ok {
		t.Error("unknown buffer reported present")
	}
	want := map[string]any{"type": "query", "id": 0x1234, "rrname": "www.example.com", "rrtype": "A", "tx_id": 0, "opcode": 0}
	if got := m.EVE(); !reflect.DeepEqual(got, want) {
		t.Errorf("EVE %v, want %v", got, want)
	}
	// The message's names must not alias the input.
	copy(msg[13:], "XXX")
	if string(m.Queries[0].Name) != "www.example.com" {
		t.Errorf("name aliases the input: %q", m.Queries[0].Name)
	}
}

func TestMultipleQueries(t *testing.T) {
	msg := cat(header(1, 0, 2, 0, 0, 0), wire("a.example"), u16(1), u16(1), []byte{1, 'b'}, ptr(14), u16(28), u16(1))
	m := mustParse(t, msg)
	names := m.QueryNames()
	if len(names) != 2 || string(names[0]) != "a.example" || string(names[1]) != "b.example" {
		t.Fatalf("names %q", names)
	}
	qs := m.EVEQueries()
	if len(qs) != 2 || qs[1]["rrname"] != "b.example" || qs[1]["rrtype"] != "AAAA" {
		t.Errorf("EVEQueries %v", qs)
	}
}

// response builds a response to www.example.com exercising compression and
// every rendered type. Offset 12 is the question name.
func response() []byte {
	q := wire("www.example.com")
	name := ptr(12)
	ex := ptr(16) // "example.com" inside the question name
	soa := cat([]byte{3, 'n', 's', '1'}, ex, []byte{10, 'h', 'o', 's', 't', 'm', 'a', 's', 't', 'e', 'r'}, ex,
		u32(2024010101), u32(7200), u32(3600), u32(1209600), u32(300))
	return cat(header(0xbeef, 0x8180, 1, 8, 1, 1), q, u16(1), u16(1),
		rr(name, 5, 300, cat([]byte{3, 'c', 'd', 'n'}, ex)),
		rr(name, 1, 60, []byte{192, 0, 2, 1}),
		rr(name, 28, 60, []byte{0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}),
		rr(name, 15, 60, cat(u16(10), []byte{4, 'm', 'a', 'i', 'l'}, ex)),
		rr(name, 16, 60, []byte{5, 'h', 'e', 'l', 'l', 'o', 3, 'a', '\x01', 'b'}),
		rr(name, 12, 60, []byte{4, 'h', 'o', 's', 't', 0}),
		rr(name, 33, 60, cat(u16(1), u16(5), u16(5060), []byte{3, 's', 'i', 'p'}, ex)),
		rr(ex, 6, 3600, soa),
		rr(ex, 2, 3600, cat([]byte{3, 'n', 's', '2'}, ex)),
		rr([]byte{0}, 41, 0, nil), // EDNS OPT in additional
	)
}

func TestResponse(t *testing.T) {
	m := mustParse(t, response())
	if !m.Response || m.Rcode != 0 || m.Anomalies != 0 {
		t.Fatalf("header: %s", dump(m))
	}
	want := []struct {
		typ        uint16
		name, text string
	}{
		{5, "www.example.com", "cdn.example.com"},
		{1, "www.example.com", "192.0.2.1"},
		{28, "www.example.com", "2001:0db8:0000:0000:0000:0000:0000:0001"},
		{15, "www.example.com", "mail.example.com"},
		{16, "www.example.com", "hello"},
		{16, "www.example.com", "a\x01b"},
		{12, "www.example.com", "host"},
		{33, "www.example.com", "1 5 5060 sip.example.com"},
		{6, "example.com", "ns1.example.com hostmaster.example.com 2024010101 7200 3600 1209600 300"},
	}
	if len(m.Answers) != len(want) {
		t.Fatalf("%d answers, want %d (TXT split per string)\n%s", len(m.Answers), len(want), dump(m))
	}
	for i, w := range want {
		r := m.Answers[i]
		if r.Type != w.typ || string(r.Name) != w.name || r.Text != w.text {
			t.Errorf("answer %d: %d %q %q, want %d %q %q", i, r.Type, r.Name, r.Text, w.typ, w.name, w.text)
		}
	}
	if m.Answers[3].Preference != 10 || m.Answers[7].SRV.Port != 5060 || m.Answers[8].SOA.Minimum != 300 {
		t.Errorf("typed rdata: %+v %+v %+v", m.Answers[3], m.Answers[7].SRV, m.Answers[8].SOA)
	}
	if len(m.Authorities) != 1 || m.Authorities[0].Text != "ns2.example.com" || len(m.Additionals) != 1 || m.Additionals[0].Type != 41 {
		t.Errorf("authority/additional: %s", dump(m))
	}

	e := m.EVE()
	for k, v := range map[string]any{"version": 2, "type": "answer", "id": 0xbeef, "flags": "8180", "qr": true, "rd": true, "ra": true,
		"rrname": "www.example.com", "rrtype": "A", "rcode": "NOERROR"} {
		if e[k] != v {
			t.Errorf("EVE %s = %v, want %v", k, e[k], v)
		}
	}
	if _, ok := e["aa"]; ok {
		t.Error("EVE aa set without the flag")
	}
	answers := e["answers"].([]any)
	if a := answers[5].(map[string]any); a["rdata"] != `a\x01b` || a["rrtype"] != "TXT" || a["ttl"] != 60 {
		t.Errorf("TXT answer %v", a)
	}
	if a := answers[8].(map[string]any); a["soa"].(map[string]any)["rname"] != "hostmaster.example.com" {
		t.Errorf("SOA answer %v", a)
	}
	if a := answers[7].(map[string]any); a["srv"].(map[string]any)["name"] != "sip.example.com" {
		t.Errorf("SRV answer %v", a)
	}
	g := e["grouped"].(map[string]any)
	if !reflect.DeepEqual(g["A"], []any{"192.0.2.1"}) || !reflect.DeepEqual(g["TXT"], []any{"hello", `a\x01b`}) {
		t.Errorf("grouped %v", g)
	}
	if auth := e["authorities"].([]any); auth[0].(map[string]any)["rdata"] != "ns2.example.com" {
		t.Errorf("authorities %v", auth)
	}
}

func TestNXDomain(t *testing.T) {
	msg := cat(header(7, 0x8183, 1, 0, 0, 0), wire("nope.example"), u16(1), u16(1))
	e := mustParse(t, msg).EVE()
	if e["rcode"] != "NXDOMAIN" || e["answers"] != nil {
		t.Errorf("EVE %v", e)
	}
}

func TestPointerLoops(t *testing.T) {
	// Self pointer as the very first thing: an error, nothing to keep.
	var m Message
	msg := cat(header(1, 0, 1, 0, 0, 0), ptr(12), u16(1), u16(1))
	if err := Parse(msg, &m); !errors.Is(err, ErrMalformed) || m.Anomalies&AnomalyNameLoop == 0 {
		t.Errorf("self pointer: %v %s", err, dump(&m))
	}
	// Label then a pointer back to it: a loop only the step limit stops.
	msg = cat(header(1, 0, 1, 0, 0, 0), []byte{1, 'a'}, ptr(12), u16(1), u16(1))
	err := Parse(msg, &m)
	if err != nil || m.Anomalies&AnomalyLabelLimit == 0 || len(m.Queries) != 1 || m.Queries[0].Type != 1 {
		t.Errorf("label loop: %v %s", err, dump(&m))
	}
	if n := len(m.Queries[0].Name); n == 0 || n > MaxNameLen {
		t.Errorf("loop name of %d bytes", n)
	}
	// Two pointers pointing at each other.
	msg = cat(header(1, 0, 2, 0, 0, 0), ptr(18), u16(1), u16(1), ptr(12), u16(1), u16(1))
	err = Parse(msg, &m)
	if err != nil || m.Anomalies&AnomalyLabelLimit == 0 || len(m.Queries) != 2 {
		t.Errorf("pointer ping-pong: %v %s", err, dump(&m))
	}
	// A pointer past the end.
	msg = cat(header(1, 0, 1, 0, 0, 0), ptr(500), u16(1), u16(1))
	if err := Parse(msg, &m); !errors.Is(err, ErrMalformed) {
		t.Errorf("wild pointer: %v", err)
	}
	// Reserved label type 0x40.
	msg = cat(header(1, 0, 1, 0, 0, 0), []byte{0x41, 'x', 0}, u16(1), u16(1))
	if err := Parse(msg, &m); !errors.Is(err, ErrMalformed) || m.Anomalies&AnomalyMalformed == 0 {
		t.Errorf("extended label: %v", err)
	}
}

func TestLongName(t *testing.T) {
	var name []byte
	for i := 0; i < 30; i++ {
		name = append(name, 63)
		name = append(name, strings.Repeat(string(rune('a'+i%26)), 63)...)
	}
	name = append(name, 0)
	msg := cat(header(1, 0, 1, 0, 0, 0), name, u16(16), u16(1))
	m := mustParse(t, msg)
	if len(m.Queries) != 1 || len(m.Queries[0].Name) != MaxNameLen || m.Anomalies&AnomalyNameTooLong == 0 || m.Queries[0].Type != 16 {
		t.Errorf("long name: %d bytes, anomalies %b", len(m.Queries[0].Name), m.Anomalies)
	}
}

func TestRootAndOddBytes(t *testing.T) {
	msg := cat(header(1, 0, 2, 0, 0, 0), []byte{0}, u16(2), u16(1), []byte{3, 'a', 0, '.', 0}, u16(1), u16(1))
	m := mustParse(t, msg)
	if string(m.Queries[0].Name) != "" || string(m.Queries[1].Name) != "a\x00." {
		t.Errorf("names %q %q", m.Queries[0].Name, m.Queries[1].Name)
	}
	if m.queryEVE(1)["rrname"] != `a\x00.` {
		t.Errorf("EVE rrname %v", m.queryEVE(1)["rrname"])
	}
}

func TestTruncatedEveryLength(t *testing.T) {
	full := response()
	whole := dump(mustParse(t, full))
	var m Message
	for n := 0; n < len(full); n++ {
		err := Parse(full[:n], &m)
		if err == nil {
			t.Fatalf("cut at %d parsed without error:\n%s", n, dump(&m))
		}
		if !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed) {
			t.Fatalf("cut at %d: unwrapped error %v", n, err)
		}
		if !m.Truncated && m.Anomalies&AnomalyMalformed == 0 {
			t.Fatalf("cut at %d: not flagged: %s", n, dump(&m))
		}
		if n >= 12+17+4 && (len(m.Queries) != 1 || string(m.Queries[0].Name) != "www.example.com") {
			t.Fatalf("cut at %d: question lost: %s", n, dump(&m))
		}
	}
	// Reuse after failures gives the same result as a fresh Message.
	if err := Parse(full, &m); err != nil || dump(&m) != whole {
		t.Fatalf("reuse differs: %v\n%s\n%s", err, dump(&m), whole)
	}
}

func TestTrailingAndZ(t *testing.T) {
	msg := cat(query(1, "a.example", 1), []byte{1, 2, 3})
	msg[3] |= 0x40
	m := mustParse(t, msg)
	if m.Anomalies&AnomalyTrailing == 0 || m.Anomalies&AnomalyZFlag == 0 || m.EVE()["z"] != true {
		t.Errorf("anomalies %b", m.Anomalies)
	}
}

func TestQueryParseNoAlloc(t *testing.T) {
	msg := query(1, "www.example.com", 1)
	var m Message
	_ = Parse(msg, &m)
	allocs := testing.AllocsPerRun(100, func() {
		_ = Parse(msg, &m)
		_ = m.QueryNames()
	})
	if allocs != 0 {
		t.Errorf("Parse of a query allocates %.0f times", allocs)
	}
}

func TestProbe(t *testing.T) {
	cases := []struct {
		name string
		msg  []byte
		want bool
	}{
		{"query", query(1, "www.example.com", 1), true},
		{"response", response(), true},
		{"short", []byte{1, 2, 3}, false},
		{"http", []byte("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"), false},
		{"bad opcode", func() []byte { b := query(1, "a.b", 1); b[2] |= 0x78; return b }(), false},
		{"no question", header(1, 0x0100, 0, 0, 0, 0), false},
		{"bad class", cat(header(1, 0, 1, 0, 0, 0), wire("a.b"), u16(1), u16(77)), false},
		{"counts too big", cat(header(1, 0, 1, 50, 0, 0), wire("a.b"), u16(1), u16(1)), false},
		{"bad label", cat(header(1, 0, 1, 0, 0, 0), []byte{0x80}, u16(1), u16(1)), false},
	}
	for _, c := range cases {
		if got := Probe(c.msg); got != c.want {
			t.Errorf("%s: Probe = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestStreamParserSplits(t *testing.T) {
	msgs := [][]byte{query(1, "one.example", 1), response(), query(3, "three.example", 28)}
	var stream []byte
	for _, m := range msgs {
		stream = cat(stream, u16(len(m)), m)
	}
	stream = cat(stream, u16(0)) // an empty frame is skipped
	var want []string
	for _, m := range msgs {
		want = append(want, dump(mustParse(t, m)))
	}
	collect := func(feeds [][]byte) []string {
		var sp StreamParser
		var got []string
		for _, f := range feeds {
			sp.Feed(ToServer, f, func(m *Message) { got = append(got, dump(m)) })
		}
		if sp.Pending(ToServer) != 0 || sp.Stats().Empty != 1 {
			t.Fatalf("pending %d, stats %+v", sp.Pending(ToServer), sp.Stats())
		}
		return got
	}
	if got := collect([][]byte{stream}); !reflect.DeepEqual(got, want) {
		t.Fatalf("whole stream:\n%v\nwant\n%v", got, want)
	}
	for i := 0; i <= len(stream); i++ {
		for j := i; j <= len(stream); j += 7 {
			if got := collect([][]byte{stream[:i], stream[i:j], stream[j:]}); !reflect.DeepEqual(got, want) {
				t.Fatalf("split at %d,%d:\n%v\nwant\n%v", i, j, got, want)
			}
		}
	}
	var bytewise [][]byte
	for i := range stream {
		bytewise = append(bytewise, stream[i:i+1])
	}
	if got := collect(bytewise); !reflect.DeepEqual(got, want) {
		t.Fatalf("byte at a time differs")
	}
}

func TestStreamParserDirections(t *testing.T) {
	q, r := query(9, "x.example", 1), response()
	var sp StreamParser
	var got []bool
	fn := func(m *Message) { got = append(got, m.Response) }
	sp.Feed(ToServer, cat(u16(len(q)), q[:5]), fn)
	sp.Feed(ToClient, cat(u16(len(r)), r), fn)
	sp.Feed(ToServer, q[5:], fn)
	if !reflect.DeepEqual(got, []bool{true, false}) {
		t.Errorf("directions mixed: %v", got)
	}
}

func TestTypeAndRcodeStrings(t *testing.T) {
	for v, want := range map[uint16]string{1: "A", 28: "AAAA", 33: "SRV", 65: "HTTPS", 255: "ANY", 4242: "4242"} {
		if got := TypeString(v); got != want {
			t.Errorf("TypeString(%d) = %q", v, got)
		}
	}
	if RcodeString(3) != "NXDOMAIN" || RcodeString(15) != "15" {
		t.Error("RcodeString")
	}
}

func TestExpansionBomb(t *testing.T) {
	// One long name, then as many questions as fit that each point at it.
	long := wire(strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63))
	body := cat(long, u16(1), u16(1))
	n := 1
	for len(body) < 65000 {
		body = append(body, 0xc0, 12, 0, 1, 0, 1)
		n++
	}
	msg := cat(header(1, 0, n, 0, 0, 0), body)
	var m Message
	err := Parse(msg, &m)
	if !errors.Is(err, ErrMalformed) || m.Anomalies&AnomalyExpansion == 0 {
		t.Fatalf("bomb not stopped: %v, %d queries", err, len(m.Queries))
	}
	if len(m.Queries) == 0 || len(m.Queries) >= n || len(m.Queries)*255 > MaxExpanded+1024 {
		t.Errorf("%d of %d questions kept", len(m.Queries), n)
	}
}

func TestProbeTCP(t *testing.T) {
	q := query(1, "www.example.com", 1)
	if !ProbeTCP(cat(u16(len(q)), q)) {
		t.Error("framed query rejected")
	}
	if ProbeTCP(q) {
		t.Error("unframed query accepted as DNS over TCP")
	}
	if ProbeTCP([]byte("GET / HTTP/1.1\r\nHost: a\r\n\r\n")) {
		t.Error("HTTP accepted")
	}
}

func TestRDataNames(t *testing.T) {
	// A CNAME whose pointer targets a name placed after it (legal, if odd).
	msg := cat(header(1, 0x8180, 1, 2, 0, 0), wire("a.example"), u16(1), u16(1))
	fwd := len(msg) + 12 + 2 + 12 + 1 // past this RR (header, 2-byte rdata) and the next (header, 1-byte rdata)
	msg = cat(msg, rr(ptr(12), 5, 1, ptr(fwd)), rr(ptr(12), 16, 1, []byte{0}), wire("target.example"))
	var m Message
	_ = Parse(msg, &m)
	if len(m.Answers) == 0 || m.Answers[0].Text != "target.example" {
		t.Errorf("forward pointer in rdata: %s", dump(&m))
	}
	// A CNAME whose labels run past its rdata length is bad rdata.
	msg = cat(header(1, 0x8180, 1, 1, 0, 0), wire("a.example"), u16(1), u16(1), ptr(12), u16(5), u16(1), u32(1), u16(3), wire("abcdef"))
	_ = Parse(msg, &m)
	if m.Anomalies&AnomalyBadRData == 0 || len(m.Answers) != 1 || m.Answers[0].Text != "" {
		t.Errorf("overlong rdata name accepted: %s", dump(&m))
	}
}
