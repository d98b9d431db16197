package bpfprog

import (
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/tapwatch/tapwatch/test/testutil"
)

// BenchmarkProgram measures the program's own cost per packet in the kernel
// (BPF_PROG_TEST_RUN with repeat), per outcome, for 64-byte and 1514-byte
// frames, with both capture paths (copy through scratch, reserve a size
// class); a reader drains the ring meanwhile.
func BenchmarkProgram(b *testing.B) {
	testutil.RequireRoot(b)
	small := udp4(vmA, vmB)
	small.Payload = make([]byte, 22) // 64-byte frame
	big := udp4(vmA, vmB)
	big.Payload = make([]byte, 1458) // 1514-byte frame
	reserve := func(o *Objects) {
		o.SetConfig(Config{Snaplen: MaxSnaplen, WakeupBytes: ringBytesForBench() / 4, Capture: CaptureReserve})
	}
	cases := []struct {
		name  string
		hook  Hook
		frame []byte
		setup func(*Objects)
	}{
		{"sent-64B", HookTapIngress, small.Bytes(), nil},
		{"sent-64B-reserve", HookTapIngress, small.Bytes(), reserve},
		{"sent-1514B", HookTapIngress, big.Bytes(), nil},
		{"sent-1514B-reserve", HookTapIngress, big.Bytes(), reserve},
		{"skipped", HookTapEgress, small.Bytes(), func(o *Objects) { o.MonitoredMACs().Add(vmA, 1) }},
		{"bypassed", HookTapIngress, small.Bytes(), func(o *Objects) {
			o.Bypass().Add(FlowKey{Proto: 17, Src: ip4A, Dst: ip4B, SrcPort: 40000, DstPort: 53})
		}},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			o, err := Load(Options{RingBytes: ringBytesForBench(), Config: Config{Snaplen: MaxSnaplen, WakeupBytes: ringBytesForBench() / 4}})
			if err != nil {
				b.Fatal(err)
			}
			defer o.Close()
			if tc.setup != nil {
				tc.setup(o)
			}
			r, err := o.NewReader(ReaderOptions{PollInterval: time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				var rec Record
				for r.Read(&rec) == nil {
				}
			}()
			b.ResetTimer()
			// Runs in chunks so that the reader keeps up.
			left := b.N
			var total time.Duration
			for left > 0 {
				n := min(left, 2000)
				_, d, err := o.Program(tc.hook).Benchmark(tc.frame, n, nil)
				if err != nil {
					b.Fatal(err)
				}
				total += d * time.Duration(n)
				left -= n
			}
			b.StopTimer()
			r.Close()
			wg.Wait()
			c, _ := o.Counters(loIfindex, tc.hook)
			b.ReportMetric(float64(total.Nanoseconds())/float64(b.N), "ns/pkt-in-kernel")
			b.ReportMetric(float64(c.RingFull)/float64(c.Seen), "ringfull-fraction")
		})
	}
}

// BenchmarkReader measures how many records per second one Go reader
// drains (64-byte frames, 104-byte records): the ring is filled by the
// program first (BPF_PROG_TEST_RUN with repeat), then only the drain is
// timed, so the figure is the reader's, not the producer's.
func BenchmarkReader(b *testing.B) {
	testutil.RequireRoot(b)
	o, err := Load(Options{RingBytes: 32 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer o.Close()
	r, err := o.NewReader(ReaderOptions{PollInterval: time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	f := udp4(vmA, vmB)
	f.Payload = make([]byte, 22)
	frame := f.Bytes()
	var drained time.Duration
	var rec Record
	b.StopTimer()
	for left := b.N; left > 0; {
		n := min(left, 200000) // fits the ring
		if _, err := o.Program(HookTapIngress).Run(&ebpf.RunOptions{Data: frame, Repeat: uint32(n)}); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		b.StartTimer()
		for i := 0; i < n; i++ {
			if err := r.Read(&rec); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		drained += time.Since(start)
		left -= n
	}
	c, _ := o.Counters(loIfindex, HookTapIngress)
	if c.RingFull != 0 {
		b.Fatalf("ring overflowed while filling: %+v", c)
	}
	b.ReportMetric(float64(b.N)/drained.Seconds(), "records/s")
}

func ringBytesForBench() uint32 {
	if v, err := strconv.Atoi(os.Getenv("TW_BENCH_RING")); err == nil && v > 0 {
		return uint32(v)
	}
	return DefaultRingBytes
}
