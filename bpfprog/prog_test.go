package bpfprog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/tapwatch/tapwatch/test/testutil"
)

const (
	actUnspec = 0xffffffff // TC_ACT_UNSPEC == TCX_NEXT (-1)
	actShot   = 2
	loIfindex = 1 // BPF_PROG_TEST_RUN runs on loopback
)

var (
	vmA  = testutil.MustMAC("52:54:00:00:00:0a")
	vmB  = testutil.MustMAC("52:54:00:00:00:0b")
	ext  = testutil.MustMAC("02:00:00:00:00:e1")
	bcst = testutil.MustMAC("ff:ff:ff:ff:ff:ff")
	ip4A = netip.MustParseAddr("10.1.0.1")
	ip4B = netip.MustParseAddr("10.1.0.2")
	ip6A = netip.MustParseAddr("fd00::a")
	ip6B = netip.MustParseAddr("fd00::b")
)

func load(t *testing.T, opts Options) (*Objects, *Reader) {
	t.Helper()
	testutil.RequireRoot(t)
	o, err := Load(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	r, err := o.NewReader(ReaderOptions{PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return o, r
}

func run(t *testing.T, o *Objects, h Hook, frame []byte) uint32 {
	t.Helper()
	ret, err := o.Program(h).Run(&ebpf.RunOptions{Data: frame})
	if err != nil {
		t.Fatalf("run %s: %v", h, err)
	}
	return ret
}

// next returns the next record or fails; none returns true when the ring
// holds nothing.
func next(t *testing.T, r *Reader) Record {
	t.Helper()
	var rec Record
	r.SetDeadline(time.Now().Add(time.Second))
	if err := r.Read(&rec); err != nil {
		t.Fatalf("read record: %v", err)
	}
	rec.Data = bytes.Clone(rec.Data)
	return rec
}

func none(t *testing.T, r *Reader) {
	t.Helper()
	var rec Record
	r.SetDeadline(time.Now().Add(30 * time.Millisecond))
	err := r.Read(&rec)
	if err == nil {
		t.Fatalf("unexpected record: %+v", rec.Header)
	}
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatal(err)
	}
}

func counters(t *testing.T, o *Objects, h Hook) Counters {
	t.Helper()
	c, err := o.Counters(loIfindex, h)
	if err != nil {
		t.Fatal(err)
	}
	if c.Seen != c.Sent+c.Skipped+c.Bypassed+c.Blocked+c.RingFull {
		t.Fatalf("%s counters do not add up: %+v", h, c)
	}
	return c
}

func udp4(src, dst []byte) testutil.Frame {
	return testutil.Frame{Dst: dst, Src: src, SrcIP: ip4A, DstIP: ip4B, SrcPort: 40000, DstPort: 53, Payload: []byte("hello")}
}

func TestRecordHeaderAndBytes(t *testing.T) {
	o, r := load(t, Options{})
	frame := udp4(vmA, vmB).Bytes()
	before := time.Now()
	if ret := run(t, o, HookTapIngress, frame); ret != actUnspec {
		t.Fatalf("return %#x, want TC_ACT_UNSPEC", ret)
	}
	rec := next(t, r)
	if !bytes.Equal(rec.Data, frame) {
		t.Fatalf("data %x, want %x", rec.Data, frame)
	}
	h := rec.Header
	if h.Hook != HookTapIngress || h.Dir != FromVM || h.Ifindex != loIfindex {
		t.Fatalf("header %+v", h)
	}
	if h.OrigLen != uint32(len(frame)) || h.CapLen != uint32(len(frame)) || h.Flags&FlagTruncated != 0 || h.Flags&FlagFlow == 0 {
		t.Fatalf("lengths/flags %+v", h)
	}
	if h.Protocol != 0x0800 {
		t.Fatalf("protocol %#x", h.Protocol)
	}
	if d := h.Wall.Sub(before); d < -time.Second || d > 5*time.Second {
		t.Fatalf("wall time %v, test started %v", h.Wall, before)
	}
	if h.Mono <= 0 {
		t.Fatalf("mono %v", h.Mono)
	}
	if c := counters(t, o, HookTapIngress); c.Seen != 1 || c.Sent != 1 {
		t.Fatalf("counters %+v", c)
	}

	run(t, o, HookTapEgress, frame)
	if rec := next(t, r); rec.Hook != HookTapEgress || rec.Dir != ToVM {
		t.Fatalf("tap egress header %+v", rec.Header)
	}
	run(t, o, HookUplinkIngress, frame)
	if rec := next(t, r); rec.Hook != HookUplinkIngress || rec.Dir != ToVM {
		t.Fatalf("uplink ingress header %+v", rec.Header)
	}
	run(t, o, HookUplinkEgress, frame)
	if rec := next(t, r); rec.Hook != HookUplinkEgress || rec.Dir != FromVM {
		t.Fatalf("uplink egress header %+v", rec.Header)
	}
}

func TestSnaplenTruncates(t *testing.T) {
	o, r := load(t, Options{Config: Config{Snaplen: 64}})
	f := udp4(vmA, vmB)
	f.Payload = bytes.Repeat([]byte{0xab}, 1400)
	frame := f.Bytes()
	run(t, o, HookTapIngress, frame)
	rec := next(t, r)
	if rec.CapLen != 64 || rec.OrigLen != uint32(len(frame)) || rec.Flags&FlagTruncated == 0 || !bytes.Equal(rec.Data, frame[:64]) {
		t.Fatalf("header %+v data %d bytes", rec.Header, len(rec.Data))
	}
	if c := counters(t, o, HookTapIngress); c.TooBig != 1 || c.Sent != 1 {
		t.Fatalf("counters %+v", c)
	}
	// Raising the snaplen at run time takes effect on the next packet.
	if err := o.SetConfig(Config{Snaplen: MaxSnaplen}); err != nil {
		t.Fatal(err)
	}
	run(t, o, HookTapIngress, frame)
	if rec := next(t, r); rec.CapLen != uint32(len(frame)) {
		t.Fatalf("after SetConfig: caplen %d", rec.CapLen)
	}
	if err := o.SetConfig(Config{Snaplen: MaxSnaplen + 1}); err == nil {
		t.Fatal("SetConfig accepted a snaplen above MaxSnaplen")
	}
}

func TestBypassCountsButDoesNotSend(t *testing.T) {
	o, r := load(t, Options{})
	f := udp4(vmA, vmB)
	// Keyed in the reverse direction: the program matches either way.
	key := FlowKey{Proto: 17, Src: ip4B, Dst: ip4A, SrcPort: 53, DstPort: 40000}
	if err := o.Bypass().Add(key); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if ret := run(t, o, HookTapIngress, f.Bytes()); ret != actUnspec {
			t.Fatalf("bypassed packet returned %#x", ret)
		}
	}
	none(t, r)
	st, ok, err := o.Bypass().Lookup(key)
	if err != nil || !ok || st.Packets != 3 || st.Bytes != 3*uint64(len(f.Bytes())) {
		t.Fatalf("flow stats %+v %v %v", st, ok, err)
	}
	if c := counters(t, o, HookTapIngress); c.Bypassed != 3 || c.Sent != 0 {
		t.Fatalf("counters %+v", c)
	}
	// Another flow of the same hosts still arrives.
	other := f
	other.SrcPort = 40001
	run(t, o, HookTapIngress, other.Bytes())
	next(t, r)
	// So does the flow once the bypass entry is gone.
	if err := o.Bypass().Delete(key); err != nil {
		t.Fatal(err)
	}
	run(t, o, HookTapIngress, f.Bytes())
	next(t, r)
}

func TestBlockOnlyInIPSMode(t *testing.T) {
	o, r := load(t, Options{})
	f := udp4(vmA, vmB)
	key := FlowKey{Proto: 17, Src: ip4A, Dst: ip4B, SrcPort: 40000, DstPort: 53}
	if err := o.BlockedFlows().Add(key); err != nil {
		t.Fatal(err)
	}
	if ret := run(t, o, HookTapIngress, f.Bytes()); ret != actUnspec {
		t.Fatalf("IDS mode returned %#x for a blocked flow, want TC_ACT_UNSPEC", ret)
	}
	next(t, r)
	if err := o.SetConfig(Config{Mode: ModeIPS}); err != nil {
		t.Fatal(err)
	}
	if ret := run(t, o, HookTapIngress, f.Bytes()); ret != actShot {
		t.Fatalf("IPS mode returned %#x for a blocked flow, want TC_ACT_SHOT", ret)
	}
	none(t, r)
	if c := counters(t, o, HookTapIngress); c.Blocked != 1 {
		t.Fatalf("counters %+v", c)
	}
	// Blocked hosts, IPv6, either side.
	if err := o.BlockedHosts().Add(0, ip6B); err != nil {
		t.Fatal(err)
	}
	f6 := testutil.Frame{Dst: vmA, Src: vmB, SrcIP: ip6B, DstIP: ip6A, Proto: 6, SrcPort: 22, DstPort: 50000}
	if ret := run(t, o, HookTapEgress, f6.Bytes()); ret != actShot {
		t.Fatalf("blocked IPv6 host: return %#x", ret)
	}
	st, ok, _ := o.BlockedHosts().Lookup(0, ip6B)
	if !ok || st.Packets != 1 {
		t.Fatalf("host stats %+v %v", st, ok)
	}
	// Unrelated traffic passes in IPS mode.
	f6.SrcIP = netip.MustParseAddr("fd00::c")
	if ret := run(t, o, HookTapEgress, f6.Bytes()); ret != actUnspec {
		t.Fatalf("unrelated IPv6: return %#x", ret)
	}
	next(t, r)
}

func TestParsing(t *testing.T) {
	o, r := load(t, Options{})
	cases := []struct {
		name      string
		frame     []byte
		key       *FlowKey // bypassing this key must hide the frame
		wantFlags uint16
		noFlags   uint16
	}{
		{"ipv4 udp", udp4(vmA, vmB).Bytes(), &FlowKey{Proto: 17, Src: ip4A, Dst: ip4B, SrcPort: 40000, DstPort: 53}, FlagFlow, FlagFragment},
		{"ipv6 tcp", testutil.Frame{Dst: vmB, Src: vmA, SrcIP: ip6A, DstIP: ip6B, Proto: 6, SrcPort: 1234, DstPort: 443}.Bytes(),
			&FlowKey{Proto: 6, Src: ip6A, Dst: ip6B, SrcPort: 1234, DstPort: 443}, FlagFlow, FlagFragment},
		{"vlan ipv4", testutil.Frame{Dst: vmB, Src: vmA, VLAN: 100, SrcIP: ip4A, DstIP: ip4B, SrcPort: 1, DstPort: 2}.Bytes(),
			&FlowKey{VLAN: 100, Proto: 17, Src: ip4A, Dst: ip4B, SrcPort: 1, DstPort: 2}, FlagFlow, 0},
		{"ipv4 first fragment", testutil.Frame{Dst: vmB, Src: vmA, SrcIP: ip4A, DstIP: ip4B, SrcPort: 7, DstPort: 8, MoreFrags: true}.Bytes(),
			&FlowKey{Proto: 17, Src: ip4A, Dst: ip4B}, FlagFlow | FlagFragment, 0},
		{"ipv4 later fragment", testutil.Frame{Dst: vmB, Src: vmA, SrcIP: ip4A, DstIP: ip4B, SrcPort: 7, DstPort: 8, FragOffset: 185}.Bytes(),
			&FlowKey{Proto: 17, Src: ip4A, Dst: ip4B}, FlagFlow | FlagFragment, 0},
		{"ipv6 fragment", testutil.Frame{Dst: vmB, Src: vmA, SrcIP: ip6A, DstIP: ip6B, SrcPort: 7, DstPort: 8, IPv6Frag: true}.Bytes(),
			&FlowKey{Proto: 17, Src: ip6A, Dst: ip6B}, FlagFlow | FlagFragment, 0},
		// BPF_PROG_TEST_RUN refuses untagged IP frames shorter than their IP
		// header, so the truncated cases hide the IP behind a VLAN tag.
		{"vlan tag cut off", append(append(append([]byte{}, vmB...), vmA...), 0x81, 0x00), nil, 0, FlagFlow},
		{"truncated ipv4", testutil.Frame{Dst: vmB, Src: vmA, VLAN: 5, SrcIP: ip4A, DstIP: ip4B}.Bytes()[:18+10], nil, 0, FlagFlow},
		{"truncated ipv6", testutil.Frame{Dst: vmB, Src: vmA, VLAN: 5, SrcIP: ip6A, DstIP: ip6B}.Bytes()[:18+39], nil, 0, FlagFlow},
		{"truncated udp header", udp4(vmA, vmB).Bytes()[:14+20+2], &FlowKey{Proto: 17, Src: ip4A, Dst: ip4B}, FlagFlow, 0},
		{"arp", append(append(append([]byte{}, bcst...), vmA...), append([]byte{0x08, 0x06}, make([]byte, 28)...)...), nil, 0, FlagFlow},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if ret := run(t, o, HookTapIngress, tc.frame); ret != actUnspec {
				t.Fatalf("return %#x", ret)
			}
			rec := next(t, r)
			if !bytes.Equal(rec.Data, tc.frame) || rec.OrigLen != uint32(len(tc.frame)) {
				t.Fatalf("record %+v data %x", rec.Header, rec.Data)
			}
			if rec.Flags&tc.wantFlags != tc.wantFlags || rec.Flags&tc.noFlags != 0 {
				t.Fatalf("flags %#x, want %#x set and %#x clear", rec.Flags, tc.wantFlags, tc.noFlags)
			}
			if tc.key == nil {
				return
			}
			if err := o.Bypass().Add(*tc.key); err != nil {
				t.Fatal(err)
			}
			defer o.Bypass().Delete(*tc.key)
			run(t, o, HookTapIngress, tc.frame)
			none(t, r)
		})
	}
	counters(t, o, HookTapIngress)
}

func TestInspectOnce(t *testing.T) {
	o, r := load(t, Options{})
	macs := o.MonitoredMACs()
	for _, m := range []struct {
		mac []byte
		tap int
	}{{vmA, 10}, {vmB, 11}} {
		if err := macs.Add(m.mac, m.tap); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := macs.Contains(vmA); !ok || err != nil {
		t.Fatalf("Contains(vmA) = %v, %v", ok, err)
	}
	cases := []struct {
		name     string
		hook     Hook
		src, dst []byte
		sent     bool
	}{
		{"tap ingress always", HookTapIngress, vmA, vmB, true},
		{"tap ingress spoofed src", HookTapIngress, ext, vmB, true},
		{"tap egress from monitored VM", HookTapEgress, vmA, vmB, false},
		{"tap egress from outside", HookTapEgress, ext, vmB, true},
		{"tap egress broadcast", HookTapEgress, ext, bcst, false},
		{"uplink ingress to monitored VM", HookUplinkIngress, ext, vmB, false},
		{"uplink ingress spoofing a monitored src", HookUplinkIngress, vmA, vmB, true},
		{"uplink ingress broadcast", HookUplinkIngress, ext, bcst, true},
		{"uplink ingress to unknown", HookUplinkIngress, ext, ext, true},
		{"uplink egress from monitored VM", HookUplinkEgress, vmA, ext, false},
		{"uplink egress from elsewhere", HookUplinkEgress, ext, ext, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := counters(t, o, tc.hook)
			run(t, o, tc.hook, udp4(tc.src, tc.dst).Bytes())
			after := counters(t, o, tc.hook)
			if tc.sent {
				next(t, r)
				if after.Sent != before.Sent+1 {
					t.Fatalf("sent %d -> %d", before.Sent, after.Sent)
				}
			} else {
				none(t, r)
				if after.Skipped != before.Skipped+1 {
					t.Fatalf("skipped %d -> %d", before.Skipped, after.Skipped)
				}
			}
		})
	}
	// Every path a frame can take through a bridge is inspected at least
	// once: entry hook, then exit hook.
	paths := []struct {
		name     string
		src, dst []byte
		in, out  Hook
	}{
		{"vm to vm", vmA, vmB, HookTapIngress, HookTapEgress},
		{"vm to outside", vmA, ext, HookTapIngress, HookUplinkEgress},
		{"outside to vm", ext, vmB, HookUplinkIngress, HookTapEgress},
		{"outside spoofing vm A to vm B", vmA, vmB, HookUplinkIngress, HookTapEgress},
		{"spoofing vm to vm", ext, vmB, HookTapIngress, HookTapEgress},
		{"vm broadcast", vmA, bcst, HookTapIngress, HookTapEgress},
		{"outside broadcast", ext, bcst, HookUplinkIngress, HookTapEgress},
	}
	for _, p := range paths {
		before := counters(t, o, p.in).Sent + counters(t, o, p.out).Sent
		run(t, o, p.in, udp4(p.src, p.dst).Bytes())
		run(t, o, p.out, udp4(p.src, p.dst).Bytes())
		after := counters(t, o, p.in).Sent + counters(t, o, p.out).Sent
		if after == before {
			t.Errorf("%s: inspected zero times", p.name)
		}
		for after > before {
			next(t, r)
			before++
		}
	}
	if err := macs.Delete(vmB); err != nil {
		t.Fatal(err)
	}
	run(t, o, HookTapEgress, udp4(vmB, vmA).Bytes())
	next(t, r)
}

func TestRingFullIsCounted(t *testing.T) {
	testutil.RequireRoot(t)
	o, err := Load(Options{RingBytes: 4096})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	frame := udp4(vmA, vmB).Bytes()
	const n = 200
	for i := 0; i < n; i++ {
		run(t, o, HookTapIngress, frame)
	}
	c := counters(t, o, HookTapIngress)
	if c.Seen != n || c.RingFull == 0 || c.Sent == 0 {
		t.Fatalf("counters %+v: want %d seen, some sent, some ring-full", c, n)
	}
	r, err := o.NewReader(ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var got uint64
	var rec Record
	r.SetDeadline(time.Now().Add(50 * time.Millisecond))
	for r.Read(&rec) == nil {
		got++
	}
	if got != c.Sent {
		t.Fatalf("read %d records, counters say %d sent", got, c.Sent)
	}
}

func TestLoadRejectsBadOptions(t *testing.T) {
	for _, opts := range []Options{
		{RingBytes: 5000},
		{Config: Config{Snaplen: MaxSnaplen + 1}},
		{Config: Config{Mode: 7}},
	} {
		if o, err := Load(opts); err == nil {
			o.Close()
			t.Errorf("Load(%+v) succeeded", opts)
		}
	}
}

func TestHeaderLayout(t *testing.T) {
	// decode() reads tw_hdr by offset; keep it in step with the C struct by
	// encoding the generated twin and decoding it back.
	h := twTwHdr{MonoNs: 11, TaiNs: 22e9, Ifindex: 33, OrigLen: 44, CapLen: 3, Flags: 55, VlanTci: 66,
		Protocol: 77, Hook: 4, Dir: 2, Zone: 88}
	var buf bytes.Buffer
	if err := binary.Write(&buf, binary.LittleEndian, &h); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != HeaderSize {
		t.Fatalf("tw_hdr is %d bytes, reader assumes %d", buf.Len(), HeaderSize)
	}
	buf.Write([]byte{1, 2, 3})
	var rec Record
	rec.raw.RawSample = buf.Bytes()
	if err := (&Reader{}).decode(&rec); err != nil {
		t.Fatal(err)
	}
	got := rec.Header
	if got.Mono != 11 || got.Wall.UnixNano() != 22e9 || got.Ifindex != 33 || got.OrigLen != 44 || got.CapLen != 3 ||
		got.Flags != 55 || got.VLANTCI != 66 || got.Protocol != 77 || got.Hook != HookUplinkEgress || got.Dir != ToVM ||
		got.Zone != 88 || !bytes.Equal(rec.Data, []byte{1, 2, 3}) {
		t.Fatalf("decoded %+v data %v", got, rec.Data)
	}
	rec.raw.RawSample = buf.Bytes()[:HeaderSize+1]
	if err := (&Reader{}).decode(&rec); err == nil {
		t.Fatal("decode accepted a record shorter than its CapLen")
	}
	var s twTwScratch
	if len(s.Data) != MaxSnaplen {
		t.Fatalf("scratch holds %d bytes, MaxSnaplen is %d", len(s.Data), MaxSnaplen)
	}
}
