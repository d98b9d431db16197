package detect

import (
	"fmt"
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

// TestEngineStreamSize follows Suricata's measure (next_seq - isn) through
// a handshake and data in each direction: after the handshake each side
// measures 1, then 1 plus the bytes it sent, counting the packet being
// inspected.
func TestEngineStreamSize(t *testing.T) {
	e := engine(t, Options{}, `alert tcp any any -> any any (msg:"client 6 to server"; flow:to_server; stream_size:client,=,6; sid:1;)
alert tcp any any -> any any (msg:"server 1"; stream_size:server,=,1; sid:2;)
alert tcp any any -> any any (msg:"server >10"; stream_size:server,>,10; sid:3;)
alert tcp any any -> any any (msg:"both >5"; stream_size:both,>,5; sid:4;)
alert tcp any any -> any any (msg:"either >5"; stream_size:either,>,5; sid:5;)
alert tcp any any -> any any (msg:"server unseen"; stream_size:server,=,0; sid:6;)
alert tcp any any -> any any (msg:"client <7 with content"; flow:to_server,established; stream_size:client,<,7; content:"hel"; sid:7;)
alert ip any any -> any any (msg:"TCP only"; stream_size:client,<,1000; sid:8;)
`)
	syn := tcpSeg(1, false, decode.TCPSyn, 0, "")
	syn.TCPAck = 0
	pkts := []*decode.Packet{
		syn, // client 1, server 0
		tcpSeg(2, true, decode.TCPSyn|decode.TCPAck, 0, ""),           // client 1, server 1
		tcpSeg(3, false, decode.TCPAck, 1, ""),                        // client 1, server 1
		tcpSeg(4, false, decode.TCPAck|decode.TCPPsh, 1, "hello"),     // client 6, server 1
		tcpSeg(5, true, decode.TCPAck|decode.TCPPsh, 1, "0123456789"), // client 6, server 11
		tcpSeg(6, false, decode.TCPAck|decode.TCPPsh, 6, "hel"),       // client 9, server 11
		udp(7, false, "x"), // no TCP session
	}
	got, _ := run(e.NewWorker(), pkts...)
	hits := map[uint32][]uint64{}
	for _, r := range got {
		hits[r.sid] = append(hits[r.sid], r.num)
	}
	want := map[uint32][]uint64{
		1: {4},
		2: {2, 3, 4},
		3: {5, 6},
		4: {5, 6},
		5: {4, 5, 6},
		6: {1},
		7: {4},                // packet 6 carries "hel" too, but the client then measures 9
		8: {1, 2, 3, 4, 5, 6}, // every TCP packet, not the UDP one
	}
	if fmt.Sprint(hits) != fmt.Sprint(want) {
		t.Errorf("alerts by sid (packet numbers):\n got %v\nwant %v", hits, want)
	}
}

// TestEngineStreamSizeNotIPOnly: a rule whose only test is stream_size
// must be evaluated on every packet, not once per flow direction as the
// engine does for IP-only rules.
func TestEngineStreamSizeNotIPOnly(t *testing.T) {
	e := engine(t, Options{}, `alert tcp any any -> any any (msg:"grown"; stream_size:client,>,3; sid:1;)`)
	for _, c := range e.sigs {
		if c.ipOnly {
			t.Fatalf("sid %d compiled as IP-only", c.sid)
		}
	}
	syn := tcpSeg(1, false, decode.TCPSyn, 0, "")
	syn.TCPAck = 0
	got, _ := run(e.NewWorker(), syn,
		tcpSeg(2, true, decode.TCPSyn|decode.TCPAck, 0, ""),
		tcpSeg(3, false, decode.TCPAck, 1, ""),
		tcpSeg(4, false, decode.TCPAck|decode.TCPPsh, 1, "abcd"))
	if !eq(sids(got), []uint32{1}) || got[0].num != 4 {
		t.Errorf("got %+v, want sid 1 on packet 4", got)
	}
}
