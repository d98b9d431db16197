// Command guestsend runs inside the e2e test guest (test/vm/build-guest.sh puts it in the
// initramfs). Every interval it sends two UDP datagrams with a marker payload and a sequence
// number to the test's peer:
//
//   - "fixed": from one fixed source port, so it is one flow that keeps going across a live
//     migration;
//   - "seq": from source port sport-base+seq, so each datagram is its own flow and an EVE alert
//     (which carries src_port but no payload) names the sequence number it was raised for.
//
// Payload: "TWQMARK boot=<hex> seq=<n> flow=fixed|seq\n". It prints the lines on stdout (the
// serial console).
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
	sport := flag.Int("sport", 40555, "source port of the fixed flow")
	base := flag.Int("sport-base", 20000, "source port of datagram seq is sport-base+seq (wraps below 60000)")
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
		send(conn, dst, fmt.Sprintf("TWQMARK boot=%s seq=%d flow=fixed\n", boot, seq))
		port := *base + seq%(60000-*base)
		if c, err := net.ListenUDP("udp4", &net.UDPAddr{Port: port}); err != nil {
			fmt.Fprintf(os.Stdout, "guestsend: seq=%d: port %d: %v\n", seq, port, err)
		} else {
			send(c, dst, fmt.Sprintf("TWQMARK boot=%s seq=%d flow=seq\n", boot, seq))
			c.Close()
		}
		<-t.C
	}
}

func send(c *net.UDPConn, dst *net.UDPAddr, msg string) {
	if _, err := c.WriteToUDP([]byte(msg), dst); err != nil {
		fmt.Fprintf(os.Stdout, "guestsend: %s: %v\n", msg[:len(msg)-1], err)
		return
	}
	fmt.Fprint(os.Stdout, msg)
}
