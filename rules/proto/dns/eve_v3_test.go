package dns

import "testing"

func TestEVEv3(t *testing.T) {
	m := mustParse(t, query(0x1234, "example.com", 1))
	o := m.EVEv3(2)
	qs, _ := o["queries"].([]any)
	if o["version"] != 3 || o["type"] != "request" || o["tx_id"] != 2 || o["id"] != 0x1234 || len(qs) != 1 {
		t.Fatalf("request: %v", o)
	}
	if q := qs[0].(map[string]any); q["rrname"] != "example.com" || q["rrtype"] != "A" {
		t.Errorf("query: %v", q)
	}
	resp := cat(header(0x1234, 0x8180, 1, 1, 0, 0), wire("example.com"), u16(1), u16(1),
		rr(ptr(12), 1, 60, []byte{10, 0, 0, 1}))
	o = mustParse(t, resp).EVEv3(3)
	as, _ := o["answers"].([]any)
	if o["type"] != "response" || o["qr"] != true || o["rcode"] != "NOERROR" || len(as) != 1 {
		t.Fatalf("response: %v", o)
	}
	if a := as[0].(map[string]any); a["rdata"] != "10.0.0.1" || a["rrname"] != "example.com" {
		t.Errorf("answer: %v", a)
	}
}
