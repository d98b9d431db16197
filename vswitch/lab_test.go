package vswitch

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/bpfprog"
	"github.com/tapwatch/tapwatch/test/testutil"
)

// lab is a host namespace with an address-less bridge, two taps the test
// plays as VMs A and B, and an uplink veth to an "outside" namespace.
type lab struct {
	host, out  *testutil.Netns
	br         int
	tapA, tapB *testutil.Tap
	uplink     int
	peer       *testutil.PacketSocket
	pinDir     string
}

var (
	macA   = testutil.MustMAC("52:54:00:00:00:0a")
	macB   = testutil.MustMAC("52:54:00:00:00:0b")
	macExt = testutil.MustMAC("02:00:00:00:00:e1")
	ipA    = netip.MustParseAddr("10.9.0.1")
	ipB    = netip.MustParseAddr("10.9.0.2")
	ipExt  = netip.MustParseAddr("10.9.0.99")
)

func newLab(t *testing.T) *lab {
	t.Helper()
	testutil.RequireRoot(t)
	l := &lab{host: testutil.NewNetns(t), out: testutil.NewNetns(t)}
	l.br = l.host.AddBridge(t, "twbr0").Attrs().Index
	l.tapA = l.host.OpenTap(t, "twtap0")
	l.tapB = l.host.OpenTap(t, "twtap1")
	l.host.SetMaster(t, "twtap0", l.br)
	l.host.SetMaster(t, "twtap1", l.br)
	l.uplink, _ = l.host.AddVeth(t, "twup0", l.out, "twpeer0")
	l.host.SetMaster(t, "twup0", l.br)
	l.out.WaitOperUp(t, "twpeer0")
	l.host.WaitOperUp(t, "twup0")
	l.peer = l.out.OpenPacketSocket(t, "twpeer0")
	l.pinDir = filepath.Join(testutil.BPFFS(t), "tapwatch")
	return l
}

func (l *lab) load(t *testing.T, cfg bpfprog.Config) *bpfprog.Objects {
	t.Helper()
	o, err := bpfprog.Load(bpfprog.Options{PinPath: filepath.Join(l.pinDir, "maps"), RingBytes: 4 << 20, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

func (l *lab) attacher(t *testing.T, o *bpfprog.Objects, m Method) *Attacher {
	t.Helper()
	a, err := NewAttacher(AttacherOptions{Objects: o, Netlink: l.host.NL, Netns: &l.host.Handle, PinDir: l.pinDir, Method: m})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// hooks is every attachment the agent would make in this lab.
func (l *lab) hooks() []Attachment {
	return []Attachment{
		{Ifindex: l.tapA.Index, Hook: bpfprog.HookTapIngress}, {Ifindex: l.tapA.Index, Hook: bpfprog.HookTapEgress},
		{Ifindex: l.tapB.Index, Hook: bpfprog.HookTapIngress}, {Ifindex: l.tapB.Index, Hook: bpfprog.HookTapEgress},
		{Ifindex: l.uplink, Hook: bpfprog.HookUplinkIngress}, {Ifindex: l.uplink, Hook: bpfprog.HookUplinkEgress},
	}
}

func (l *lab) attachAll(t *testing.T, a *Attacher, o *bpfprog.Objects) {
	t.Helper()
	for _, h := range l.hooks() {
		if _, err := a.Attach(h.Ifindex, h.Hook); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []struct {
		mac net.HardwareAddr
		tap int
	}{{macA, l.tapA.Index}, {macB, l.tapB.Index}} {
		if err := o.MonitoredMACs().Add(m.mac, m.tap); err != nil {
			t.Fatal(err)
		}
	}
}

// frame builds a UDP frame whose payload carries a test tag and sequence
// number, so records can be told from any other traffic.
func frame(src, dst net.HardwareAddr, sip, dip netip.Addr, sport uint16, tag byte, seq uint32) []byte {
	p := make([]byte, 22)
	copy(p, "tapwatch-test")
	p[13] = tag
	binary.BigEndian.PutUint32(p[14:], seq)
	return testutil.Frame{Dst: dst, Src: src, SrcIP: sip, DstIP: dip, SrcPort: sport, DstPort: 7000, Payload: p}.Bytes()
}

// tagOf extracts (tag, seq) from a captured frame, ok=false for other traffic.
func tagOf(b []byte) (byte, uint32, bool) {
	i := bytes.Index(b, []byte("tapwatch-test"))
	if i < 0 || len(b) < i+18 {
		return 0, 0, false
	}
	return b[i+13], binary.BigEndian.Uint32(b[i+14:]), true
}

type seen struct {
	hook bpfprog.Hook
	dir  bpfprog.Direction
	idx  uint32
}

// drain reads records until the ring stays empty for quiet, returning the
// tagged ones by (tag, seq).
func drain(t *testing.T, r *bpfprog.Reader, quiet time.Duration) map[[2]uint32][]seen {
	t.Helper()
	out := map[[2]uint32][]seen{}
	var rec bpfprog.Record
	for {
		r.SetDeadline(time.Now().Add(quiet))
		err := r.Read(&rec)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if tag, seq, ok := tagOf(rec.Data); ok {
			k := [2]uint32{uint32(tag), seq}
			out[k] = append(out[k], seen{rec.Hook, rec.Dir, rec.Ifindex})
		}
	}
}

// readTagged reads frames from a VM's tap until timeout, returning the
// sequence numbers with the given tag.
func readTagged(tap *testutil.Tap, tag byte, want int, timeout time.Duration) map[uint32]int {
	got := map[uint32]int{}
	buf := make([]byte, 2048)
	deadline := time.Now().Add(timeout)
	n := 0
	for n < want && time.Now().Before(deadline) {
		k, err := tap.Read(buf, time.Until(deadline))
		if err != nil {
			break
		}
		if tg, seq, ok := tagOf(buf[:k]); ok && tg == tag {
			got[seq]++
			n++
		}
	}
	return got
}

func checkCounters(t *testing.T, o *bpfprog.Objects) map[bpfprog.CounterKey]bpfprog.Counters {
	t.Helper()
	all, err := o.AllCounters()
	if err != nil {
		t.Fatal(err)
	}
	for k, c := range all {
		if c.Sent+c.Bypassed+c.Skipped+c.RingFull+c.Blocked != c.Seen {
			t.Errorf("ifindex %d %s: sent %d + bypassed %d + skipped %d + ring-full %d + blocked %d != seen %d",
				k.Ifindex, k.Hook, c.Sent, c.Bypassed, c.Skipped, c.RingFull, c.Blocked, c.Seen)
		}
	}
	return all
}
