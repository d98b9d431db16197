package rules

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/tapwatch/tapwatch/rules/keyword"
)

// errNoRule marks blank and comment lines, which are not errors.
var errNoRule = errors.New("no rule")

// ParseFile parses every rule in the file at path. It returns the rules
// that parsed and one error per rule that did not; a bad rule never stops
// the rest.
func ParseFile(path string, vars Vars) ([]*Rule, []error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, []error{fmt.Errorf("open rule file %s: %w", path, err)}
	}
	defer f.Close()
	return ParseReader(path, f, vars)
}

// segment maps a stretch of a joined multi-line rule back to its source.
type segment struct {
	off, line, col int
}

type posMap []segment

func (m posMap) at(off int) (line, col int) {
	i := sort.Search(len(m), func(i int) bool { return m[i].off > off }) - 1
	if i < 0 {
		i = 0
	}
	s := m[i]
	return s.line, s.col + off - s.off
}

// ParseReader parses rules from r; name is used in error positions.
func ParseReader(name string, r io.Reader, vars Vars) ([]*Rule, []error) {
	var rs []*Rule
	var errs []error
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	lineNo := 0
	var buf strings.Builder
	var pm posMap
	startLine := 0
	flush := func() {
		text := buf.String()
		m := pm
		buf.Reset()
		pm = nil
		if strings.TrimSpace(text) == "" {
			return
		}
		rule, err := parseRule(name, text, m, vars)
		if err != nil {
			if err != errNoRule {
				errs = append(errs, err)
			}
			return
		}
		rule.Line = startLine
		rs = append(rs, rule)
	}
	for sc.Scan() {
		lineNo++
		line := sc.Text()
		if buf.Len() == 0 {
			t := strings.TrimSpace(line)
			if t == "" || strings.HasPrefix(t, "#") {
				continue
			}
			startLine = lineNo
		}
		trimmed := strings.TrimRight(line, " \t\r")
		cont := strings.HasSuffix(trimmed, "\\")
		if cont {
			trimmed = trimmed[:len(trimmed)-1]
		}
		pm = append(pm, segment{off: buf.Len(), line: lineNo, col: 1})
		buf.WriteString(trimmed)
		if !cont {
			flush()
		}
	}
	if err := sc.Err(); err != nil {
		errs = append(errs, fmt.Errorf("read %s: %w", name, err))
	}
	flush()
	return rs, errs
}

// ParseRule parses a single rule line (no continuation handling).
func ParseRule(text string, vars Vars) (*Rule, error) {
	r, err := parseRule("rule", text, posMap{{0, 1, 1}}, vars)
	if err == errNoRule {
		return nil, fmt.Errorf("empty rule")
	}
	return r, err
}

var actions = map[string]string{
	"alert": "alert", "drop": "drop", "reject": "reject", "rejectsrc": "rejectsrc",
	"rejectdst": "rejectdst", "rejectboth": "rejectboth", "pass": "pass",
	"block": "drop", "sdrop": "drop", "log": "alert", "config": "",
}

// L4 protocols a header may name; anything else is taken as an app-layer
// protocol name.
var headerProtos = map[string]bool{
	"ip": true, "tcp": true, "udp": true, "icmp": true, "icmpv4": true, "icmpv6": true,
	"tcp-pkt": true, "tcp-stream": true, "ipv4": true, "ipv6": true, "ip4": true, "ip6": true,
	"sctp": true, "pkthdr": true,
	"http": true, "http1": true, "http2": true, "dns": true, "tls": true, "ftp": true, "ftp-data": true,
	"smtp": true, "ssh": true, "smb": true, "dcerpc": true, "nfs": true, "dnp3": true, "modbus": true,
	"enip": true, "tftp": true, "ikev2": true, "ike": true, "krb5": true, "ntp": true, "dhcp": true,
	"snmp": true, "sip": true, "rfb": true, "mqtt": true, "rdp": true, "imap": true, "pop3": true,
	"websocket": true, "ldap": true, "pgsql": true, "telnet": true, "quic": true, "bittorrent-dht": true,
	"file": true, "ssl": true, "netbios-ssn": true, "mdns": true, "doh2": true, "template": true, "irc": true,
	"nntp": true,
}

func parseRule(file, text string, pm posMap, vars Vars) (*Rule, error) {
	t := strings.TrimSpace(text)
	lead := len(text) - len(strings.TrimLeft(text, " \t"))
	if t == "" || t[0] == '#' {
		return nil, errNoRule
	}
	perr := func(off int, reason, format string, a ...any) error {
		l, c := pm.at(off)
		return &ParseError{File: file, Line: l, Col: c, Msg: fmt.Sprintf(format, a...), Reason: reason}
	}
	open := strings.IndexByte(t, '(')
	if open < 0 {
		return nil, perr(lead, "no options", "rule has no options: expected `(msg:...; sid:N;)` after the header")
	}
	if !strings.HasSuffix(t, ")") {
		return nil, perr(lead+len(t)-1, "unterminated options", "rule options do not end with ')'")
	}
	hdr := strings.Fields(t[:open])
	r := &Rule{File: file, Raw: t}
	if len(hdr) == 0 {
		return nil, perr(lead, "no action", "rule has no action")
	}
	act, ok := actions[strings.ToLower(hdr[0])]
	if !ok || act == "" {
		return nil, perr(lead, "unknown action", "unknown action %q: use alert, drop, reject, pass", hdr[0])
	}
	r.Action = act
	// Header field offsets for error columns.
	fieldOff := func(i int) int {
		off := lead
		rest := t
		for j := 0; j <= i && j < len(hdr); j++ {
			k := strings.Index(rest, hdr[j])
			off += k
			if j == i {
				return off
			}
			off += len(hdr[j])
			rest = rest[k+len(hdr[j]):]
		}
		return off
	}
	switch len(hdr) {
	case 2:
		r.Headerless = true
		r.Proto = strings.ToLower(hdr[1])
		if !headerProtos[r.Proto] {
			return nil, perr(fieldOff(1), "unknown protocol", "unknown protocol %q", hdr[1])
		}
		r.Src, r.Dst = &AddrExpr{Any: true}, &AddrExpr{Any: true}
		r.SrcPorts, r.DstPorts = &PortExpr{Any: true}, &PortExpr{Any: true}
		r.Bidir = true
	case 7:
		r.Proto = strings.ToLower(hdr[1])
		if !headerProtos[r.Proto] {
			return nil, perr(fieldOff(1), "unknown protocol", "unknown protocol %q", hdr[1])
		}
		var err error
		if r.Src, err = ParseAddr(hdr[2], vars); err != nil {
			return nil, perr(fieldOff(2), "bad address", "source address: %v", err)
		}
		if r.SrcPorts, err = ParsePort(hdr[3], vars); err != nil {
			return nil, perr(fieldOff(3), "bad port", "source port: %v", err)
		}
		switch hdr[4] {
		case "->":
		case "<>":
			r.Bidir = true
		default:
			return nil, perr(fieldOff(4), "bad direction", "direction %q: use -> or <>", hdr[4])
		}
		if r.Dst, err = ParseAddr(hdr[5], vars); err != nil {
			return nil, perr(fieldOff(5), "bad address", "destination address: %v", err)
		}
		if r.DstPorts, err = ParsePort(hdr[6], vars); err != nil {
			return nil, perr(fieldOff(6), "bad port", "destination port: %v", err)
		}
	default:
		return nil, perr(lead, "bad header", "header has %d fields: expected `action proto src sport -> dst dport` or `action service`", len(hdr))
	}
	optStart := lead + open + 1
	body := t[open+1 : len(t)-1]
	opts, off, err := splitOptions(body)
	if err != nil {
		return nil, perr(optStart+off, "bad options", "%v", err)
	}
	s := keyword.NewSig(r.Proto)
	// Snort 3 puts sticky selectors before content and modifiers after a
	// comma; Suricata's legacy modifiers follow the content they modify.
	s.Snort3 = r.Headerless
	for _, o := range opts {
		if o.name == "service" || (o.hasValue && strings.Contains(o.value, "\",")) {
			s.Snort3 = true
		}
	}
	for i, o := range opts {
		l, c := pm.at(optStart + o.off)
		r.Options = append(r.Options, Option{Name: o.name, Value: o.value, HasValue: o.hasValue, Line: l, Col: c})
		kw, ok := keyword.Lookup(o.name)
		if !ok {
			return nil, &ParseError{File: file, Line: l, Col: c, Msg: fmt.Sprintf("unsupported keyword %q", o.name),
				Reason: fmt.Sprintf("unsupported keyword %q", o.name)}
		}
		next := ""
		if i+1 < len(opts) {
			next = opts[i+1].name
		}
		s.Next = next
		if err := kw.Apply(s, o.value); err != nil {
			return nil, &ParseError{File: file, Line: l, Col: c, Msg: fmt.Sprintf("%s: %v", o.name, err),
				Reason: reasonOf(o.name, err), Err: err}
		}
	}
	if err := s.Finish(); err != nil {
		return nil, &ParseError{File: file, Line: pm[0].line, Col: lead + 1, Msg: err.Error(), Reason: reasonOf("", err), Err: err}
	}
	r.Sig = s
	return r, nil
}

func reasonOf(kw string, err error) string {
	var u *keyword.UnsupportedError
	if errors.As(err, &u) {
		return u.Error()
	}
	if kw == "" {
		msg := err.Error()
		if len(msg) > 60 {
			msg = msg[:60]
		}
		return msg
	}
	return kw + ": invalid value"
}

type rawOpt struct {
	name, value string
	hasValue    bool
	off         int
}

// splitOptions splits `k:v; k; ...` honouring quotes and backslash escapes.
// It returns the offset of the problem on error.
func splitOptions(body string) ([]rawOpt, int, error) {
	var out []rawOpt
	i := 0
	for {
		for i < len(body) && (body[i] == ' ' || body[i] == '\t') {
			i++
		}
		if i >= len(body) {
			return out, i, nil
		}
		start := i
		for i < len(body) && body[i] != ':' && body[i] != ';' {
			i++
		}
		name := strings.TrimSpace(body[start:i])
		if name == "" {
			return nil, start, fmt.Errorf("empty option name")
		}
		if strings.ContainsAny(name, " \t\"") {
			return nil, start, fmt.Errorf("option %q: missing ';' before it", name)
		}
		o := rawOpt{name: strings.ToLower(name), off: start}
		if i >= len(body) {
			return nil, start, fmt.Errorf("option %q is not terminated by ';'", name)
		}
		if body[i] == ';' {
			i++
			out = append(out, o)
			continue
		}
		i++ // ':'
		vstart := i
		inQ := false
		var sb strings.Builder
		for ; i < len(body); i++ {
			c := body[i]
			if c == '\\' && i+1 < len(body) {
				// Keep the escape for the keyword to interpret, except
				// that \; must not end the option.
				sb.WriteByte(c)
				sb.WriteByte(body[i+1])
				i++
				continue
			}
			if c == '"' {
				inQ = !inQ
			}
			if c == ';' && !inQ {
				break
			}
			sb.WriteByte(c)
		}
		if i >= len(body) {
			return nil, vstart, fmt.Errorf("option %q is not terminated by ';'", name)
		}
		i++
		o.value = strings.TrimSpace(sb.String())
		o.hasValue = true
		out = append(out, o)
	}
}
