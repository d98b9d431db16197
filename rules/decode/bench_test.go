package decode

import "testing"

// BenchmarkDecodeFrame decodes one crafted frame repeatedly: the decoder's
// own cost with the frame in cache.
func BenchmarkDecodeFrame(b *testing.B) {
	for _, f := range []struct {
		name string
		lt   LinkType
		data []byte
	}{
		{"eth-ipv4-tcp", LinkEthernet, ethIPv4TCP(b)},
		{"qinq-ipv4-udp", LinkEthernet, ethVLANIPv4UDP(b, 1, 2)},
		{"eth-ipv6-tcp", LinkEthernet, ethIPv6TCP(b)},
	} {
		b.Run(f.name, func(b *testing.B) {
			d := NewDecoder(Config{})
			var p Packet
			b.ReportAllocs()
			for b.Loop() {
				d.Decode(f.lt, f.data, &p)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
		})
	}
}
