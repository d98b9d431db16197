package decode

import (
	"encoding/binary"
	"testing"
	"time"
)

// fuzzLinkTypes maps the fuzzer's first byte to a link type, so most
// inputs reach a decoder instead of unknown_linktype.
var fuzzLinkTypes = [...]LinkType{LinkEthernet, LinkSLL, LinkSLL2, LinkRaw, LinkIPv4, LinkIPv6, LinkNull, LinkLoop, LinkPPP, LinkCHDLC, 147}

// fuzzInput encodes frames as the fuzz target reads them: a link-type
// selector, then frames each preceded by a 2-byte length. Several frames
// per input let the fuzzer reach fragment reassembly.
func fuzzInput(sel byte, frames ...[]byte) []byte {
	b := []byte{sel}
	for _, f := range frames {
		b = binary.BigEndian.AppendUint16(b, uint16(len(f)))
		b = append(b, f...)
	}
	return b
}

func FuzzDecode(f *testing.F) {
	f.Add(fuzzInput(0, ethIPv4TCP(f)))
	f.Add(fuzzInput(0, ethIPv6TCP(f)))
	f.Add(fuzzInput(0, ethVLANIPv4UDP(f, 1, 2, 3)))
	f.Add(fuzzInput(0, ethIPv4ICMP(f, 8, 0)))
	f.Add(fuzzInput(1, sllFrame(0x0800, ipv4Bytes(f))))
	f.Add(fuzzInput(2, sll2Frame(0x86dd, ipv6Bytes(f))))
	f.Add(fuzzInput(3, ipv6Bytes(f)))
	f.Add(fuzzInput(4, ipv4Bytes(f)))
	f.Add(fuzzInput(5, ipv6Bytes(f)))
	f.Add(fuzzInput(6, nullFrame(2, binary.LittleEndian, ipv4Bytes(f))))
	f.Add(fuzzInput(7, nullFrame(30, binary.BigEndian, ipv6Bytes(f))))
	f.Add(fuzzInput(0, reversed(frag4(bigUDP4(f, 600, 1), 256))...))
	f.Add(fuzzInput(0, frag6(bigUDP6(f, 600), 256, 9)...))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) == 0 {
			return
		}
		lt := fuzzLinkTypes[int(in[0])%len(fuzzLinkTypes)]
		in = in[1:]
		const maxDefrag = 64 << 10
		d := NewDecoder(Config{DefragMaxBytes: maxDefrag})
		var p Packet
		for n := 0; len(in) > 0; n++ {
			l := len(in)
			if len(in) >= 2 {
				l = min(int(binary.BigEndian.Uint16(in)), len(in)-2)
				in = in[2:]
			}
			frame := in[:l]
			in = in[l:]
			// Alternate snap-length claims so both truncation paths run.
			p.OrigLen = 0
			if n%2 == 1 {
				p.OrigLen = len(frame) + 100
			}
			p.Timestamp = time.Unix(int64(n)*20, 0)
			ok := d.Decode(lt, frame, &p)
			st := d.Stats()
			if st.Packets != st.Decoded+st.Malformed {
				t.Fatalf("stats do not add up: %+v", st)
			}
			if ok && p.HasL4() && p.Fragment {
				t.Fatalf("a fragment with an L4 header")
			}
			if p.IPVersion != 0 && p.IPLen < len(p.IPHeader) {
				t.Fatalf("IPLen %d below header %d", p.IPLen, len(p.IPHeader))
			}
			if d.defrag.mem > maxDefrag || d.defrag.mem < 0 {
				t.Fatalf("defrag memory %d outside [0, %d]", d.defrag.mem, maxDefrag)
			}
		}
	})
}
