package dns

import (
	"errors"
	"testing"
)

// FuzzDNS parses arbitrary bytes as a UDP message and as a TCP stream split
// at an arbitrary point. Nothing may panic; names stay within the limits;
// every failure wraps one of the package's errors; and the stream result
// must not depend on the split.
func FuzzDNS(f *testing.F) {
	f.Add(query(1, "www.example.com", 1), uint16(3))
	f.Add(response(), uint16(40))
	f.Add(cat(header(1, 0, 1, 0, 0, 0), []byte{1, 'a'}, ptr(12), u16(1), u16(1)), uint16(0))
	f.Add(cat(header(1, 0, 2, 0, 0, 0), ptr(18), u16(1), u16(1), ptr(12), u16(1), u16(1)), uint16(9))
	f.Fuzz(func(t *testing.T, data []byte, cut uint16) {
		var m Message
		err := Parse(data, &m)
		if err != nil && !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed) {
			t.Fatalf("unwrapped error %v", err)
		}
		if err == nil && m.Anomalies&(AnomalyTruncated|AnomalyMalformed) != 0 {
			t.Fatalf("anomaly %b without an error", m.Anomalies)
		}
		for _, n := range m.QueryNames() {
			if len(n) > MaxNameLen {
				t.Fatalf("name of %d bytes", len(n))
			}
		}
		_ = m.EVE()
		_ = m.EVEQueries()
		_ = Probe(data)

		// The same bytes as a DNS-over-TCP stream.
		var whole, split []string
		var a, b StreamParser
		a.Feed(ToServer, data, func(m *Message) { whole = append(whole, dump(m)) })
		c := int(cut) % (len(data) + 1)
		b.Feed(ToServer, data[:c], func(m *Message) { split = append(split, dump(m)) })
		b.Feed(ToServer, data[c:], func(m *Message) { split = append(split, dump(m)) })
		if len(whole) != len(split) || a.Pending(ToServer) != b.Pending(ToServer) {
			t.Fatalf("split at %d: %d vs %d messages", c, len(whole), len(split))
		}
		for i := range whole {
			if whole[i] != split[i] {
				t.Fatalf("split at %d changes message %d", c, i)
			}
		}
	})
}
