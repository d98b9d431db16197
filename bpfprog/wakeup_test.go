package bpfprog

import (
	"testing"
	"time"
)

// TestWakeupBatching: below WakeupBytes the program does not wake the
// reader, and the reader's poll interval bounds the wait; at or above it,
// the reader wakes at once.
func TestWakeupBatching(t *testing.T) {
	frame := udp4(vmA, vmB).Bytes()
	recordSize := uint32(HeaderSize + len(frame))

	t.Run("below the mark waits for the poll interval", func(t *testing.T) {
		o, _ := load(t, Options{Config: Config{WakeupBytes: 1 << 30}})
		r, err := o.NewReader(ReaderOptions{PollInterval: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		// Let the reader block first, so only a wake-up or the poll
		// interval can release it.
		got := make(chan time.Time, 1)
		go func() {
			var rec Record
			if r.Read(&rec) == nil {
				got <- time.Now()
			}
		}()
		time.Sleep(50 * time.Millisecond)
		start := time.Now()
		run(t, o, HookTapIngress, frame)
		select {
		case at := <-got:
			if d := at.Sub(start); d < 100*time.Millisecond {
				t.Fatalf("record arrived after %v: the program woke the reader below the mark", d)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("record never arrived: the poll interval did not bound the wait")
		}
	})

	t.Run("at the mark wakes at once", func(t *testing.T) {
		o, _ := load(t, Options{Config: Config{WakeupBytes: recordSize}})
		r, err := o.NewReader(ReaderOptions{PollInterval: 10 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		got := make(chan time.Time, 1)
		go func() {
			var rec Record
			if r.Read(&rec) == nil {
				got <- time.Now()
			}
		}()
		time.Sleep(50 * time.Millisecond)
		start := time.Now()
		run(t, o, HookTapIngress, frame)
		select {
		case at := <-got:
			if d := at.Sub(start); d > 2*time.Second {
				t.Fatalf("woken after %v", d)
			}
		case <-time.After(3 * time.Second):
			t.Fatal("reader not woken although the record reached the wake-up mark")
		}
	})
}
