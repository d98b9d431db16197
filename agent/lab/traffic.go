package lab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/vishvananda/netlink"
)

// Step is one scenario of the traffic generator.
type Step struct {
	Name string
	Does string // one line for the operator: what goes on the wire
	run  func(ctx context.Context, t *trafficRun) error
}

// Steps lists the traffic generator's scenarios in the order Traffic runs them.
func Steps() []Step {
	return []Step{
		{"http", "db and attacker fetch / from web with curl (normal traffic)", stepHTTP},
		{"tls", "db fetches / from web over TLS 1.2, asking for " + WebTLSName + " (SNI); web's certificate is for it", stepTLS},
		{"ssh", "db connects to web:22; both send SSH identification lines (" + SSHServerBanner + ")", stepSSH},
		{"traversal", "attacker requests /../../etc/passwd from web (curl --path-as-is)", stepTraversal},
		{"shellshock", "attacker sends a shellshock User-Agent to web's /cgi-bin/", stepShellshock},
		{"dns", "db resolves web.lab.example; attacker resolves " + SuspiciousDomain, stepDNS},
		{"portscan", "attacker TCP-connect scans 100 ports of db", stepPortScan},
		{"sweep", "attacker sends ICMP echo requests to 10.77.0.1-30", stepSweep},
		{"macspoof", "attacker changes its MAC, pings db, restores its MAC", stepMACSpoof},
		{"arpspoof", "attacker sends gratuitous ARP replies claiming db's IP", stepARPSpoof},
	}
}

type trafficRun struct {
	lab               *Lab
	out               io.Writer
	web, db, attacker VM
}

func (t *trafficRun) say(format string, args ...any) {
	fmt.Fprintf(t.out, "    "+format+"\n", args...)
}

// Traffic runs the named steps (all when names is empty) with real clients inside the lab's
// namespaces, saying what each does on out. A failing step is reported and the others still run;
// the returned error joins the failures.
func Traffic(ctx context.Context, l *Lab, out io.Writer, names ...string) error {
	t := &trafficRun{lab: l, out: out}
	for name, dst := range map[string]*VM{"web": &t.web, "db": &t.db, "attacker": &t.attacker} {
		vm, ok := l.VM(name)
		if !ok {
			return fmt.Errorf("lab config has no VM %q, which the traffic generator drives", name)
		}
		*dst = vm
	}
	steps, err := selectSteps(names)
	if err != nil {
		return err
	}
	dns, err := l.startDNS(l.Inet)
	if err != nil {
		return err
	}
	defer dns.Close()
	fmt.Fprintf(out, "lab traffic: DNS responder on inet %s:53\n", l.Inet.IP)
	srv, err := startHTTPServer(ctx, l, t.web)
	if err != nil {
		return err
	}
	defer srv.stop()
	fmt.Fprintf(out, "lab traffic: python3 http.server on web %s:80\n", t.web.IP)

	var errs error
	for _, s := range steps {
		if err := ctx.Err(); err != nil {
			return errors.Join(errs, err)
		}
		fmt.Fprintf(out, "==> %s: %s\n", s.Name, s.Does)
		if err := s.run(ctx, t); err != nil {
			fmt.Fprintf(out, "    FAILED: %v\n", err)
			errs = errors.Join(errs, fmt.Errorf("traffic step %s: %w", s.Name, err))
		}
	}
	return errs
}

func selectSteps(names []string) ([]Step, error) {
	all := Steps()
	if len(names) == 0 {
		return all, nil
	}
	var out []Step
	for _, n := range names {
		found := false
		for _, s := range all {
			if s.Name == n {
				out = append(out, s)
				found = true
			}
		}
		if !found {
			var known []string
			for _, s := range all {
				known = append(known, s.Name)
			}
			return nil, fmt.Errorf("unknown traffic step %q: choose from %s", n, strings.Join(known, ", "))
		}
	}
	return out, nil
}

// nsCommand runs argv inside vm's namespace through `ip netns exec`, which also gives the
// process the namespace's own /sys view.
func nsCommand(ctx context.Context, vm Node, argv ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", vm.Netns}, argv...)...)
}

type httpServer struct {
	cmd *exec.Cmd
	dir string
}

func startHTTPServer(ctx context.Context, l *Lab, web VM) (*httpServer, error) {
	py := "/usr/bin/python3"
	if _, err := os.Stat(py); err != nil {
		if py, err = exec.LookPath("python3"); err != nil {
			return nil, fmt.Errorf("find python3 for web's HTTP server: %w (install it: deploy/scripts/install-deps.sh)", err)
		}
	}
	dir, err := os.MkdirTemp("", "tapwatch-lab-www-")
	if err != nil {
		return nil, fmt.Errorf("create web's document root: %w", err)
	}
	// Served from a private directory so the traversal attempt cannot reach anything real.
	if err := os.WriteFile(filepath.Join(dir, "index.html"), []byte("<h1>web: tapwatch lab</h1>\n"), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("write web's index.html: %w", err)
	}
	cmd := exec.Command("ip", "netns", "exec", web.Netns, py, "-m", "http.server", "80",
		"--bind", web.IP.String(), "--directory", dir)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("start python3 http.server in %s: %w", web.Netns, err)
	}
	s := &httpServer{cmd: cmd, dir: dir}
	// The server is ready when a TCP connect from inside the lab succeeds.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var c net.Conn
		err := l.Do("db", func() error {
			var derr error
			c, derr = net.DialTimeout("tcp4", netip.AddrPortFrom(web.IP, 80).String(), 200*time.Millisecond)
			return derr
		})
		if err == nil {
			c.Close()
			return s, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			s.stop()
			return nil, fmt.Errorf("python3 http.server in %s did not accept connections on %s:80 within 10s: %w", web.Netns, web.IP, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (s *httpServer) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		_ = s.cmd.Process.Kill()
		<-done
	}
	os.RemoveAll(s.dir)
}

// curl runs curl in vm's namespace and reports the HTTP status it got.
func (t *trafficRun) curl(ctx context.Context, vm VM, args ...string) error {
	argv := append([]string{"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5"}, args...)
	t.say("%s$ %s", vm.Name, shellQuote(argv))
	out, err := nsCommand(ctx, vm, argv...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("curl from %s: %w: %s", vm.Name, err, strings.TrimSpace(string(out)))
	}
	t.say("-> HTTP %s", strings.TrimSpace(string(out)))
	return nil
}

func shellQuote(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		if strings.ContainsAny(a, " ;(){}'\"%$") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		q[i] = a
	}
	return strings.Join(q, " ")
}

func (t *trafficRun) webURL(path string) string {
	return "http://" + t.web.IP.String() + path
}

func stepHTTP(ctx context.Context, t *trafficRun) error {
	return errors.Join(
		t.curl(ctx, t.db, t.webURL("/")),
		t.curl(ctx, t.attacker, t.webURL("/index.html")),
	)
}

func stepTraversal(ctx context.Context, t *trafficRun) error {
	return t.curl(ctx, t.attacker, "--path-as-is", t.webURL("/../../etc/passwd"))
}

func stepShellshock(ctx context.Context, t *trafficRun) error {
	return t.curl(ctx, t.attacker, "-A", "() { :; }; /bin/cat /etc/passwd", t.webURL("/cgi-bin/status.cgi"))
}

func stepDNS(ctx context.Context, t *trafficRun) error {
	var errs error
	for _, q := range []struct {
		vm   VM
		name string
	}{{t.db, "web.lab.example"}, {t.attacker, SuspiciousDomain}} {
		ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		ips, err := t.lab.Resolve(ctx, q.vm.Name, q.name)
		cancel()
		if err != nil {
			errs = errors.Join(errs, err)
			continue
		}
		t.say("%s resolved %s -> %v (server %s)", q.vm.Name, q.name, ips, t.lab.Inet.IP)
	}
	return errs
}

// stepPortScan does what `nmap -sT` does, so the lab needs no scanner package; db listens on one
// port so the scan finds something.
func stepPortScan(ctx context.Context, t *trafficRun) error {
	const dbPort = 5432
	var ln net.Listener
	if err := t.lab.Do(t.db.Name, func() error {
		var err error
		ln, err = net.Listen("tcp4", netip.AddrPortFrom(t.db.IP, dbPort).String())
		return err
	}); err != nil {
		return fmt.Errorf("listen on db:%d for the scan to find: %w", dbPort, err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	ports := make([]int, 0, 100)
	for p := 1; p <= 99; p++ {
		ports = append(ports, p)
	}
	ports = append(ports, dbPort)
	var open []int
	closed := 0
	err := t.lab.Do(t.attacker.Name, func() error {
		for _, p := range ports {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			c, err := net.DialTimeout("tcp4", netip.AddrPortFrom(t.db.IP, uint16(p)).String(), 300*time.Millisecond)
			if err == nil {
				c.Close()
				open = append(open, p)
			} else {
				closed++
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	t.say("attacker scanned %d ports of db %s: open %v, %d closed", len(ports), t.db.IP, open, closed)
	return nil
}

func stepSweep(_ context.Context, t *trafficRun) error {
	var dsts []netip.Addr
	a := t.lab.Subnet.Addr().Next()
	for i := 0; i < 30; i++ {
		dsts = append(dsts, a)
		a = a.Next()
	}
	if err := t.lab.sendEchos(t.attacker.Name, dsts); err != nil {
		return err
	}
	t.say("attacker sent ICMP echo requests to %s-%s", dsts[0], dsts[len(dsts)-1])
	// Let the replies drain before the next step, so they do not mix with it on the wire.
	time.Sleep(200 * time.Millisecond)
	return nil
}

func stepMACSpoof(ctx context.Context, t *trafficRun) (err error) {
	// A MAC libvirt never gave the attacker: what the agent should flag against the inventory.
	spoofedMAC := net.HardwareAddr{0x52, 0x54, 0x00, 0xde, 0xad, 0x01}
	h, err := t.lab.Handle(t.attacker.Name)
	if err != nil {
		return err
	}
	defer h.Close()
	nic, err := h.LinkByName(t.attacker.IfName)
	if err != nil {
		return fmt.Errorf("find %s in %s: %w", t.attacker.IfName, t.attacker.Netns, err)
	}
	// Peers' neighbour caches would otherwise keep answering the old MAC, and the pings would
	// get no reply; flushing makes the spoofed MAC visible in ARP too, as in a real spoof.
	t.lab.flushNeighbours(t.attacker.IP)
	t.lab.flushNeighbours(t.db.IP)
	if err := h.LinkSetHardwareAddr(nic, spoofedMAC); err != nil {
		return fmt.Errorf("set attacker's MAC to %s: %w", spoofedMAC, err)
	}
	t.say("attacker %s: MAC %s -> %s", t.attacker.IfName, t.attacker.MAC, spoofedMAC)
	defer func() {
		rerr := h.LinkSetHardwareAddr(nic, t.attacker.MAC)
		if rerr != nil {
			err = errors.Join(err, fmt.Errorf("restore attacker's MAC %s: %w (run `tapwatch lab up` again)", t.attacker.MAC, rerr))
			return
		}
		t.lab.flushNeighbours(t.attacker.IP)
		t.lab.flushNeighbours(t.db.IP)
		t.say("attacker %s: MAC restored to %s", t.attacker.IfName, t.attacker.MAC)
	}()
	replies := 0
	for i := 0; i < 3; i++ {
		if t.lab.Ping(ctx, t.attacker.Name, t.db.IP, time.Second) == nil {
			replies++
		}
	}
	t.say("attacker pinged db %s 3 times from %s: %d replies", t.db.IP, spoofedMAC, replies)
	return nil
}

func stepARPSpoof(ctx context.Context, t *trafficRun) error {
	// web learns db's real MAC first, so the spoof has something to overwrite.
	if err := t.lab.Ping(ctx, t.web.Name, t.db.IP, time.Second); err != nil {
		t.say("web could not ping db first: %v", err)
	}
	// Linux ignores a second update of a neighbour entry within locktime (1 s by default).
	time.Sleep(1100 * time.Millisecond)
	if err := t.lab.SendGratuitousARP(t.attacker.Name, t.db.IP, t.attacker.MAC, 3); err != nil {
		return err
	}
	t.say("attacker sent 3 ARP replies: %s is-at %s (db is really %s)", t.db.IP, t.attacker.MAC, t.db.MAC)
	time.Sleep(100 * time.Millisecond)
	if mac, ok := t.lab.neighbour(t.web.Name, t.db.IP); ok {
		t.say("web's ARP entry for db now: %s", mac)
	}
	t.lab.flushNeighbours(t.db.IP)
	t.say("ARP caches flushed of %s: the lab is healthy again", t.db.IP)
	return nil
}

// flushNeighbours deletes ip's neighbour entries in every lab namespace; best effort, since a
// stale entry only delays traffic until the kernel re-resolves it.
func (l *Lab) flushNeighbours(ip netip.Addr) {
	for _, n := range l.nodes() {
		h, err := l.Handle(n.Name)
		if err != nil {
			continue
		}
		neighs, _ := h.NeighList(0, netlink.FAMILY_V4)
		for i := range neighs {
			if neighs[i].IP.Equal(ip.AsSlice()) {
				_ = h.NeighDel(&neighs[i])
			}
		}
		h.Close()
	}
}

func (l *Lab) neighbour(node string, ip netip.Addr) (net.HardwareAddr, bool) {
	h, err := l.Handle(node)
	if err != nil {
		return nil, false
	}
	defer h.Close()
	neighs, _ := h.NeighList(0, netlink.FAMILY_V4)
	for _, n := range neighs {
		if n.IP.Equal(ip.AsSlice()) && n.HardwareAddr != nil {
			return n.HardwareAddr, true
		}
	}
	return nil, false
}
