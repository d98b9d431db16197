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
	f.Fuzz(func(t *testing.T, buf []byte) {
		var sc keyword.Scratch
		for _, s := range sigs {
			keyword.Inspect(s.Ops, buf, &sc)
		}
	})
}
