package keyword_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/tapwatch/tapwatch/rules/keyword"
)

func TestParseXbits(t *testing.T) {
	valid := map[string]keyword.XbitOp{
		"set,abc,track ip_pair":                 {Cmd: keyword.FbSet, Name: "abc", Track: keyword.XbitPair, Expire: keyword.XbitExpireDefault},
		"set,abc,track ip_pair, expire 3600":    {Cmd: keyword.FbSet, Name: "abc", Track: keyword.XbitPair, Expire: 3600},
		"set,abc,track ip_src, expire 1234":     {Cmd: keyword.FbSet, Name: "abc", Track: keyword.XbitSrc, Expire: 1234},
		"isset,ET.2020_8260.1, track ip_dst":    {Cmd: keyword.FbIsSet, Name: "ET.2020_8260.1", Track: keyword.XbitDst, Expire: keyword.XbitExpireDefault},
		"isnotset,a,track  ip_src ,  expire 10": {Cmd: keyword.FbIsNotSet, Name: "a", Track: keyword.XbitSrc, Expire: 10},
		"unset,a,expire 5,track ip_src":         {Cmd: keyword.FbUnset, Name: "a", Track: keyword.XbitSrc, Expire: 5},
		"toggle,a,track\tip_dst":                {Cmd: keyword.FbToggle, Name: "a", Track: keyword.XbitDst, Expire: keyword.XbitExpireDefault},
		"set,a,track ip_src,expire 4294967295":  {Cmd: keyword.FbSet, Name: "a", Track: keyword.XbitSrc, Expire: 4294967295},
	}
	for in, want := range valid {
		got, noalert, err := keyword.ParseXbits(in)
		if err != nil || noalert || got != want {
			t.Errorf("ParseXbits(%q) = %+v, %v, %v; want %+v", in, got, noalert, err, want)
		}
	}
	if _, noalert, err := keyword.ParseXbits(" noalert "); err != nil || !noalert {
		t.Errorf("noalert: %v, %v", noalert, err)
	}
	invalid := map[string]string{
		"alert":                                   "unknown command",
		"n0alert":                                 "unknown command",
		"nOalert":                                 "unknown command",
		"!set,abc,track ip_dst":                   "unknown command",
		"set,abc,track nonsense, expire 3600":     "unknown tracker",
		"set,abc,track ip_source, expire 3600":    "unknown tracker",
		"set,abc,track, expire 30":                "unknown tracker",
		"set,abc,track ip_src, expire -1":         "expire",
		"set,abc,track ip_src, expire 0":          "expire",
		"set,abc,track ip_src, expire 4294967296": "expire",
		"set,abc,track ip_src, expire":            "expire",
		"set,abc":                                 "needs track",
		"set,abc,expire 10":                       "needs track",
		"set":                                     "needs a bit name",
		"":                                        "needs a command",
		"set,a b,track ip_src":                    "blank",
		"set extra,a,track ip_src":                "takes no value",
		"noalert,abc":                             "noalert takes no",
		"set,abc,track ip_src,track ip_dst":       "track given twice",
		"set,abc,track ip_src,expire 1,expire 2":  "expire given twice",
		"set,abc,track ip_src,foo bar":            "unknown option",
	}
	for in, frag := range invalid {
		_, _, err := keyword.ParseXbits(in)
		if err == nil || !strings.Contains(err.Error(), frag) {
			t.Errorf("ParseXbits(%q): err = %v, want one mentioning %q", in, err, frag)
		}
	}
	// track tx (Suricata 8's transaction bits) is named as unsupported, so
	// rules check groups it apart from mistakes.
	_, _, err := keyword.ParseXbits("set,abc,track tx")
	var u *keyword.UnsupportedError
	if !errors.As(err, &u) {
		t.Errorf("track tx: err = %v, want an UnsupportedError", err)
	}
}

func TestXbitsKeyword(t *testing.T) {
	s := sig(t, `xbits:set,ET.a,track ip_src,expire 15; xbits:isnotset,ET.b,track ip_pair; flowbits:set,f;`)
	if len(s.Xbits) != 2 || s.Xbits[0].Name != "ET.a" || s.Xbits[0].Expire != 15 || s.Xbits[0].IsCheck() ||
		s.Xbits[1].Name != "ET.b" || s.Xbits[1].Track != keyword.XbitPair || !s.Xbits[1].IsCheck() {
		t.Fatalf("%+v", s.Xbits)
	}
	if len(s.Flowbits) != 1 || s.NoAlert {
		t.Errorf("xbits touched flowbits or noalert: %+v %v", s.Flowbits, s.NoAlert)
	}
	s = sig(t, `xbits:set,a,track ip_dst; xbits:noalert;`)
	if !s.NoAlert || len(s.Xbits) != 1 {
		t.Errorf("xbits:noalert: NoAlert %v, xbits %+v", s.NoAlert, s.Xbits)
	}
	err := sigErr(`xbits:set,abc,track ip_source;`)
	if err == nil || !strings.Contains(err.Error(), "xbits") || !strings.Contains(err.Error(), "ip_source") {
		t.Errorf("bad tracker: err = %v, want one naming xbits and the tracker", err)
	}
}

// FuzzParseXbits: any input parses or fails without panicking, and what
// parses is usable: a known command and tracker, a name without blanks or
// commas, an expiry of at least a second.
func FuzzParseXbits(f *testing.F) {
	for _, s := range []string{"set,a,track ip_src,expire 10", "isset,a, track ip_pair", "noalert", "toggle,b,expire 1,track ip_dst", ",,", "set,,track"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		op, noalert, err := keyword.ParseXbits(s)
		if err != nil || noalert {
			return
		}
		if op.Cmd > keyword.FbToggle || op.Track > keyword.XbitPair || op.Expire == 0 ||
			op.Name == "" || strings.ContainsAny(op.Name, ", \t") {
			t.Fatalf("ParseXbits(%q) accepted %+v", s, op)
		}
	})
}
