package ssh

import (
	"errors"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, c := range []struct {
		in                       string
		proto, software, comment string
		hasComment               bool
		err                      error
	}{
		{in: "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n", proto: "2.0", software: "OpenSSH_9.2p1", comment: "Debian-2+deb12u3", hasComment: true},
		{in: "SSH-2.0-tapwatchlab_1.0\r\n", proto: "2.0", software: "tapwatchlab_1.0"},
		{in: "SSH-1.99-Cisco-1.25\n", proto: "1.99", software: "Cisco-1.25"}, // bare LF; '-' in the software, as real servers send
		{in: "SSH-2.0-libssh-0.6.0", proto: "2.0", software: "libssh-0.6.0"},
		{in: "SSH-2.0-x \r\n", proto: "2.0", software: "x", comment: "", hasComment: true},
		{in: "HTTP/1.1 200 OK\r\n", err: ErrNotSSH},
		{in: "SSH-2.0\r\n", err: ErrMalformed},
		{in: "SSH--OpenSSH\r\n", err: ErrMalformed},
		{in: "SSH-2.0-\r\n", err: ErrMalformed},
		{in: "SSH-2.0 -x\r\n", err: ErrMalformed},
		{in: "SSH-2.0-Open\x00SSH\r\n", err: ErrMalformed},
		{in: "SSH-2.0-Open\rSSH\r\n", err: ErrMalformed},
		{in: "SSH-2.0-" + strings.Repeat("a", 246) + "\r\n", err: ErrTooLong},
	} {
		b, err := Parse([]byte(c.in))
		if c.err != nil {
			if !errors.Is(err, c.err) {
				t.Errorf("Parse(%q) error %v, want %v", c.in, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		line := strings.TrimRight(c.in, "\r\n")
		if string(b.Line) != line || string(b.ProtoVersion) != c.proto || string(b.SoftwareVersion) != c.software ||
			string(b.Comments) != c.comment || (b.Comments != nil) != c.hasComment {
			t.Errorf("Parse(%q) = line %q proto %q software %q comments %q (nil %v)", c.in, b.Line, b.ProtoVersion,
				b.SoftwareVersion, b.Comments, b.Comments == nil)
		}
	}
	// The longest line the RFC allows still parses.
	if _, err := Parse([]byte("SSH-2.0-" + strings.Repeat("a", 245) + "\r\n")); err != nil {
		t.Errorf("255-byte line: %v", err)
	}
}

func TestProbe(t *testing.T) {
	for in, want := range map[string]bool{"SSH-2.0-x\r\n": true, "SSH-": true, "SSH": false, "GET / HTTP/1.1": false, "": false, "ssh-2.0-x": false} {
		if got := Probe([]byte(in)); got != want {
			t.Errorf("Probe(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestParserSplitAndPreamble(t *testing.T) {
	var p Parser
	server := "Welcome to the lab\r\nauthorised use only\n" + "SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n" + "\x00\x00\x01\x14binary"
	for i := 0; i < len(server); i++ {
		p.Feed(ToClient, []byte{server[i]}) // one byte at a time
	}
	b, ok := p.Banner(ToClient)
	if !ok || string(b.Line) != "SSH-2.0-OpenSSH_9.2p1 Debian-2" || string(b.SoftwareVersion) != "OpenSSH_9.2p1" || !p.Done(ToClient) {
		t.Fatalf("server banner %+v %v, done %v err %v", b, ok, p.Done(ToClient), p.Err(ToClient))
	}
	if _, ok := p.Banner(ToServer); ok || p.Done(ToServer) {
		t.Fatal("client side has no banner yet")
	}
	data := []byte("SSH-2.0-tapwatchlab_client_1.0\r\nafter")
	p.Feed(ToServer, data)
	copy(data, "XXXXXXXXXXXXXXXXXXXXX") // the banner must not alias the caller's bytes
	if b, ok := p.Banner(ToServer); !ok || string(b.SoftwareVersion) != "tapwatchlab_client_1.0" {
		t.Fatalf("client banner %+v %v", b, ok)
	}
}

func TestParserBounds(t *testing.T) {
	var p Parser
	p.Feed(ToServer, []byte("SSH-2.0-"+strings.Repeat("a", 300)))
	if !p.Done(ToServer) || !errors.Is(p.Err(ToServer), ErrTooLong) {
		t.Errorf("a line that never ends: done %v err %v", p.Done(ToServer), p.Err(ToServer))
	}
	p.Feed(ToClient, []byte(strings.Repeat("hello\r\n", maxOtherLines+1)+"SSH-2.0-late\r\n"))
	if _, ok := p.Banner(ToClient); ok || !errors.Is(p.Err(ToClient), ErrTooLong) {
		t.Errorf("too many lines before the banner: err %v", p.Err(ToClient))
	}
	var q Parser
	q.Feed(ToServer, []byte("SSH-2.0\r\n"))
	if !q.Done(ToServer) || !errors.Is(q.Err(ToServer), ErrMalformed) {
		t.Errorf("malformed: err %v", q.Err(ToServer))
	}
}
