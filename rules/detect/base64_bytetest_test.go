package detect

import (
	"encoding/base64"
	"strconv"
	"testing"

	"github.com/tapwatch/tapwatch/rules/decode"
)

// ET Open rules that need byte_test:0,...,string and base64_decode, their
// options verbatim (the headers name any host so the test addresses fit),
// and sid 9, whose longest content is in base64_data.
const etBase64ByteTest = `alert http any any -> any any (msg:"ET ADWARE_PUP BoostBeast Checkin M1"; flow:established,to_server; http.method; content:"POST"; http.uri; content:"/api/taskforecast/installed"; bsize:27; fast_pattern; http.content_len; byte_test:0,=,0,0,string,dec; reference:url,app.any.run/tasks/556c8a11-a736-48db-9779-bb74db2431c6/; reference:md5,73923a750344d1a1e734a12e98271c69; classtype:pup-activity; sid:2044040; rev:1; metadata:attack_target Client_Endpoint, created_at 2023_01_31, deployment Perimeter, former_category ADWARE_PUP, performance_impact Low, signature_severity Minor, updated_at 2023_01_31; target:src_ip;)
alert http any any -> any any (msg:"ET EXPLOIT Attempted Netgear Buffer Overflow into RCE Inbound M1"; flow:established,to_server; http.method; content:"POST"; http.uri; content:"/upgrade_check.cgi"; bsize:18; http.content_len; byte_test:0,>,4000,0,string,dec; http.request_body; content:"mknod|20 2f|dev/ptyp"; fast_pattern; classtype:attempted-admin; sid:2030630; rev:1;)
alert http any any -> any any (msg:"ET EXPLOIT ManageEngine Unauthenticated RCE Attempt M10 (CVE-2022-47966)"; flow:established,to_server; http.method; content:"POST"; http.request_body; content:"SAMLResponse="; startswith; fast_pattern; nocase; base64_decode:offset 0, relative; base64_data; content:"|3a|getRuntime|28 29|"; nocase; content:"|3a|exec|28|"; nocase; reference:cve,2022-47966; classtype:attempted-admin; sid:2045301; rev:1;)
alert http any any -> any any (msg:"decoded content longest: the prefilter must use d="; flow:to_server; http.request_body; content:"d="; base64_decode:relative; base64_data; content:"a much longer decoded marker"; sid:9;)
alert http any any -> any any (msg:"ET EXPLOIT Microsoft Exchange Server Exploitation (CVE-2020-17141)"; flow:to_server,established; http.method; content:"POST"; http.uri; content:"/ews/Exchange.asmx"; startswith; http.request_body; content:"<m:RouteComplaint|20|"; content:"<m:Data>"; distance:0; base64_decode:bytes 300, offset 0, relative; base64_data; content:"<!DOCTYPE"; content:"SYSTEM"; distance:0; classtype:web-application-attack; sid:2031507; rev:1;)
`

// postFlow is one TCP connection carrying an HTTP POST of body to uri
// (Content-Length cl, or the body's length when cl is ""), from source
// port sport.
func postFlow(sport uint16, uri, cl, body string) []*decode.Packet {
	if cl == "" {
		cl = strconv.Itoa(len(body))
	}
	req := "POST " + uri + " HTTP/1.1\r\nHost: victim\r\nContent-Length: " + cl + "\r\n\r\n" + body
	syn := tcpSeg(1, false, decode.TCPSyn, 0, "")
	syn.TCPAck = 0
	pkts := []*decode.Packet{syn,
		tcpSeg(2, true, decode.TCPSyn|decode.TCPAck, 0, ""),
		tcpSeg(3, false, decode.TCPAck, 1, ""),
		tcpSeg(4, false, decode.TCPAck|decode.TCPPsh, 1, req),
		tcpSeg(5, true, decode.TCPAck|decode.TCPPsh, 1, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
	}
	for _, p := range pkts {
		if p.DstPort == 80 {
			p.SrcPort = sport
		} else {
			p.DstPort = sport
		}
	}
	return pkts
}

func TestEngineETBase64AndByteTestZero(t *testing.T) {
	e := engine(t, Options{}, etBase64ByteTest)
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	exploit := `<xsl:value-of select="rt:exec(rt:getRuntime(),'id')" xmlns:rt="java.lang.Runtime"/>`
	xxe := `<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>`
	for i, c := range []struct {
		name          string
		uri, cl, body string
		want          []uint32
	}{
		{"content-length 0", "/api/taskforecast/installed", "", "", []uint32{2044040}},
		{"content-length 00", "/api/taskforecast/installed", "00", "", []uint32{2044040}},
		{"content-length 7", "/api/taskforecast/installed", "", "a=b&c=d", nil},
		{"content-length 5000", "/upgrade_check.cgi", "5000", "x=mknod /dev/ptyp", []uint32{2030630}},
		{"content-length 4000", "/upgrade_check.cgi", "4000", "x=mknod /dev/ptyp", nil},
		{"saml exploit", "/SamlResponseServlet", "", "SAMLResponse=" + b64(exploit), []uint32{2045301}},
		{"saml url-safe stops", "/SamlResponseServlet", "", "SAMLResponse=" + b64("<a>?>?>")[:8] + "-" + b64(exploit), nil},
		{"saml benign", "/SamlResponseServlet", "", "SAMLResponse=" + b64("<samlp:Response>ok</samlp:Response>"), nil},
		{"saml encoded only", "/SamlResponseServlet", "", "SAMLResponse=:getRuntime():exec(", nil},
		{"decoded marker", "/x", "", "d=" + b64("xx a much longer decoded marker"), []uint32{9}},
		{"exchange xxe", "/ews/Exchange.asmx", "", "<m:RouteComplaint ><m:Data>" + b64(xxe) + "</m:Data>", []uint32{2031507}},
		// bytes 300 reads 300 encoded bytes: SYSTEM lies beyond them.
		{"exchange xxe far", "/ews/Exchange.asmx", "", "<m:RouteComplaint ><m:Data>" + b64("<!DOCTYPE x ["+string(make([]byte, 240))+" SYSTEM") + "</m:Data>", nil},
	} {
		got := runApp(e.NewWorker(), postFlow(uint16(41000+i), c.uri, c.cl, c.body)...)
		var s []uint32
		for _, a := range got {
			s = append(s, a.sid)
		}
		if !eq(s, c.want) {
			t.Errorf("%s: alerts %v, want %v", c.name, s, c.want)
		}
	}
}
