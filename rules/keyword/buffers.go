package keyword

import (
	"errors"
	"fmt"
)

// Buffer identifies what an Op inspects: the packet/stream payload or one
// app-layer buffer. App-layer parsers supply buffers by id (see detect's
// Buffers), so adding a buffer means adding a row below.
type Buffer uint8

// BufPayload is the packet payload or the reassembled stream.
const BufPayload Buffer = 0

// BufferInfo describes one inspection buffer.
type BufferInfo struct {
	Name   string // canonical (Suricata sticky) name, e.g. "http.uri"
	App    string // app protocol the buffer belongs to ("" for payload)
	Sticky []string
	// Modifiers are legacy Suricata content modifiers (content:"x"; http_uri;)
	// that Snort 3 uses as sticky selectors instead.
	Modifiers []string
}

// buffers is the read-only buffer table; its index is the Buffer id.
var buffers = [...]BufferInfo{
	{Name: "pkt_data", Sticky: []string{"pkt_data"}},
	{Name: "http.uri", App: "http", Sticky: []string{"http.uri"}, Modifiers: []string{"http_uri"}},
	{Name: "http.uri.raw", App: "http", Sticky: []string{"http.uri.raw"}, Modifiers: []string{"http_raw_uri"}},
	{Name: "http.header", App: "http", Sticky: []string{"http.header"}, Modifiers: []string{"http_header"}},
	{Name: "http.header.raw", App: "http", Sticky: []string{"http.header.raw"}, Modifiers: []string{"http_raw_header"}},
	{Name: "http.request_body", App: "http", Sticky: []string{"http.request_body", "http_client_body"}, Modifiers: []string{"http_client_body"}},
	{Name: "http.response_body", App: "http", Sticky: []string{"http.response_body"}, Modifiers: []string{"http_server_body"}},
	{Name: "http.method", App: "http", Sticky: []string{"http.method"}, Modifiers: []string{"http_method"}},
	{Name: "http.cookie", App: "http", Sticky: []string{"http.cookie"}, Modifiers: []string{"http_cookie"}},
	{Name: "http.stat_code", App: "http", Sticky: []string{"http.stat_code"}, Modifiers: []string{"http_stat_code"}},
	{Name: "http.stat_msg", App: "http", Sticky: []string{"http.stat_msg"}, Modifiers: []string{"http_stat_msg"}},
	{Name: "http.user_agent", App: "http", Sticky: []string{"http.user_agent"}, Modifiers: []string{"http_user_agent"}},
	{Name: "http.host", App: "http", Sticky: []string{"http.host"}, Modifiers: []string{"http_host"}},
	{Name: "http.host.raw", App: "http", Sticky: []string{"http.host.raw"}, Modifiers: []string{"http_raw_host"}},
	{Name: "http.request_line", App: "http", Sticky: []string{"http.request_line", "http_request_line"}},
	{Name: "http.response_line", App: "http", Sticky: []string{"http.response_line", "http_response_line"}},
	{Name: "http.protocol", App: "http", Sticky: []string{"http.protocol", "http_protocol"}},
	{Name: "http.start", App: "http", Sticky: []string{"http.start", "http_start"}},
	{Name: "http.accept", App: "http", Sticky: []string{"http.accept", "http_accept"}},
	{Name: "http.accept_enc", App: "http", Sticky: []string{"http.accept_enc", "http_accept_enc"}},
	{Name: "http.accept_lang", App: "http", Sticky: []string{"http.accept_lang", "http_accept_lang"}},
	{Name: "http.connection", App: "http", Sticky: []string{"http.connection", "http_connection"}},
	{Name: "http.content_type", App: "http", Sticky: []string{"http.content_type", "http_content_type"}},
	{Name: "http.content_len", App: "http", Sticky: []string{"http.content_len", "http_content_len"}},
	{Name: "http.referer", App: "http", Sticky: []string{"http.referer", "http_referer"}},
	{Name: "http.location", App: "http", Sticky: []string{"http.location"}},
	{Name: "http.server", App: "http", Sticky: []string{"http.server"}},
	{Name: "http.request_header", App: "http", Sticky: []string{"http.request_header"}},
	{Name: "http.response_header", App: "http", Sticky: []string{"http.response_header"}},
	{Name: "http.header_names", App: "http", Sticky: []string{"http.header_names", "http_header_names"}},
	{Name: "file.data", App: "", Sticky: []string{"file.data", "file_data"}},
	{Name: "dns.query", App: "dns", Sticky: []string{"dns.query", "dns_query"}},
	{Name: "tls.sni", App: "tls", Sticky: []string{"tls.sni", "tls_sni"}},
	{Name: "tls.cert_subject", App: "tls", Sticky: []string{"tls.cert_subject", "tls.subject", "tls_cert_subject"}},
	{Name: "tls.cert_issuer", App: "tls", Sticky: []string{"tls.cert_issuer", "tls.issuerdn", "tls_cert_issuer"}},
	{Name: "tls.cert_serial", App: "tls", Sticky: []string{"tls.cert_serial", "tls_cert_serial"}},
	{Name: "tls.cert_fingerprint", App: "tls", Sticky: []string{"tls.cert_fingerprint", "tls_cert_fingerprint", "tls.fingerprint"}},
	{Name: "tls.certs", App: "tls", Sticky: []string{"tls.certs"}},
	// tls.version holds the negotiated version as two big-endian bytes; the
	// tls.version keyword compares it (tls_legacy.go), it is not sticky.
	{Name: "tls.version", App: "tls"},
	// tls.validity holds the leaf certificate's notBefore and notAfter as
	// big-endian Unix seconds, then whether it had expired and whether it
	// was valid at the packet's time (tls_validity.go).
	{Name: "tls.validity", App: "tls"},
	{Name: "ja3.hash", App: "tls", Sticky: []string{"ja3.hash", "ja3_hash"}},
	{Name: "ja3.string", App: "tls", Sticky: []string{"ja3.string", "ja3_string"}},
	{Name: "ja3s.hash", App: "tls", Sticky: []string{"ja3s.hash", "ja3s_hash"}},
	{Name: "ja3s.string", App: "tls", Sticky: []string{"ja3s.string", "ja3s_string"}},
	{Name: "ssh.proto", App: "ssh", Sticky: []string{"ssh.proto", "ssh_proto"}},
	{Name: "ssh.software", App: "ssh", Sticky: []string{"ssh.software", "ssh_software"}},
	{Name: "smb.named_pipe", App: "smb", Sticky: []string{"smb.named_pipe"}},
	{Name: "smb.share", App: "smb", Sticky: []string{"smb.share"}},
	{Name: "smtp.helo", App: "smtp", Sticky: []string{"smtp.helo"}},
	{Name: "smtp.mail_from", App: "smtp", Sticky: []string{"smtp.mail_from"}},
	{Name: "smtp.rcpt_to", App: "smtp", Sticky: []string{"smtp.rcpt_to"}},
	{Name: "ftp.command", App: "ftp", Sticky: []string{"ftp.command"}},
	{Name: "ftp.command_data", App: "ftp", Sticky: []string{"ftp.command_data"}},
	{Name: "krb5.cname", App: "krb5", Sticky: []string{"krb5_cname", "krb5.cname"}},
	{Name: "krb5.sname", App: "krb5", Sticky: []string{"krb5_sname", "krb5.sname"}},
	{Name: "sip.method", App: "sip", Sticky: []string{"sip.method"}},
	{Name: "sip.uri", App: "sip", Sticky: []string{"sip.uri"}},
	{Name: "quic.sni", App: "quic", Sticky: []string{"quic.sni"}},
	{Name: "quic.version", App: "quic", Sticky: []string{"quic.version"}},
	// base64_data is not a buffer here: base64_data.go.
	// raw_data (Snort 3) is the unnormalised payload.
	{Name: "raw_data", Sticky: []string{"raw_data"}},
}

// NumBuffers is how many buffer ids exist.
const NumBuffers = len(buffers)

// BufferByName returns the id of a buffer by canonical, sticky or modifier name.
func BufferByName(name string) (Buffer, bool) {
	for i, b := range buffers {
		if b.Name == name {
			return Buffer(i), true
		}
		for _, n := range b.Sticky {
			if n == name {
				return Buffer(i), true
			}
		}
		for _, n := range b.Modifiers {
			if n == name {
				return Buffer(i), true
			}
		}
	}
	return 0, false
}

// Info returns the buffer's description.
func (b Buffer) Info() BufferInfo { return buffers[b] }

// String returns the buffer's canonical name.
func (b Buffer) String() string { return buffers[b].Name }

func init() {
	for i := range buffers {
		b := Buffer(i)
		info := buffers[i]
		names := map[string]bool{}
		for _, n := range info.Sticky {
			names[n] = true
		}
		for n := range names {
			if legacyValue[n] {
				// Registered with its value form in tls_legacy.go.
				continue
			}
			isMod := false
			for _, m := range info.Modifiers {
				isMod = isMod || m == n
			}
			if isMod {
				continue
			}
			Register(Keyword{Name: n, Apply: stickyApply(b)})
		}
		for _, m := range info.Modifiers {
			Register(Keyword{Name: m, Apply: modifierApply(b, m)})
		}
	}
}

func stickyApply(b Buffer) func(*Sig, string) error {
	return func(s *Sig, arg string) error {
		if arg != "" {
			return fmt.Errorf("takes no value")
		}
		if s.inBase64Data() {
			return errAfterBase64Data
		}
		if b == buffers0("raw_data") {
			b = BufPayload
		}
		s.setSticky(b)
		return nil
	}
}

// errAfterBase64Data refuses a buffer change after base64_data, as Suricata
// does: the decoded bytes are the rule's last buffer.
var errAfterBase64Data = errors.New("no other buffer may follow base64_data")

func buffers0(name string) Buffer {
	b, _ := BufferByName(name)
	return b
}

// modifierApply handles a legacy modifier: in Suricata it moves the
// preceding content into the buffer; in Snort 3 it selects the buffer for
// what follows.
func modifierApply(b Buffer, name string) func(*Sig, string) error {
	return func(s *Sig, arg string) error {
		if arg != "" {
			return fmt.Errorf("takes no value")
		}
		if s.inBase64Data() {
			return errAfterBase64Data
		}
		if s.Snort3 || s.lastOp < 0 {
			s.setSticky(b)
			return nil
		}
		o := &s.Ops[s.lastOp]
		if o.modSet && o.Buf != b {
			return fmt.Errorf("content already belongs to buffer %s", o.Buf)
		}
		if o.Kind == OpPcre {
			return fmt.Errorf("use a pcre flag or a sticky buffer instead of %s after pcre", name)
		}
		o.Buf, o.modSet = b, true
		// Ops relative to this content follow it into the buffer.
		for i := s.lastOp + 1; i < len(s.Ops); i++ {
			s.Ops[i].Buf = b
		}
		if ap := buffers[b].App; ap != "" && s.AppProto == "" {
			s.AppProto = ap
		}
		return nil
	}
}
