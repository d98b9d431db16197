package dns

import "testing"

func BenchmarkParseQuery(b *testing.B) {
	msg := query(1, "www.example.com", 1)
	var m Message
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		_ = Parse(msg, &m)
		_ = m.QueryNames()
	}
}

func BenchmarkParseResponse(b *testing.B) {
	msg := response()
	var m Message
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		_ = Parse(msg, &m)
	}
}

func BenchmarkProbe(b *testing.B) {
	msg := query(1, "www.example.com", 1)
	for b.Loop() {
		_ = Probe(msg)
	}
}

func BenchmarkStreamParser(b *testing.B) {
	q := query(1, "www.example.com", 1)
	var stream []byte
	for range 32 {
		stream = cat(stream, u16(len(q)), q)
	}
	var sp StreamParser
	b.SetBytes(int64(len(stream)))
	b.ReportAllocs()
	for b.Loop() {
		// Uneven chunks so frames straddle feeds.
		for i := 0; i < len(stream); i += 100 {
			sp.Feed(ToServer, stream[i:min(i+100, len(stream))], nil)
		}
	}
}
