package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"
)

// appConfig is the traffic guestsend sends for the application-layer names a VM's profile
// shows: DNS queries and HTTP requests to the peer.
type appConfig struct {
	peer      net.IP
	dnsName   string
	dnsPort   int
	dnsBase   int
	httpPort  int
	httpHost  string
	userAgent string
	every     time.Duration
}

// run sends a DNS query and an HTTP request every a.every, for ever. Each prints one line on
// stdout (the serial console): "TWQDNS n=<n> sport=<port> name=<name>" once the query is
// sent, "TWQHTTP n=<n> sport=<port> <status line>" once the response is read, or the error.
func (a *appConfig) run() {
	var query []byte
	if a.dnsName != "" {
		var err error
		if query, err = dnsQuery(a.dnsName); err != nil {
			fmt.Fprintf(os.Stdout, "guestsend: dns: %v\n", err)
		}
	}
	if query == nil && a.httpPort == 0 {
		return
	}
	t := time.NewTicker(a.every)
	defer t.Stop()
	for n := 1; ; n++ {
		if query != nil {
			a.sendDNS(n, query)
		}
		if a.httpPort != 0 {
			a.sendHTTP(n)
		}
		<-t.C
	}
}

// sendDNS sends query n from its own source port, so every query is a flow of its own. The peer
// need not answer: a query's name is what the profile shows.
func (a *appConfig) sendDNS(n int, query []byte) {
	port := a.dnsBase + n%5000
	c, err := net.ListenUDP("udp4", &net.UDPAddr{Port: port})
	if err != nil {
		fmt.Fprintf(os.Stdout, "guestsend: dns n=%d: port %d: %v\n", n, port, err)
		return
	}
	defer c.Close()
	binary.BigEndian.PutUint16(query, uint16(n)) // the message ID
	if _, err := c.WriteToUDP(query, &net.UDPAddr{IP: a.peer, Port: a.dnsPort}); err != nil {
		fmt.Fprintf(os.Stdout, "guestsend: dns n=%d: %v\n", n, err)
		return
	}
	fmt.Fprintf(os.Stdout, "TWQDNS n=%d sport=%d name=%s\n", n, port, a.dnsName)
}

// sendHTTP makes one HTTP/1.1 request on a new connection and reads the response to its end.
func (a *appConfig) sendHTTP(n int) {
	c, err := net.DialTimeout("tcp4", net.JoinHostPort(a.peer.String(), fmt.Sprint(a.httpPort)), 2*time.Second)
	if err != nil {
		fmt.Fprintf(os.Stdout, "guestsend: http n=%d: %v\n", n, err)
		return
	}
	defer c.Close()
	sport := c.LocalAddr().(*net.TCPAddr).Port
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	req := "GET /guestsend HTTP/1.1\r\nHost: " + a.httpHost + "\r\nUser-Agent: " + a.userAgent +
		"\r\nAccept: */*\r\nConnection: close\r\n\r\n"
	if _, err := c.Write([]byte(req)); err != nil {
		fmt.Fprintf(os.Stdout, "guestsend: http n=%d sport=%d: %v\n", n, sport, err)
		return
	}
	r := bufio.NewReader(c)
	status, err := r.ReadString('\n')
	if err != nil {
		fmt.Fprintf(os.Stdout, "guestsend: http n=%d sport=%d: response: %v\n", n, sport, err)
		return
	}
	// The rest of the response, so the connection ends with the server's FIN, not a reset.
	_, _ = r.WriteTo(io.Discard)
	fmt.Fprintf(os.Stdout, "TWQHTTP n=%d sport=%d %s\n", n, sport, strings.TrimSpace(status))
}

// dnsQuery returns a DNS query message (RFC 1035) for name, type A, class IN, recursion
// desired; its first two bytes are the ID, set per query.
func dnsQuery(name string) ([]byte, error) {
	name = strings.TrimSuffix(name, ".")
	if name == "" || len(name) > 253 {
		return nil, fmt.Errorf("bad DNS name %q", name)
	}
	msg := []byte{0, 0, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0} // ID, flags RD, QDCOUNT 1
	for _, l := range strings.Split(name, ".") {
		if l == "" || len(l) > 63 {
			return nil, errors.New("bad DNS label in " + name)
		}
		msg = append(msg, byte(len(l)))
		msg = append(msg, l...)
	}
	return append(msg, 0, 0, 1, 0, 1), nil // root, QTYPE A, QCLASS IN
}
