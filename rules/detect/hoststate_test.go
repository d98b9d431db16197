package detect

import (
	"fmt"
	"testing"
	"time"
)

// Two Workers of one Engine stand for the pipeline's shards, which see
// different flows of the same host: a threshold counts the host's matches
// on both, and an xbit one sets is seen by the other.
func TestHostStateSharedByWorkers(t *testing.T) {
	e := engine(t, Options{}, `alert tcp any any -> any 80 (msg:"scan"; flow:to_server; flags:S; threshold:type threshold,track by_src,count 4,seconds 60; sid:1;)
alert udp any any -> any 53 (msg:"set"; content:"evil"; xbits:set,bad,track ip_src,expire 60; xbits:noalert; sid:2;)
alert tcp any any -> any 80 (msg:"bad host"; flow:to_server; xbits:isset,bad,track ip_src; sid:3;)
`)
	const a, srv, dns = "10.0.0.1", "10.0.0.2", "8.8.8.8"
	w1, w2 := e.NewWorker(), e.NewWorker()
	var got []rec
	for i := range 4 {
		w := []*Worker{w1, w2}[i%2]
		r, _ := run(w, syn4(i+1, time.Duration(i)*time.Millisecond, a, srv, uint16(40000+i)))
		got = append(got, r...)
	}
	if h := hitsBySID(got); h != "map[1:[4]]" {
		t.Errorf("threshold over two workers: alerts %s, want the 4th SYN (map[1:[4]])", h)
	}
	got, _ = run(w1, udp4(10, 10*time.Millisecond, a, dns, "evil"))
	r, _ := run(w2, syn4(11, 11*time.Millisecond, a, srv, 41000))
	if h := hitsBySID(append(got, r...)); h != "map[3:[11]]" {
		t.Errorf("xbit set on one worker, tested on the other: alerts %s, want map[3:[11]]", h)
	}
}

// The threshold counters stay under threshMax whatever the number of
// sources, and counters whose window ended are forgotten.
func TestThresholdCountersBounded(t *testing.T) {
	e := engine(t, Options{}, `alert udp any any -> any 53 (msg:"q"; content:"q"; threshold:type limit,track by_src,count 1,seconds 10; sid:1;)`)
	w := e.NewWorker()
	n := threshMax + 100
	for i := range n {
		src := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		run(w, udp4(i+1, time.Duration(i)*time.Microsecond, src, "8.8.8.8", "q"))
	}
	h := e.hosts
	if len(h.thresh) > threshMax || h.evictedThresh == 0 {
		t.Fatalf("%d counters held, %d evicted; want at most %d and some evicted", len(h.thresh), h.evictedThresh, threshMax)
	}
	if d := e.StateDrops(); d.Thresholds != h.evictedThresh {
		t.Errorf("StateDrops reports %d threshold counters dropped, the table %d", d.Thresholds, h.evictedThresh)
	}
	h.sweep(t0.Add(time.Minute))
	if len(h.thresh) != 0 {
		t.Fatalf("%d counters left after their 10 s window ended", len(h.thresh))
	}
}
