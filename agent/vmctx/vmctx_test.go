package vmctx

import (
	"encoding/binary"
	"net/netip"
	"testing"
)

var (
	macWeb = [6]byte{0x52, 0x54, 0, 0, 0, 1}
	macDB  = [6]byte{0x52, 0x54, 0, 0, 0, 2}
	macBad = [6]byte{0x52, 0x54, 0, 0xba, 0xd0, 0}
)

func testIndex() *Index {
	x := New("host1")
	x.Replace([]NIC{
		{VMName: "web", VMUUID: "u-web", MAC: macWeb, Tap: "twtap-web", Bridge: "twbr0"},
		{VMName: "db", VMUUID: "u-db", MAC: macDB, Tap: "twtap-db", Bridge: "twbr0"},
	})
	return x
}

func ipv4Frame(src [6]byte, srcIP netip.Addr) []byte {
	f := make([]byte, 14+20)
	copy(f[6:12], src[:])
	binary.BigEndian.PutUint16(f[12:14], 0x0800)
	f[14] = 0x45
	ip := srcIP.As4()
	copy(f[14+12:], ip[:])
	return f
}

func arpReply(sender [6]byte, senderIP netip.Addr) []byte {
	f := make([]byte, 14+28)
	copy(f[6:12], sender[:])
	binary.BigEndian.PutUint16(f[12:14], 0x0806)
	a := f[14:]
	binary.BigEndian.PutUint16(a[0:2], 1)
	binary.BigEndian.PutUint16(a[2:4], 0x0800)
	a[4], a[5] = 6, 4
	binary.BigEndian.PutUint16(a[6:8], 2)
	copy(a[8:14], sender[:])
	ip := senderIP.As4()
	copy(a[14:18], ip[:])
	return f
}

func TestSidesPrefersTapOwner(t *testing.T) {
	x := testIndex()
	s, d := x.Sides(macWeb, macDB, "", false)
	if s == nil || s.VMName != "web" || d == nil || d.VMName != "db" {
		t.Fatalf("sides = %v %v", s, d)
	}
	// A spoofed source MAC seen at db's tap is still db's doing.
	s, _ = x.Sides(macBad, macWeb, "twtap-db", true)
	if s == nil || s.VMName != "db" || s.Host != "host1" {
		t.Fatalf("spoofed src attributed to %v", s)
	}
	if s, d := x.Sides(macBad, macBad, "", false); s != nil || d != nil {
		t.Fatal("unknown MACs attributed")
	}
}

func TestInspectFindsSpoofing(t *testing.T) {
	x := testIndex()
	webIP, dbIP := netip.MustParseAddr("10.77.0.10"), netip.MustParseAddr("10.77.0.20")
	if f := x.Inspect("twtap-web", ipv4Frame(macWeb, webIP)); len(f) != 0 {
		t.Fatalf("clean frame flagged: %+v", f)
	}
	if f := x.Inspect("twtap-db", ipv4Frame(macDB, dbIP)); len(f) != 0 {
		t.Fatalf("clean frame flagged: %+v", f)
	}
	f := x.Inspect("twtap-web", ipv4Frame(macBad, webIP))
	if len(f) != 1 || f[0].SID != SIDMACSpoof || f[0].VM.VMName != "web" {
		t.Fatalf("MAC spoof: %+v", f)
	}
	f = x.Inspect("twtap-web", arpReply(macWeb, dbIP))
	if len(f) != 1 || f[0].SID != SIDARPSpoof {
		t.Fatalf("ARP spoof: %+v", f)
	}
	f = x.Inspect("twtap-web", ipv4Frame(macWeb, dbIP))
	if len(f) != 1 || f[0].SID != SIDIPSpoof {
		t.Fatalf("IP spoof: %+v", f)
	}
	if got := x.Addresses(macDB); len(got) != 1 || got[0] != dbIP {
		t.Fatalf("db addresses = %v", got)
	}
	if f := x.Inspect("twtap-unknown", ipv4Frame(macBad, webIP)); f != nil {
		t.Fatalf("unknown tap flagged: %+v", f)
	}
	if f := x.Inspect("twtap-web", []byte{1, 2}); f != nil {
		t.Fatal("short frame flagged")
	}
}

func TestInspectFindsRogueDHCPAndRA(t *testing.T) {
	x := testIndex()
	dhcp := make([]byte, 14+20+8)
	copy(dhcp[6:12], macWeb[:])
	binary.BigEndian.PutUint16(dhcp[12:14], 0x0800)
	dhcp[14], dhcp[14+9] = 0x45, 17
	copy(dhcp[14+12:], []byte{10, 77, 0, 10})
	binary.BigEndian.PutUint16(dhcp[34:], 67)
	binary.BigEndian.PutUint16(dhcp[36:], 68)
	f := x.Inspect("twtap-web", dhcp)
	if len(f) != 1 || f[0].SID != SIDRogueDHCP || f[0].VM.VMName != "web" {
		t.Fatalf("DHCP offer from a VM: %+v", f)
	}
	// A DHCP client request (68 -> 67) is not a finding.
	binary.BigEndian.PutUint16(dhcp[34:], 68)
	binary.BigEndian.PutUint16(dhcp[36:], 67)
	if f := x.Inspect("twtap-web", dhcp); len(f) != 0 {
		t.Fatalf("DHCP request flagged: %+v", f)
	}
	ra := make([]byte, 14+40+16)
	copy(ra[6:12], macDB[:])
	binary.BigEndian.PutUint16(ra[12:14], 0x86dd)
	ra[14], ra[14+6] = 0x60, 58
	ra[14+8] = 0xfe
	ra[14+9] = 0x80
	ra[54] = 134
	f = x.Inspect("twtap-db", ra)
	if len(f) != 1 || f[0].SID != SIDRogueRA || f[0].VM.VMName != "db" {
		t.Fatalf("RA from a VM: %+v", f)
	}
	ra[54] = 135 // neighbour solicitation: normal
	if f := x.Inspect("twtap-db", ra); len(f) != 0 {
		t.Fatalf("NS flagged: %+v", f)
	}
}

func TestByAddrOutlivesTheVM(t *testing.T) {
	x := testIndex()
	ip := netip.MustParseAddr("10.77.0.20")
	x.Inspect("twtap-db", ipv4Frame(macDB, ip))
	if r, ok := x.ByAddr(ip); !ok || r.VMName != "db" {
		t.Fatalf("ByAddr = %v, %v", r, ok)
	}
	// db is destroyed while a flow of its is still open: the flow's end must
	// still name it.
	x.Replace([]NIC{{VMName: "web", VMUUID: "u-web", MAC: macWeb, Tap: "twtap-web"}})
	if r, ok := x.ByAddr(ip); !ok || r.VMName != "db" {
		t.Fatalf("after db left: ByAddr = %v, %v", r, ok)
	}
	if _, ok := x.ByMAC(macDB); ok {
		t.Fatal("a VM that left still answers ByMAC")
	}
	// It comes back (migrated in again): the live entry wins.
	x.Replace([]NIC{{VMName: "db", VMUUID: "u-db2", MAC: macDB, Tap: "twtap-db2"}})
	if r, _ := x.ByAddr(ip); r == nil || r.VMUUID != "u-db2" {
		t.Fatalf("after db came back: %v", r)
	}
}

// The MACs a VM sent from other than libvirt's are kept per tap, with their
// frame counts, for its profile; a VM cycling MACs cannot grow the list.
func TestForeignMACsPerTap(t *testing.T) {
	x := testIndex()
	webIP := netip.MustParseAddr("10.77.0.10")
	x.Inspect("twtap-web", ipv4Frame(macWeb, webIP))
	for range 3 {
		x.Inspect("twtap-web", ipv4Frame(macBad, webIP))
	}
	got := x.ForeignMACs("twtap-web")
	if len(got) != 1 || got[0].MAC != macBad || got[0].Frames != 3 || got[0].First.IsZero() || got[0].Last.Before(got[0].First) {
		t.Fatalf("foreign MACs of web: %+v", got)
	}
	if got := x.ForeignMACs("twtap-db"); len(got) != 0 {
		t.Fatalf("db sent only from libvirt's MAC, got %+v", got)
	}
	for i := range 100 {
		m := [6]byte{0x02, 0, 0, 0, byte(i >> 8), byte(i)}
		x.Inspect("twtap-db", ipv4Frame(m, netip.MustParseAddr("10.77.0.20")))
	}
	got = x.ForeignMACs("twtap-db")
	var frames uint64
	for _, u := range got {
		frames += u.Frames
	}
	if len(got) != maxForeign || frames != 100 {
		t.Fatalf("100 random MACs: %d kept with %d frames, want %d kept and every frame counted", len(got), frames, maxForeign)
	}
}

// A tap name reused by another VM starts with no foreign MACs; one whose VM
// stays keeps them across inventory refreshes.
func TestForeignMACsForgetReusedTap(t *testing.T) {
	x := testIndex()
	x.Inspect("twtap-web", ipv4Frame(macBad, netip.MustParseAddr("10.77.0.10")))
	x.Inspect("twtap-db", ipv4Frame(macBad, netip.MustParseAddr("10.77.0.20")))
	x.Replace([]NIC{
		{VMName: "web", VMUUID: "u-web", MAC: macWeb, Tap: "twtap-web", Bridge: "twbr0"},
		{VMName: "db2", VMUUID: "u-db2", MAC: macDB, Tap: "twtap-db", Bridge: "twbr0"},
	})
	if got := x.ForeignMACs("twtap-web"); len(got) != 1 {
		t.Errorf("web kept its tap: foreign MACs %+v, want the one seen", got)
	}
	if got := x.ForeignMACs("twtap-db"); len(got) != 0 {
		t.Errorf("twtap-db now belongs to db2: inherited %+v", got)
	}
}

// A host with VM churn must not keep every NIC it ever saw: past maxGone
// departures the oldest are forgotten, the recent ones still name their
// flows.
func TestGoneIsBounded(t *testing.T) {
	x := New("host1")
	nic := func(i int) NIC {
		mac := [6]byte{0x52, 0x54, 0, byte(i >> 16), byte(i >> 8), byte(i)}
		return NIC{VMName: "vm", VMUUID: "u", MAC: mac, Tap: "twtap"}
	}
	addr := func(i int) netip.Addr { return netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}) }
	const n = maxGone + 50
	for i := 0; i <= n; i++ {
		// VM i replaces VM i-1 on the host, after sending once.
		x.Replace([]NIC{nic(i)})
		x.Learn(addr(i), nic(i).MAC)
	}
	if len(x.gone) != maxGone {
		t.Fatalf("%d departed NICs kept, want %d", len(x.gone), maxGone)
	}
	if _, ok := x.ByAddr(addr(n - 1)); !ok {
		t.Error("the last VM to leave is forgotten")
	}
	if _, ok := x.ByAddr(addr(n - maxGone)); !ok {
		t.Error("the oldest departure within the bound is forgotten")
	}
	if r, ok := x.ByAddr(addr(0)); ok {
		t.Errorf("the first VM to leave is still kept: %v", r)
	}
	if r, ok := x.ByAddr(addr(n)); !ok || r.MAC != nic(n).MAC {
		t.Errorf("the live VM: %v, %v", r, ok)
	}
}
