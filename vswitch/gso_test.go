package vswitch

import (
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/bpfprog"
)

// TestGSOFramesAreCapped: TCP over veth hands the hook GSO super-frames far
// larger than the snaplen; records keep the original length, carry at most
// snaplen bytes, and are counted as too big.
func TestGSOFramesAreCapped(t *testing.T) {
	p := newBenchPair(t)
	p.attach(t, true)
	p.reader.Close() // read directly below instead
	p.wg.Wait()
	r, err := p.objs.NewReader(bpfprog.ReaderOptions{PollInterval: 5 * time.Millisecond})
	must(t, err)
	defer r.Close()
	if n := p.tcpRound(t, 200*time.Millisecond); n == 0 {
		t.Fatal("no TCP data moved")
	}
	var rec bpfprog.Record
	var big int
	for {
		r.SetDeadline(time.Now().Add(100 * time.Millisecond))
		if r.Read(&rec) != nil {
			break
		}
		if rec.CapLen > bpfprog.DefaultSnaplen || int(rec.CapLen) != len(rec.Data) {
			t.Fatalf("record %+v with %d bytes exceeds snaplen %d", rec.Header, len(rec.Data), bpfprog.DefaultSnaplen)
		}
		if rec.OrigLen > bpfprog.DefaultSnaplen {
			big++
			if rec.Flags&bpfprog.FlagTruncated == 0 || rec.CapLen != bpfprog.DefaultSnaplen {
				t.Fatalf("large frame not marked truncated: %+v", rec.Header)
			}
		}
	}
	c := p.counters(t)
	if big == 0 || c.TooBig == 0 {
		t.Fatalf("no frame above the snaplen seen (records %d, counters %+v)", big, c)
	}
	t.Logf("%d frames above snaplen; counters %+v", big, c)
}
