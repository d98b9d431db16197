package bpfprog

import (
	"bytes"
	"fmt"
	"testing"
)

// TestCaptureMethodsAgree: both capture paths yield the same records for
// every size class boundary and snaplen.
func TestCaptureMethodsAgree(t *testing.T) {
	for _, capture := range []Capture{CaptureCopy, CaptureReserve} {
		o, r := load(t, Options{Config: Config{Capture: capture}})
		for _, snap := range []uint32{1, 64, 128, 129, 2048, MaxSnaplen} {
			if err := o.SetConfig(Config{Capture: capture, Snaplen: snap}); err != nil {
				t.Fatal(err)
			}
			for _, payload := range []int{0, 86, 87, 470, 1458, 2006, 2007, 3500} {
				f := udp4(vmA, vmB)
				f.Payload = bytes.Repeat([]byte{byte(payload)}, payload)
				frame := f.Bytes()
				name := fmt.Sprintf("capture %d snaplen %d frame %d", capture, snap, len(frame))
				run(t, o, HookTapIngress, frame)
				rec := next(t, r)
				want := frame[:min(uint32(len(frame)), snap)]
				if !bytes.Equal(rec.Data, want) || rec.CapLen != uint32(len(want)) || rec.OrigLen != uint32(len(frame)) {
					t.Fatalf("%s: record %+v with %d bytes", name, rec.Header, len(rec.Data))
				}
				if trunc := rec.Flags&FlagTruncated != 0; trunc != (len(want) < len(frame)) {
					t.Fatalf("%s: truncated flag %v", name, trunc)
				}
			}
		}
		counters(t, o, HookTapIngress)
	}
}
