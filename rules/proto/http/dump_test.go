package http

import (
	"fmt"
	"github.com/tapwatch/tapwatch/test/testutil"
	"os"
	"path/filepath"
	"testing"
)

// TestDumpStream prints one capture's server stream and the parse result;
// a debugging aid, run with HTTP_DUMP=http-evader-NNN.
func TestDumpStream(t *testing.T) {
	name := os.Getenv("HTTP_DUMP")
	if name == "" {
		t.Skip("set HTTP_DUMP to a test name")
	}
	st, err := readStreams(filepath.Join(testutil.Corpus(t), "suricata-verify", "http-evader", name, "input.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("%q\n", st.server)
	p := NewParser(Config{DecompressLayerLimit: 3})
	p.Feed(ToServer, st.client, true)
	p.Feed(ToClient, st.server, true)
	for _, tx := range p.Txs() {
		fmt.Printf("tx %d status=%q hdrs=%d events=%v body=%q\n", tx.ID, tx.StatusCode, len(tx.ResponseHeaders), tx.Events, tx.ResponseBody)
		for _, h := range tx.ResponseHeaders {
			fmt.Printf("   %q: %q\n", h.Name, h.Value)
		}
	}
}
