package lab

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// The names the TLS and SSH steps put on the wire, so a VM's profile
// (`tapwatch vms show`) has something to show and tests something to find.
const (
	// WebTLSName is the name web's certificate is for and db asks for (SNI).
	WebTLSName = "web.lab.example"
	// SSHServerBanner and SSHClientBanner are the identification lines
	// web's SSH listener and db's client send (RFC 4253 §4.2).
	SSHServerBanner = "SSH-2.0-tapwatchlab_1.0"
	SSHClientBanner = "SSH-2.0-tapwatchlab_client_1.0 lab"
)

// labServer is a listener inside a lab namespace serving each connection
// with handle until stop.
type labServer struct {
	ln   net.Listener
	wg   sync.WaitGroup
	errs chan error
}

// listenIn listens on addr inside node's namespace: the socket belongs to
// the namespace it was created in, so accepting on any thread is fine.
func (l *Lab) listenIn(node string, addr netip.AddrPort, handle func(net.Conn) error) (*labServer, error) {
	var ln net.Listener
	if err := l.Do(node, func() error {
		var err error
		ln, err = net.Listen("tcp4", addr.String())
		return err
	}); err != nil {
		return nil, fmt.Errorf("listen on %s in %s: %w", addr, node, err)
	}
	s := &labServer{ln: ln, errs: make(chan error, 16)}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				if err := handle(c); err != nil {
					select {
					case s.errs <- err:
					default:
					}
				}
			}()
		}
	}()
	return s, nil
}

// stop closes the listener, waits for the connections being served and
// returns the first error one of them had.
func (s *labServer) stop() error {
	s.ln.Close()
	s.wg.Wait()
	select {
	case err := <-s.errs:
		return err
	default:
		return nil
	}
}

// dialFrom connects from node's namespace.
func (l *Lab) dialFrom(ctx context.Context, node string, addr netip.AddrPort) (net.Conn, error) {
	var c net.Conn
	err := l.Do(node, func() error {
		d := net.Dialer{Timeout: 3 * time.Second}
		var err error
		c, err = d.DialContext(ctx, "tcp4", addr.String())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("connect from %s to %s: %w", node, addr, err)
	}
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	return c, nil
}

// selfSigned makes a certificate for name (subject CN and DNS SAN) valid
// for a day.
func selfSigned(name string) (tls.Certificate, *x509.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("generate a key for %s: %w", name, err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject: pkix.Name{CommonName: name, Organization: []string{"tapwatch lab"}}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("self-sign a certificate for %s: %w", name, err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, fmt.Errorf("read back the certificate for %s: %w", name, err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, leaf, nil
}

// stepTLS runs a TLS server on web:443 and has db fetch / from it, asking
// for WebTLSName and verifying the certificate. TLS 1.2 is the highest
// version offered because TLS 1.3 encrypts the server's certificate: a
// passive observer (tapwatch, or any IDS) sees its names only up to 1.2.
func stepTLS(ctx context.Context, t *trafficRun) error {
	cert, leaf, err := selfSigned(WebTLSName)
	if err != nil {
		return err
	}
	addr := netip.AddrPortFrom(t.web.IP, 443)
	srvCfg := &tls.Config{Certificates: []tls.Certificate{cert}, MaxVersion: tls.VersionTLS12}
	srv, err := t.lab.listenIn(t.web.Name, addr, func(c net.Conn) error {
		tc := tls.Server(c, srvCfg)
		if _, err := bufio.NewReader(tc).ReadString('\n'); err != nil {
			return fmt.Errorf("web's TLS server: read request: %w", err)
		}
		body := "<h1>web over TLS</h1>\n"
		_, err := fmt.Fprintf(tc, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
		return errors.Join(err, tc.Close())
	})
	if err != nil {
		return err
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	c, err := t.lab.dialFrom(ctx, t.db.Name, addr)
	if err != nil {
		return errors.Join(err, srv.stop())
	}
	tc := tls.Client(c, &tls.Config{ServerName: WebTLSName, RootCAs: roots, MaxVersion: tls.VersionTLS12})
	_, err = fmt.Fprintf(tc, "GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: tapwatch-lab\r\n\r\n", WebTLSName)
	var status string
	if err == nil {
		status, err = bufio.NewReader(tc).ReadString('\n')
	}
	if err == nil {
		st := tc.ConnectionState()
		t.say("db -> web %s: TLS 1.2 with SNI %s, certificate for %v: %s", addr, st.ServerName,
			st.PeerCertificates[0].DNSNames, strings.TrimSpace(status))
	}
	err = errors.Join(err, tc.Close())
	if err != nil {
		err = fmt.Errorf("TLS from db to web %s: %w", addr, err)
	}
	return errors.Join(err, srv.stop())
}

// stepSSH runs a listener on web:22 that speaks SSH's first step, the
// identification line (RFC 4253 §4.2), and has db connect and answer with
// its own: what an SSH server and client put on the wire before the key
// exchange. Nothing past the lines is exchanged.
func stepSSH(ctx context.Context, t *trafficRun) error {
	addr := netip.AddrPortFrom(t.web.IP, 22)
	srv, err := t.lab.listenIn(t.web.Name, addr, func(c net.Conn) error {
		if _, err := io.WriteString(c, SSHServerBanner+"\r\n"); err != nil {
			return fmt.Errorf("web's SSH listener: %w", err)
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil {
			return fmt.Errorf("web's SSH listener: read the client's line: %w", err)
		}
		if !strings.HasPrefix(line, "SSH-2.0-") {
			return fmt.Errorf("web's SSH listener: client sent %q", line)
		}
		return nil
	})
	if err != nil {
		return err
	}
	c, err := t.lab.dialFrom(ctx, t.db.Name, addr)
	if err != nil {
		return errors.Join(err, srv.stop())
	}
	// Like OpenSSH, the client sends its line without waiting for the
	// server's.
	_, err = io.WriteString(c, SSHClientBanner+"\r\n")
	var line string
	if err == nil {
		line, err = bufio.NewReader(c).ReadString('\n')
	}
	if err == nil {
		t.say("db -> web %s: server says %q, db says %q", addr, strings.TrimSpace(line), SSHClientBanner)
	}
	err = errors.Join(err, c.Close())
	if err != nil {
		err = fmt.Errorf("SSH identification from db to web %s: %w", addr, err)
	}
	return errors.Join(err, srv.stop())
}
