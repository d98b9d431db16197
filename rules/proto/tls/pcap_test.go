package tls

import (
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

// corpusDir finds ../shared/corpus next to the module root.
func corpusDir(t testing.TB) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			c := filepath.Join(d, "..", "shared", "corpus")
			if _, err := os.Stat(c); err != nil {
				if os.Getenv("CI") == "true" {
					t.Fatalf("corpus missing at %s", c)
				}
				t.Skipf("corpus not present at %s", c)
			}
			return c
		}
		if filepath.Dir(d) == d {
			t.Skip("module root not found")
		}
	}
}

type flowKey struct {
	a, b  netip.AddrPort
	proto uint8
}

type seg struct {
	seq  uint32
	data []byte
}

// capFlow is one connection of a capture: TCP payload streams reassembled by
// sequence number (first copy wins on overlap; enough for clean captures),
// or the UDP payloads in order.
type capFlow struct {
	key     flowKey
	client  netip.AddrPort
	proto   uint8
	isn     [2]uint32
	haveISN [2]bool
	segs    [2][]seg
	udp     [2][][]byte
	streams [2][]byte
}

// readFlows decodes a capture into its flows, in order of first packet.
func readFlows(t testing.TB, path string) []*capFlow {
	t.Helper()
	r, err := decode.OpenPcap(path)
	if err != nil {
		t.Logf("%s: %v", path, err)
		return nil
	}
	defer r.Close()
	dec := decode.NewDecoder(decode.Config{})
	var p decode.Packet
	flows := map[flowKey]*capFlow{}
	var order []*capFlow
	for {
		data, ci, err := r.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Logf("%s: %v", path, err)
			}
			break
		}
		p.Timestamp, p.OrigLen = ci.Timestamp, ci.Length
		if !dec.Decode(ci.LinkType, data, &p) && p.L4Header == nil {
			continue
		}
		if p.IPProto != decode.ProtoTCP && p.IPProto != decode.ProtoUDP || p.L4Header == nil {
			continue
		}
		src := netip.AddrPortFrom(p.SrcIP, p.SrcPort)
		dst := netip.AddrPortFrom(p.DstIP, p.DstPort)
		k := flowKey{src, dst, p.IPProto}
		if src.Compare(dst) > 0 {
			k.a, k.b = dst, src
		}
		f := flows[k]
		if f == nil {
			f = &capFlow{key: k, client: src, proto: p.IPProto}
			if p.IPProto == decode.ProtoTCP && len(p.L4Header) >= 14 && p.L4Header[13]&0x12 == 0x12 {
				f.client = dst // first packet seen is the SYN-ACK
			}
			flows[k] = f
			order = append(order, f)
		}
		dir := 0
		if src != f.client {
			dir = 1
		}
		if p.IPProto == decode.ProtoUDP {
			if len(p.Payload) > 0 {
				f.udp[dir] = append(f.udp[dir], append([]byte(nil), p.Payload...))
			}
			continue
		}
		if len(p.L4Header) < 14 {
			continue
		}
		seq := binary.BigEndian.Uint32(p.L4Header[4:])
		if p.L4Header[13]&0x02 != 0 {
			f.isn[dir], f.haveISN[dir] = seq+1, true
			continue
		}
		if len(p.Payload) == 0 {
			continue
		}
		if !f.haveISN[dir] {
			f.isn[dir], f.haveISN[dir] = seq, true
		}
		f.segs[dir] = append(f.segs[dir], seg{seq, append([]byte(nil), p.Payload...)})
	}
	for _, f := range order {
		for dir := range 2 {
			s := f.segs[dir]
			base := f.isn[dir]
			sort.SliceStable(s, func(i, j int) bool { return int32(s[i].seq-base) < int32(s[j].seq-base) })
			var out []byte
			for _, sg := range s {
				off := int(int32(sg.seq - base))
				if off < 0 {
					continue
				}
				if off > len(out) {
					// A hole: stop here, as a reassembler would wait.
					break
				}
				if end := off + len(sg.data); end > len(out) {
					out = append(out, sg.data[len(out)-off:]...)
				}
			}
			f.streams[dir] = out
		}
	}
	return order
}
