package testutil

import (
	"bytes"
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

func TestReadFlowsTCP(t *testing.T) {
	// A full handshake, then an HTTP exchange whose response holds
	// "uid=0(root)".
	flows := ReadFlows(t, CorpusPath(t, "suricata-verify", "flowbit-oring", "input.pcap"))
	if len(flows) != 1 {
		t.Fatalf("%d flows, want 1", len(flows))
	}
	f := flows[0]
	if f.Proto != decode.ProtoTCP || !f.Key.HasPort(80) || f.Client.Port() == 80 {
		t.Fatalf("flow %+v: want TCP to port 80 from the client", f.Key)
	}
	if !bytes.HasPrefix(f.Stream(0), []byte("GET /")) || !bytes.HasPrefix(f.Stream(1), []byte("HTTP/1.1 200")) ||
		!bytes.Contains(f.Stream(1), []byte("uid=0(root)")) {
		t.Errorf("streams not reassembled: to server %q, to client %q", f.Stream(0), f.Stream(1))
	}
	if f.UDP(0) != nil || f.UDP(1) != nil {
		t.Error("a TCP flow has UDP payloads")
	}
}

func TestReadFlowsUDP(t *testing.T) {
	flows := ReadFlows(t, CorpusPath(t, "suricata-verify", "dns", "dns-query", "dns-detect-query-02", "input.pcap"))
	n := 0
	for _, f := range flows {
		if f.Proto == decode.ProtoUDP && f.Key.HasPort(53) {
			n += len(f.UDP(0)) + len(f.UDP(1))
			if f.Stream(0) != nil {
				t.Error("a UDP flow has a stream")
			}
		}
	}
	if n == 0 {
		t.Fatalf("no UDP port-53 payloads in %d flows", len(flows))
	}
}

func TestReadFlowsNotACapture(t *testing.T) {
	if flows := ReadFlows(t, CorpusPath(t, "suricata-verify", "flowbit-oring", "test.rules")); flows != nil {
		t.Fatalf("%d flows from a rules file", len(flows))
	}
}
