package http

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/tapwatch/tapwatch/test/testutil"
)

// TestDumpStream parses one http-evader capture's streams and checks the
// parser made transactions of them. It doubles as a debugging aid:
// HTTP_DUMP=http-evader-NNN picks the capture and prints the server stream
// and every transaction's response.
func TestDumpStream(t *testing.T) {
	name, out := os.Getenv("HTTP_DUMP"), io.Writer(os.Stdout)
	if name == "" {
		name, out = "http-evader-001", io.Discard
	}
	st, err := readStreams(filepath.Join(testutil.Corpus(t), "suricata-verify", "http-evader", name, "input.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	p := NewParser(Config{DecompressLayerLimit: 3})
	p.Feed(ToServer, st.client, true)
	p.Feed(ToClient, st.server, true)
	var dump bytes.Buffer
	fmt.Fprintf(&dump, "%q\n", st.server)
	for _, tx := range p.Txs() {
		fmt.Fprintf(&dump, "tx %d status=%q hdrs=%d events=%v body=%q\n", tx.ID, tx.StatusCode, len(tx.ResponseHeaders), tx.Events, tx.ResponseBody)
		for _, h := range tx.ResponseHeaders {
			fmt.Fprintf(&dump, "   %q: %q\n", h.Name, h.Value)
		}
	}
	if _, err := out.Write(dump.Bytes()); err != nil {
		t.Fatal(err)
	}
	if len(p.Txs()) == 0 || !p.Txs()[0].RequestLineDone {
		t.Fatalf("%s: no transaction parsed from %d request bytes", name, len(st.client))
	}
}
