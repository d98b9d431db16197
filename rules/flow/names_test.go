package flow

import (
	"strings"
	"testing"
)

func TestNamesAdd(t *testing.T) {
	var f Flow
	if f.AddName(NameHTTPUserAgent, []byte("  ")) || f.Names != nil {
		t.Fatal("a blank value must not create Names")
	}
	f.AddName(NameHTTPUserAgent, []byte(" curl/7.88.1\r\n"))
	f.AddName(NameHTTPUserAgent, []byte("curl/7.88.1"))   // duplicate
	f.AddName(NameHTTPUserAgent, []byte("Curl/7.88.1"))   // user agents keep their case
	f.AddName(NameTLSSNI, []byte("Web.LAB.example"))      // hostnames are lower-cased
	f.AddName(NameTLSSNI, []byte("web.lab.EXAMPLE"))      // and compared without case
	f.AddName(NameHTTPServer, []byte("evil\x1b[2J\tbox")) // control characters
	f.AddName(NameHTTPServer, []byte("evil\x1b[2J\tbox")) // the same again, once cleaned
	f.AddName(NameSSHServer, []byte("SSH-2.0-\xff\xfeX")) // invalid UTF-8
	f.AddName(NameDNSQuery, []byte(strings.Repeat("a", 300)))
	var got []string
	for _, n := range f.Names.All() {
		got = append(got, n.Kind.String()+"="+n.Value)
	}
	want := []string{"http.user_agent=curl/7.88.1", "http.user_agent=Curl/7.88.1", "tls.sni=web.lab.example",
		"http.server=evil?[2J?box", "ssh.server=SSH-2.0-??X", "dns.query=" + strings.Repeat("a", MaxNameLen)}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("names\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestNamesBounds(t *testing.T) {
	var n Names
	for i := range 10 {
		n.Add(NameDNSQuery, []byte{'a' + byte(i)})
	}
	if len(n.All()) != MaxNamesPerKind || !n.Full(NameDNSQuery) || n.Full(NameTLSSNI) {
		t.Fatalf("per kind: %d names, full %v/%v", len(n.All()), n.Full(NameDNSQuery), n.Full(NameTLSSNI))
	}
	for k := NameKind(1); k < numNameKinds; k++ {
		for i := range 10 {
			n.Add(k, []byte{'a' + byte(i)})
		}
	}
	if len(n.All()) != MaxNames {
		t.Errorf("%d names kept, at most %d", len(n.All()), MaxNames)
	}
	if n.Add(0, []byte("x")) || n.Add(numNameKinds, []byte("x")) {
		t.Error("unknown kinds must be refused")
	}
	var none *Names
	if none.All() != nil || none.Full(NameTLSSNI) {
		t.Error("a nil Names is empty and not full")
	}
}

// TestNamesKnownValueDoesNotAllocate: each request of a keep-alive
// connection offers the same names again; that must cost no allocation.
func TestNamesKnownValueDoesNotAllocate(t *testing.T) {
	var f Flow
	ua, host := []byte("Mozilla/5.0 (X11; Linux x86_64)"), []byte("WWW.Example.COM")
	f.AddName(NameHTTPUserAgent, ua)
	f.AddName(NameHTTPHost, host)
	if n := testing.AllocsPerRun(100, func() {
		f.AddName(NameHTTPUserAgent, ua)
		f.AddName(NameHTTPHost, host)
	}); n != 0 {
		t.Errorf("%v allocations per known name", n)
	}
}

// The flow store keeps kinds by name: every kind has one, and no two share it.
func TestNameKindStrings(t *testing.T) {
	seen := map[string]NameKind{}
	for k := NameKind(1); k < numNameKinds; k++ {
		if k.String() == "" {
			t.Errorf("kind %d has no name", k)
		}
		if o, dup := seen[k.String()]; dup {
			t.Errorf("kinds %d and %d are both %q", o, k, k.String())
		}
		seen[k.String()] = k
	}
}
