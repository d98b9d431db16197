package replay

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/tapwatch/tapwatch/rules/detect"
)

// ipInIP wraps the IP packet of an Ethernet frame in an outer IPv4 header
// (protocol 4) between src and dst.
func ipInIP(frame []byte, src, dst [4]byte) []byte {
	inner := frame[14:]
	f := make([]byte, 14+20+len(inner))
	binary.BigEndian.PutUint16(f[12:], 0x0800)
	ip := f[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(20+len(inner)))
	ip[8], ip[9] = 64, 4
	copy(ip[12:], src[:])
	copy(ip[16:], dst[:])
	copy(ip[20:], inner)
	return f
}

// Both the tunnel packet and the packet it carries are inspected, the
// inner one logged with its tunnel.
func TestReplayInspectsTunnelledPackets(t *testing.T) {
	dir := t.TempDir()
	a, b := [4]byte{10, 1, 0, 3}, [4]byte{10, 1, 0, 4}
	ta, tb := [4]byte{10, 1, 0, 1}, [4]byte{10, 1, 0, 2}
	writePcap(t, filepath.Join(dir, "t.pcap"), ipInIP(tcpFrame(a, b, 1000, 80, "EVIL"), ta, tb))
	rulesPath := filepath.Join(dir, "t.rules")
	if err := os.WriteFile(rulesPath, []byte("alert tcp any any -> any any (content:\"EVIL\"; sid:1;)\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	var opts detect.Options
	var nrules int
	var stdout, stderr bytes.Buffer
	// The fake worker alerts on any payload holding EVIL: the outer
	// packet's payload (the whole inner packet) and the inner's.
	if code := run(context.Background(), []string{"-r", filepath.Join(dir, "t.pcap"), "-S", rulesPath, "-l", out},
		&stdout, &stderr, fakeCompile(&opts, &nrules)); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	f, err := os.Open(filepath.Join(out, "eve.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	srcs := map[string]map[string]any{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatal(err)
		}
		if m["event_type"] == "alert" {
			srcs[m["pkt_src"].(string)] = m
		}
	}
	outer, inner := srcs["wire/pcap"], srcs["ipv4 tunnel"]
	if outer == nil || inner == nil || len(srcs) != 2 {
		t.Fatalf("alerts by pkt_src: %v", srcs)
	}
	if outer["proto"] != "IP-in-IP" || outer["src_ip"] != "10.1.0.1" || outer["tunnel"] != nil {
		t.Errorf("outer alert: %v", outer)
	}
	tun, _ := inner["tunnel"].(map[string]any)
	if inner["proto"] != "TCP" || inner["src_ip"] != "10.1.0.3" || inner["pcap_cnt"] != 1.0 ||
		tun["src_ip"] != "10.1.0.1" || tun["dest_ip"] != "10.1.0.2" || tun["proto"] != "IP-in-IP" || tun["depth"] != 1.0 {
		t.Errorf("inner alert: %v", inner)
	}
}
