package vswitch

import (
	"io"
	"net"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/tapwatch/tapwatch/bpfprog"
	"github.com/tapwatch/tapwatch/test/testutil"
)

// benchPair is two namespaces joined by a veth: "vm" sends, "host" receives;
// tapwatch's tap-ingress program goes on the host end, as on a VM's tap.
type benchPair struct {
	vm, host *testutil.Netns
	hostIf   int
	objs     *bpfprog.Objects
	att      *Attacher
	reader   *bpfprog.Reader
	records  atomic.Uint64
	stop     chan struct{}
	wg       sync.WaitGroup
}

const (
	benchVMAddr   = "10.77.0.1"
	benchHostAddr = "10.77.0.2"
)

func newBenchPair(b testing.TB) *benchPair {
	b.Helper()
	p := &benchPair{vm: testutil.NewNetns(b), host: testutil.NewNetns(b), stop: make(chan struct{})}
	_, p.hostIf = p.vm.AddVeth(b, "twbvm", p.host, "twbhost")
	addAddr(b, p.vm, "twbvm", benchVMAddr)
	addAddr(b, p.host, "twbhost", benchHostAddr)
	p.vm.WaitOperUp(b, "twbvm")
	p.host.WaitOperUp(b, "twbhost")
	o, err := bpfprog.Load(bpfprog.Options{PinPath: filepath.Join(testutil.BPFFS(b), "maps")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { o.Close() })
	p.objs = o
	a, err := NewAttacher(AttacherOptions{Objects: o, Netlink: p.host.NL, Netns: &p.host.Handle,
		PinDir: filepath.Join(filepath.Dir(o.PinPath()), "att"), Method: MethodTCX})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	p.att = a
	r, err := o.NewReader(bpfprog.ReaderOptions{})
	if err != nil {
		b.Fatal(err)
	}
	p.reader = r
	p.wg.Add(1)
	go func() { // the consumer the agent would run
		defer p.wg.Done()
		var rec bpfprog.Record
		for r.Read(&rec) == nil {
			p.records.Add(1)
		}
	}()
	b.Cleanup(func() { r.Close(); p.wg.Wait() })
	return p
}

func addAddr(b testing.TB, n *testutil.Netns, ifname, ip string) {
	b.Helper()
	l := n.MustLink(b, ifname)
	a := &netlinkAddr{ip: ip}
	if err := n.NL.AddrAdd(l, a.addr()); err != nil {
		b.Fatalf("add %s to %s: %v", ip, ifname, err)
	}
}

func (p *benchPair) attach(b testing.TB, on bool) {
	b.Helper()
	var err error
	if on {
		_, err = p.att.Attach(p.hostIf, bpfprog.HookTapIngress)
	} else {
		err = p.att.Detach(p.hostIf, bpfprog.HookTapIngress)
	}
	if err != nil {
		b.Fatal(err)
	}
}

func (p *benchPair) counters(b testing.TB) bpfprog.Counters {
	c, err := p.objs.Counters(p.hostIf, bpfprog.HookTapIngress)
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// udpRound blasts 64-byte UDP frames (22-byte payload) from the VM side for
// d, at most rate packets/s (0: as fast as possible), and returns packets
// sent and received.
func (p *benchPair) udpRound(b *testing.B, d time.Duration, rate float64) (sent, recvd uint64) {
	b.Helper()
	var rfd, sfd int
	if err := p.host.Do(func() error {
		var err error
		if rfd, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err != nil {
			return err
		}
		unix.SetsockoptInt(rfd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20)
		tv := unix.NsecToTimeval((50 * time.Millisecond).Nanoseconds())
		unix.SetsockoptTimeval(rfd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		return unix.Bind(rfd, &unix.SockaddrInet4{Port: 9000, Addr: [4]byte{10, 77, 0, 2}})
	}); err != nil {
		b.Fatal(err)
	}
	defer unix.Close(rfd)
	if err := p.vm.Do(func() error {
		var err error
		if sfd, err = unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0); err != nil {
			return err
		}
		return unix.Connect(sfd, &unix.SockaddrInet4{Port: 9000, Addr: [4]byte{10, 77, 0, 2}})
	}); err != nil {
		b.Fatal(err)
	}
	defer unix.Close(sfd)

	var got atomic.Uint64
	var done atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 2048)
		for {
			_, _, err := unix.Recvfrom(rfd, buf, 0)
			if err == nil {
				got.Add(1)
				continue
			}
			if done.Load() {
				return
			}
		}
	}()
	payload := make([]byte, 22)
	start := time.Now()
	end := start.Add(d)
	for time.Now().Before(end) {
		for i := 0; i < 64; i++ {
			if _, err := unix.Write(sfd, payload); err == nil {
				sent++
			}
		}
		if rate > 0 {
			if ahead := time.Duration(float64(sent)/rate*1e9) - time.Since(start); ahead > 0 {
				time.Sleep(ahead)
			}
		}
	}
	time.Sleep(100 * time.Millisecond) // let the receiver drain its socket
	done.Store(true)
	wg.Wait()
	return sent, got.Load()
}

// BenchmarkUDP64 interleaves rounds without and with the program attached
// (and the Go reader consuming), so host noise hits both alike.
func BenchmarkUDP64(b *testing.B) {
	testutil.RequireRoot(b)
	p := newBenchPair(b)
	const d = 300 * time.Millisecond
	var offPPS, onPPS, recPS float64
	var ringFull, lostRecords uint64
	var ratios []float64
	for i := 0; i < b.N; i++ {
		p.attach(b, false)
		_, r := p.udpRound(b, d, 0)
		off := float64(r) / d.Seconds()
		offPPS += off

		p.attach(b, true)
		c0, r0 := p.counters(b), p.records.Load()
		_, r = p.udpRound(b, d, 0)
		time.Sleep(50 * time.Millisecond) // reader poll interval
		c1, r1 := p.counters(b), p.records.Load()
		on := float64(r) / d.Seconds()
		onPPS += on
		ratios = append(ratios, on/off)
		recPS += float64(r1-r0) / d.Seconds()
		ringFull += c1.RingFull - c0.RingFull
		lostRecords += (c1.Sent - c0.Sent) - (r1 - r0)
	}
	n := float64(b.N)
	b.ReportMetric(offPPS/n, "pps-off")
	b.ReportMetric(onPPS/n, "pps-on")
	b.ReportMetric(onPPS/offPPS, "ratio")
	b.ReportMetric(median(ratios), "ratio-median")
	b.ReportMetric(recPS/n, "records/s")
	b.ReportMetric(float64(ringFull)/n, "ringfull/round")
	b.ReportMetric(float64(lostRecords)/n, "unread/round")
}

// BenchmarkUDP64BelowSaturation sends at half the rate the path sustains
// with the program attached; nothing may be lost anywhere.
func BenchmarkUDP64BelowSaturation(b *testing.B) {
	testutil.RequireRoot(b)
	p := newBenchPair(b)
	p.attach(b, true)
	_, r := p.udpRound(b, 500*time.Millisecond, 0)
	rate := float64(r) / 0.5 / 2
	var sentTotal, recvTotal, recs, ringFull uint64
	for i := 0; i < b.N; i++ {
		c0, r0 := p.counters(b), p.records.Load()
		s, r := p.udpRound(b, time.Second, rate)
		time.Sleep(50 * time.Millisecond)
		c1, r1 := p.counters(b), p.records.Load()
		sentTotal += s
		recvTotal += r
		recs += r1 - r0
		ringFull += c1.RingFull - c0.RingFull
	}
	b.ReportMetric(rate, "pps-offered")
	b.ReportMetric(float64(sentTotal-recvTotal), "udp-lost")
	b.ReportMetric(float64(ringFull), "ringfull")
	b.ReportMetric(float64(int64(recs)-int64(sentTotal)), "records-minus-sent")
}

// tcpRound streams TCP from the VM side for d and returns bytes received.
func (p *benchPair) tcpRound(b testing.TB, d time.Duration) uint64 {
	b.Helper()
	var ln net.Listener
	if err := p.host.Do(func() error {
		var err error
		ln, err = net.Listen("tcp4", benchHostAddr+":9001")
		return err
	}); err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	var got atomic.Uint64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		n, _ := io.CopyBuffer(io.Discard, c, make([]byte, 256<<10))
		got.Store(uint64(n))
	}()
	var conn net.Conn
	if err := p.vm.Do(func() error {
		var err error
		conn, err = net.Dial("tcp4", benchHostAddr+":9001")
		return err
	}); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 128<<10)
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if _, err := conn.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	conn.Close()
	wg.Wait()
	return got.Load()
}

// BenchmarkTCP interleaves TCP throughput rounds without and with the
// program attached.
func BenchmarkTCP(b *testing.B) {
	testutil.RequireRoot(b)
	p := newBenchPair(b)
	const d = 300 * time.Millisecond
	var off, on float64
	var ringFull uint64
	var ratios []float64
	for i := 0; i < b.N; i++ {
		p.attach(b, false)
		o1 := float64(p.tcpRound(b, d)) * 8 / d.Seconds()
		p.attach(b, true)
		c0 := p.counters(b)
		o2 := float64(p.tcpRound(b, d)) * 8 / d.Seconds()
		ringFull += p.counters(b).RingFull - c0.RingFull
		off, on = off+o1, on+o2
		ratios = append(ratios, o2/o1)
	}
	n := float64(b.N)
	b.ReportMetric(off/n/1e9, "Gbit/s-off")
	b.ReportMetric(on/n/1e9, "Gbit/s-on")
	b.ReportMetric(on/off, "ratio")
	b.ReportMetric(median(ratios), "ratio-median")
	b.ReportMetric(float64(ringFull)/n, "ringfull/round")
}

// median of per-pair ratios: one noisy round (other load on the host)
// skews a mean, not a median.
func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}
