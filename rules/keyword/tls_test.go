package keyword_test

import (
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/rules/keyword"
)

// bufOps returns the ops of s that inspect buffer name.
func bufOps(s *keyword.Sig, name string) []keyword.Op {
	b, _ := keyword.BufferByName(name)
	var out []keyword.Op
	for _, o := range s.Ops {
		if o.Buf == b {
			out = append(out, o)
		}
	}
	return out
}

func TestTLSValidity(t *testing.T) {
	nb := time.Date(2015, 3, 1, 0, 0, 0, 0, time.UTC)
	na := time.Date(2016, 3, 1, 0, 0, 0, 0, time.UTC)
	during := keyword.TLSValidityBytes(nb, na, time.Date(2015, 6, 1, 0, 0, 0, 0, time.UTC), nil)
	after := keyword.TLSValidityBytes(nb, na, time.Date(2017, 1, 1, 0, 0, 0, 0, time.UTC), nil)
	for _, c := range []struct {
		opts          string
		during, after bool
	}{
		{`tls_cert_notbefore:2015-03-01;`, true, true},
		{`tls_cert_notbefore:<2015-03-01T00:00:00;`, true, true},
		{`tls_cert_notbefore:>2015-04;`, false, false},
		{`tls_cert_notafter:2015-01-01<>2016-06-01;`, true, true},
		{`tls_cert_notafter:<2016-01-01;`, false, false},
		{`tls_cert_expired;`, false, true},
		{`tls_cert_valid;`, true, false},
	} {
		s := sig(t, c.opts)
		ops := bufOps(s, "tls.validity")
		if len(ops) == 0 || s.AppProto != "tls" {
			t.Fatalf("%s: ops %v app %q", c.opts, ops, s.AppProto)
		}
		var sc keyword.Scratch
		if got := keyword.Inspect(ops, during, &sc); got != c.during {
			t.Errorf("%s during validity: %v", c.opts, got)
		}
		if got := keyword.Inspect(ops, after, &sc); got != c.after {
			t.Errorf("%s after expiry: %v", c.opts, got)
		}
	}
	for _, bad := range []string{`tls_cert_notbefore:>2015<>2016;`, `tls_cert_notafter:2016<>2015;`,
		`tls_cert_notafter:soon;`, `tls_cert_expired:1;`} {
		if sigErr(bad) == nil {
			t.Errorf("%s: expected error", bad)
		}
	}
}

func TestTLSVersionAndLegacyValues(t *testing.T) {
	s := sig(t, `tls.version:1.3; tls.fingerprint:"AB:cd"; content:"x";`)
	var sc keyword.Scratch
	v := bufOps(s, "tls.version")
	if len(v) != 1 || !keyword.Inspect(v, keyword.TLSVersionBytes(0x7f1c, nil), &sc) {
		t.Error("tls.version:1.3 must match a TLS 1.3 draft")
	}
	raw := bufOps(sig(t, `tls.version:0x7f1c;`), "tls.version")
	if !keyword.Inspect(raw, keyword.TLSVersionBytes(0x7f1c, nil), &sc) ||
		keyword.Inspect(raw, keyword.TLSVersionBytes(0x0304, nil), &sc) {
		t.Error("a raw tls.version compares the version as sent")
	}
	fp := bufOps(s, "tls.cert_fingerprint")
	if len(fp) != 1 || !keyword.Inspect(fp, []byte("12:ab:cd:34"), &sc) {
		t.Errorf("tls.fingerprint value: %v", fp)
	}
	// The legacy value form leaves later contents in the payload.
	if p := bufOps(s, "pkt_data"); len(p) != 1 {
		t.Errorf("payload ops %v", p)
	}
}
