package keyword_test

import (
	"testing"

	"github.com/tapwatch/tapwatch/rules/keyword"
)

func TestFlowKeyword(t *testing.T) {
	s := sig(t, `flow:to_server,established;`)
	if !s.Flow.ToServer || !s.Flow.Established || s.Flow.ToClient {
		t.Errorf("%+v", s.Flow)
	}
	s = sig(t, `flow:from_server,not_established,only_stream;`)
	if !s.Flow.ToClient || !s.Flow.NotEstab || !s.Flow.OnlyStream {
		t.Errorf("%+v", s.Flow)
	}
	for _, bad := range []string{`flow:to_server,to_client;`, `flow:sideways;`, `flow:established,not_established;`} {
		if sigErr(bad) == nil {
			t.Errorf("%s: expected error", bad)
		}
	}
}

func TestFlowbitsKeyword(t *testing.T) {
	s := sig(t, `flowbits:set,a; flowbits:isset,b|c; flowbits:isnotset,d&e; flowbits:noalert;`)
	if len(s.Flowbits) != 3 || !s.NoAlert {
		t.Fatalf("%+v", s.Flowbits)
	}
	if s.Flowbits[0].Cmd != keyword.FbSet || s.Flowbits[1].Cmd != keyword.FbIsSet || !s.Flowbits[1].Or ||
		len(s.Flowbits[2].Names) != 2 || s.Flowbits[2].Or {
		t.Errorf("%+v", s.Flowbits)
	}
	for _, bad := range []string{`flowbits:set;`, `flowbits:bogus,a;`, `flowbits:set,a|b;`, `flowbits:isset,a|b&c;`} {
		if sigErr(bad) == nil {
			t.Errorf("%s: expected error", bad)
		}
	}
}

func TestThresholdKeyword(t *testing.T) {
	s := sig(t, `threshold:type both,track by_dst,count 3,seconds 60; detection_filter:track by_src, count 5, seconds 10;`)
	if th := s.Threshold; th.Type != keyword.ThBoth || th.Track != keyword.TrackDst || th.Count != 3 || th.Seconds != 60 {
		t.Errorf("%+v", th)
	}
	if f := s.Filter; f.Type != keyword.ThDetection || f.Track != keyword.TrackSrc || f.Count != 5 {
		t.Errorf("%+v", f)
	}
	for _, bad := range []string{`threshold:type limit,count 1,seconds 1;`, `threshold:type odd,track by_src,count 1,seconds 1;`, `detection_filter:type limit,track by_src,count 1,seconds 1;`} {
		if sigErr(bad) == nil {
			t.Errorf("%s: expected error", bad)
		}
	}
}

func TestMetaKeywords(t *testing.T) {
	s := sig(t, `msg:"hello \"w\""; gid:3; rev:7; classtype:trojan-activity; priority:2; reference:url,example.com; metadata:a b, c d; target:src_ip; tag:session,10,packets;`)
	if s.Msg != `hello "w"` || s.GID != 3 || s.Rev != 7 || s.Class != "trojan-activity" || s.Priority != 2 ||
		len(s.References) != 1 || s.Metadata["c"][0] != "d" || s.Target != "src_ip" {
		t.Errorf("%+v", s)
	}
	for _, bad := range []string{`sid:x;`, `priority:0;`, `target:elsewhere;`} {
		if _, err := sigErrFull(bad); err == nil {
			t.Errorf("%s: expected error", bad)
		}
	}
	if sigErr(`foo;`) == nil || sigErr(`foo;`).Error() != `rule:1:31: unsupported keyword "foo"` {
		t.Errorf("unknown keyword error: %v", sigErr(`foo;`))
	}
}

func sigErrFull(opts string) (*keyword.Sig, error) {
	return nil, sigErr(opts)
}

func TestBufferSelection(t *testing.T) {
	s := sig(t, `http.uri; content:"/a"; content:"b"; pkt_data; content:"c"; dns.query; content:"d";`)
	want := []string{"http.uri", "http.uri", "pkt_data", "dns.query"}
	for i, w := range want {
		if s.Ops[i].Buf.String() != w {
			t.Errorf("op %d in %s, want %s", i, s.Ops[i].Buf, w)
		}
	}
	if b, ok := keyword.BufferByName("http_client_body"); !ok || b.String() != "http.request_body" {
		t.Errorf("legacy name lookup: %v %v", b, ok)
	}
	s = sig(t, `content:"x"; http_header; bsize:>2;`)
	if s.AppProto != "http" {
		t.Errorf("legacy modifier sets app proto, got %q", s.AppProto)
	}
}

func TestDetectionFilterUniqueOn(t *testing.T) {
	s := sig(t, `detection_filter:track by_dst, count 3, seconds 60, unique_on dst_port;`)
	if s.Filter.UniqueOn != 2 {
		t.Errorf("unique_on dst_port: %+v", s.Filter)
	}
	if sigErr(`detection_filter:track by_dst, count 3, seconds 60, unique_on proto;`) == nil {
		t.Error("unique_on proto must fail")
	}
}

func TestBsize(t *testing.T) {
	s := sig(t, `content:"ab"; bsize:<5;`)
	if !payloadMatch(s, "abcd") || payloadMatch(s, "abcde") {
		t.Error("bsize on the payload")
	}
}
