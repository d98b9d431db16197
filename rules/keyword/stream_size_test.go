package keyword_test

import (
	"strings"
	"testing"

	"github.com/tapwatch/tapwatch/rules/keyword"
)

func TestParseStreamSize(t *testing.T) {
	valid := map[string]keyword.StreamSize{
		"server,<,6":           {Side: keyword.StreamServer, Cmp: keyword.NumCmp{Mode: keyword.CmpLt, A: 6}},
		" client , > , 8 ":     {Side: keyword.StreamClient, Cmp: keyword.NumCmp{Mode: keyword.CmpGt, A: 8}},
		"both,>=,0":            {Side: keyword.StreamBoth, Cmp: keyword.NumCmp{Mode: keyword.CmpGe, A: 0}},
		"either,<=,10000":      {Side: keyword.StreamEither, Cmp: keyword.NumCmp{Mode: keyword.CmpLe, A: 10000}},
		"server,=,1":           {Side: keyword.StreamServer, Cmp: keyword.NumCmp{Mode: keyword.CmpEq, A: 1}},
		"server,!=,4294967295": {Side: keyword.StreamServer, Cmp: keyword.NumCmp{Mode: keyword.CmpNe, A: 4294967295}},
		"client,!,3":           {Side: keyword.StreamClient, Cmp: keyword.NumCmp{Mode: keyword.CmpNe, A: 3}},
	}
	for in, want := range valid {
		got, err := keyword.ParseStreamSize(in)
		if err != nil || got != want {
			t.Errorf("ParseStreamSize(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	invalid := map[string]string{
		"invalidoption,<,6":     "side",
		"Server,<,6":            "side",
		",<,6":                  "side",
		"server,<<,6":           "operator",
		"server,<>,6":           "operator",
		"server,,6":             "operator",
		"server,<,-1":           "decimal",
		"server,<,4294967296":   "decimal",
		"server,<,0x10":         "decimal",
		"server,<,5k":           "decimal",
		"server,<,":             "decimal",
		"server,<":              "want",
		"server,<,5,6":          "want",
		"":                      "want",
		"server <5":             "want",
		"either,>=,99999999999": "decimal",
	}
	for in, frag := range invalid {
		_, err := keyword.ParseStreamSize(in)
		if err == nil || !strings.Contains(err.Error(), frag) {
			t.Errorf("ParseStreamSize(%q): err = %v, want one mentioning %q", in, err, frag)
		}
	}
}

func TestStreamSizeKeyword(t *testing.T) {
	s := sig(t, `stream_size:server,<,5; stream_size: client ,>=, 100;`)
	if len(s.StreamSize) != 2 || s.StreamSize[0].Side != keyword.StreamServer || s.StreamSize[1].Side != keyword.StreamClient ||
		s.StreamSize[1].Cmp.A != 100 {
		t.Fatalf("%+v", s.StreamSize)
	}
	if len(s.Packet) != 0 {
		t.Errorf("stream_size added a packet matcher: %+v", s.Packet)
	}
	err := sigErr(`stream_size:sideways,<,5;`)
	if err == nil || !strings.Contains(err.Error(), "stream_size") || !strings.Contains(err.Error(), "sideways") {
		t.Errorf("bad side: err = %v, want one naming stream_size and the side", err)
	}
}

func TestStreamSizeMatch(t *testing.T) {
	mk := func(in string) keyword.StreamSize {
		t.Helper()
		ss, err := keyword.ParseStreamSize(in)
		if err != nil {
			t.Fatal(err)
		}
		return ss
	}
	cases := []struct {
		rule           string
		client, server uint32
		want           bool
	}{
		{"server,<,5", 100, 4, true},
		{"server,<,5", 100, 5, false},
		{"server,<,5", 4, 100, false}, // the client's size does not count
		{"client,<,5", 4, 100, true},
		{"client,<,5", 100, 4, false},
		{"client,>,8", 10, 0, true}, // Suricata's unit test: isn 10, next_seq 20
		{"client,>,8", 8, 0, false},
		{"server,=,1", 7, 1, true},
		{"server,!=,1", 7, 1, false},
		{"server,<=,1", 7, 1, true},
		{"server,>=,2", 7, 1, false},
		{"both,>,5", 6, 6, true},
		{"both,>,5", 6, 5, false},
		{"both,>,5", 5, 6, false},
		{"either,>,5", 6, 5, true},
		{"either,>,5", 5, 6, true},
		{"either,>,5", 5, 5, false},
	}
	for _, c := range cases {
		if got := mk(c.rule).Match(c.client, c.server); got != c.want {
			t.Errorf("%s with client %d, server %d: %v, want %v", c.rule, c.client, c.server, got, c.want)
		}
	}
}

// FuzzParseStreamSize: any input parses or fails without panicking, and
// what parses is a known side and a plain comparison with a 32-bit size.
func FuzzParseStreamSize(f *testing.F) {
	for _, s := range []string{"server,<,5", " client , >= , 0", "either,!,4294967295", "both,=,1,", ",,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ss, err := keyword.ParseStreamSize(s)
		if err != nil {
			return
		}
		if ss.Side < keyword.StreamServer || ss.Side > keyword.StreamEither || ss.Cmp.Mode > keyword.CmpGe || ss.Cmp.A > 1<<32-1 {
			t.Fatalf("ParseStreamSize(%q) accepted %+v", s, ss)
		}
	})
}
