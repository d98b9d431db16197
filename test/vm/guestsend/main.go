// Command guestsend runs inside the e2e test guest (test/vm/build-guest.sh puts it in the
// initramfs): it sends one UDP datagram with a marker payload and a sequence number to the test's
// peer every interval, from one fixed source port, so the traffic is one flow that keeps going
// across a live migration and the test can count what tapwatch saw against what the guest sent.
//
// Payload: "TWQMARK boot=<hex> seq=<n>\n". It prints the same line on stdout (the serial console).
package main

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	peer := flag.String("peer", "10.99.0.1:5599", "destination address:port")
	sport := flag.Int("sport", 40555, "source port (fixed: one flow)")
	every := flag.Duration("every", 500*time.Millisecond, "interval between datagrams")
	flag.Parse()
	dst, err := net.ResolveUDPAddr("udp4", *peer)
	if err != nil {
		fmt.Fprintln(os.Stderr, "guestsend:", err)
		os.Exit(2)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	boot := hex.EncodeToString(b[:])
	var conn *net.UDPConn
	for conn == nil {
		// Unconnected, so an ICMP port unreachable from the peer never fails a later write.
		if conn, err = net.ListenUDP("udp4", &net.UDPAddr{Port: *sport}); err != nil {
			fmt.Fprintln(os.Stderr, "guestsend: listen:", err)
			time.Sleep(time.Second)
		}
	}
	t := time.NewTicker(*every)
	defer t.Stop()
	for seq := 1; ; seq++ {
		msg := fmt.Sprintf("TWQMARK boot=%s seq=%d\n", boot, seq)
		if _, err := conn.WriteToUDP([]byte(msg), dst); err != nil {
			fmt.Fprintf(os.Stdout, "guestsend: seq=%d: %v\n", seq, err)
		} else {
			fmt.Fprint(os.Stdout, msg)
		}
		<-t.C
	}
}
