package record

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// benchPackets records b.N packets of 512 bytes, a new flow every 16
// packets, from 4 VMs.
func benchPackets(b *testing.B, mode Mode, wait bool) *Recorder {
	dir := b.TempDir()
	r, err := New(dir, Options{SegmentBytes: 64 << 20, BudgetBytes: 512 << 20, QueueLen: 8192})
	if err != nil {
		b.Fatal(err)
	}
	vms := []string{"vm0", "vm1", "vm2", "vm3"}
	for _, vm := range vms {
		r.SetMode(vm, mode)
	}
	data := frame(1, 0, 512)
	ts := t0
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		ts = ts.Add(time.Microsecond)
		vm := vms[i%len(vms)]
		for !r.Packet(vm, "vnet0", ts, uint64(i/16), data, len(data)) && wait {
			time.Sleep(20 * time.Microsecond)
		}
	}
	if err := r.Close(); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "pkts/s")
	return r
}

// BenchmarkPacketAll is the sustained rate to disk: the caller waits when
// the queue is full, and the time includes the final flush.
func BenchmarkPacketAll(b *testing.B) {
	r := benchPackets(b, All, true)
	st := r.Stats()
	if st.Written != uint64(b.N) {
		b.Fatalf("written %d of %d", st.Written, b.N)
	}
	var idx int64
	files, _ := filepath.Glob(filepath.Join(r.dir, "*", indexName))
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			idx += fi.Size()
		}
	}
	b.ReportMetric(float64(idx)/float64(b.N), "idx-bytes/pkt")
}

// BenchmarkPacketAllNoWait is the caller's cost in All mode when the
// writer cannot keep up: packets beyond the queue are dropped and counted.
func BenchmarkPacketAllNoWait(b *testing.B) {
	r := benchPackets(b, All, false)
	b.ReportMetric(float64(r.Stats().Dropped)/float64(b.N), "dropped/pkt")
}

func BenchmarkPacketAlerts(b *testing.B) { benchPackets(b, Alerts, true) }

func BenchmarkPacketOff(b *testing.B) { benchPackets(b, Off, false) }
