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
//
// Beside them, every app-every, it sends traffic whose application-layer names a VM's profile
// shows (apps.go), to the same peer address and nowhere else: a DNS query (type A) for dns-name
// to UDP dns-port, each from its own source port dns-sport-base+n, so each query is its own
// flow; and an HTTP/1.1 request with Host http-host and User-Agent user-agent to TCP http-port.
// It runs on its own, so a peer that answers slowly or not at all never delays the markers.
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
	var app appConfig
	flag.StringVar(&app.dnsName, "dns-name", "qemu-guest.tapwatch.test", `name of the DNS query sent to the peer ("": none)`)
	flag.IntVar(&app.dnsPort, "dns-port", 53, "UDP port of the peer the DNS queries go to")
	flag.IntVar(&app.dnsBase, "dns-sport-base", 10000, "source port of DNS query n is dns-sport-base+n%5000 (keep it clear of sport-base's range)")
	flag.IntVar(&app.httpPort, "http-port", 8080, "TCP port of the peer the HTTP requests go to (0: none)")
	flag.StringVar(&app.httpHost, "http-host", "qemu-peer.tapwatch.test", "Host header of the HTTP requests")
	flag.StringVar(&app.userAgent, "user-agent", "tapwatch-guestsend/1", "User-Agent header of the HTTP requests")
	flag.DurationVar(&app.every, "app-every", 2*time.Second, "interval between DNS queries and between HTTP requests")
	flag.Parse()
	dst, err := net.ResolveUDPAddr("udp4", *peer)
	if err != nil {
		fmt.Fprintln(os.Stderr, "guestsend:", err)
		os.Exit(2)
	}
	app.peer = dst.IP
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
	go app.run() // apps.go
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
