package keyword_test

import (
	"testing"

	"github.com/tapwatch/tapwatch/rules"
	"github.com/tapwatch/tapwatch/rules/keyword"
)

// FuzzInspect feeds arbitrary payloads to rules that exercise every op,
// with offsets taken from the payload itself: evaluation must never panic.
func FuzzInspect(f *testing.F) {
	opts := []string{
		`content:"a"; content:"b"; distance:-3; within:2; content:!"c"; within:1;`,
		`byte_extract:2,0,x,relative; content:"a"; offset:x; depth:x; byte_jump:x,0,relative,post_offset -100; isdataat:!x,relative;`,
		`byte_extract:1,0,n,string,hex; byte_test:n,>,1,0,relative; byte_jump:1,0,from_end,align; pcre:"/(a|b)+\x00/R";`,
		`content:"ab"; endswith; content:"b"; startswith; bsize:1<>9;`,
		`pcre:"/(?<=a)(b)\1?/smi"; content:"x"; distance:0; byte_test:8,&,1,-3,relative,little;`,
		`content:"="; byte_test:0,>,7,0,relative,string,dec; byte_jump:0,0,relative,string; byte_extract:4,0,v,string,hex,relative; byte_test:0,<,v,0,string;`,
		`content:"a"; base64_decode:bytes 12,offset 1,relative; content:"z"; base64_data; content:"b"; content:"c"; distance:0; pcre:"/(?<=b)c+/R"; byte_test:0,=,1,0,relative,string; isdataat:!2,relative;`,
		`content:"a"; pcre:"/a(?=\w)/"; base64_decode; base64_data; content:!"q"; startswith; byte_jump:1,0,from_end,post_offset -2;`,
	}
	var sigs []*keyword.Sig
	for _, o := range opts {
		r, err := rules.ParseRule(`alert tcp any any -> any any (`+o+` sid:1;)`, rules.DefaultVars())
		if err != nil {
			f.Fatalf("%s: %v", o, err)
		}
		sigs = append(sigs, r.Sig)
	}
	f.Add([]byte("ab\x00\x05cab"))
	f.Add([]byte{0xff, 0xff, 'a', 'b'})
	f.Add([]byte("=12 aYmNj YWJj=Yw==bcc"))
	f.Fuzz(func(t *testing.T, buf []byte) {
		var sc keyword.Scratch
		for _, s := range sigs {
			keyword.Inspect(s.Ops, buf, &sc)
		}
	})
}

// FuzzByteBase64Args feeds arbitrary arguments to byte_test (whose count
// may be 0 with string) and base64_decode, and arbitrary payloads to the
// rules that parse: neither parsing nor evaluation may panic.
func FuzzByteBase64Args(f *testing.F) {
	for _, a := range []string{"0,>=,8079,0,string,dec", "0,=,0,0", "5,<,65537,0,relative,string", "0,!,3,-1,relative,string,hex"} {
		f.Add(a, "bytes 8, offset 0, relative", []byte("a=MTIzNA== 0x1f"))
	}
	f.Add("23,=,1,0,string,oct", "offset 4294967295", []byte("-00017"))
	f.Add("0,&,1,0,string,dec,bitmask 0x3", "bytes 0 relative", []byte(" +99999999999999999999"))
	f.Fuzz(func(t *testing.T, bt, b64 string, buf []byte) {
		var sc keyword.Scratch
		for _, o := range []string{
			`content:"a"; byte_test:` + bt + `;`,
			`content:"a"; base64_decode:` + b64 + `; base64_data; content:"1"; byte_test:` + bt + `;`,
		} {
			r, err := rules.ParseRule(`alert tcp any any -> any any (`+o+` sid:1;)`, rules.DefaultVars())
			if err != nil {
				continue
			}
			keyword.Inspect(r.Sig.Ops, buf, &sc)
		}
	})
}
