package detect

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/flow"
	"github.com/tapwatch/tapwatch/rules/keyword"
)

// TestEngineFlowintAddSubCompare: + on a variable not set starts it at the
// value, - on one leaves it unset; the comparisons fail while it is not
// set and then see the value later packets of the flow (either direction)
// left; another flow has its own variables.
func TestEngineFlowintAddSubCompare(t *testing.T) {
	e := engine(t, Options{}, `alert udp any any -> any any (msg:"login"; content:"login"; flowint:logins,+,1; noalert; sid:1;)
alert udp any any -> any any (msg:"logout"; content:"logout"; flowint:logins,-,1; noalert; sid:2;)
alert udp any any -> any any (msg:"two"; content:"check"; flowint:logins,==,2; sid:3;)
alert udp any any -> any any (msg:"more than two"; content:"check"; flowint:logins,>,2; sid:4;)
alert udp any any -> any any (msg:"less than two"; content:"check"; flowint:logins,<,2; sid:5;)
alert udp any any -> any any (msg:"isset"; content:"check"; flowint:logins,isset; sid:6;)
alert udp any any -> any any (msg:"notset"; content:"check"; flowint:logins,notset; sid:7;)
alert udp any any -> any any (msg:"not two"; content:"check"; flowint:logins,!=,2; sid:8;)
`)
	got, _ := run(e.NewWorker(),
		udp(1, false, "check"),   // not set: only notset (!=, < fail too)
		udp(2, false, "logout"),  // - on a variable not set: still not set
		udp(3, true, "check"),    // notset
		udp(4, false, "login"),   // 1
		udp(5, true, "check"),    // < 2, isset, != 2
		udp(6, false, "login"),   // 2
		udp(7, false, "check"),   // == 2, isset
		udp(8, false, "login"),   // 3
		udp(9, true, "check"),    // > 2, isset, != 2
		udp(10, false, "logout"), // 2
		udp(11, false, "check"),  // == 2, isset
		udp4(12, 12*time.Millisecond, "10.0.0.5", "8.8.8.8", "check"), // another flow: not set
	)
	if h, want := hitsBySID(got), "map[3:[7 11] 4:[9] 5:[5] 6:[5 7 9 11] 7:[1 3 12] 8:[5 9]]"; h != want {
		t.Errorf("alerts by sid (packet numbers): got %s, want %s", h, want)
	}
}

// TestEngineFlowintVarToVar: a value may be another flowint, read when the
// op runs (0 while it is not set); the changes of one rule apply in rule
// order and arithmetic wraps around as Suricata's uint32 does.
func TestEngineFlowintVarToVar(t *testing.T) {
	e := engine(t, Options{}, `alert udp any any -> any any (msg:"at max"; content:"tick"; flowint:cnt,isset; flowint:cnt,==,maxvar; sid:3;)
alert udp any any -> any any (msg:"init"; content:"init"; flowint:maxvar,=,3; flowint:cnt,=,0; noalert; sid:1;)
alert udp any any -> any any (msg:"tick"; content:"tick"; flowint:cnt,+,1; noalert; sid:2;)
alert udp any any -> any any (msg:"copy"; content:"copy"; flowint:snap,=,cnt; flowint:snap,+,snap; noalert; sid:4;)
alert udp any any -> any any (msg:"snap is 6"; content:"probe"; flowint:snap,==,6; sid:5;)
alert udp any any -> any any (msg:"above an unset var"; content:"probe"; flowint:cnt,>,nosuch; sid:6;)
alert udp any any -> any any (msg:"wrap"; content:"wrap"; flowint:ww,=,0; flowint:ww,-,1; flowint:big,=,4294967295; flowint:big,+,2; noalert; sid:7;)
alert udp any any -> any any (msg:"wrapped"; content:"probe"; flowint:ww,==,4294967295; flowint:big,==,1; sid:8;)
alert udp any any -> any any (msg:"cnt below max"; content:"probe"; flowint:cnt,<,maxvar; sid:9;)
`)
	got, _ := run(e.NewWorker(),
		udp(1, false, "probe"), // nothing set: nothing
		udp(2, false, "init"),  // maxvar 3, cnt 0
		udp(3, false, "probe"), // cnt 0: not above nosuch (0); below max
		udp(4, false, "tick"),  // 1
		udp(5, false, "tick"),  // 2
		udp(6, false, "tick"),  // 3: == maxvar, on the packet that made it so
		udp(7, false, "tick"),  // 4
		udp(8, true, "copy"),   // snap = 4, then snap + snap = 8
		udp(9, false, "probe"), // snap 8 != 6; cnt 4 > 0
		udp(10, false, "init"), // cnt 0
		udp(11, false, "tick"), // 1
		udp(12, false, "tick"), // 2
		udp(13, false, "tick"), // 3
		udp(14, false, "copy"), // snap 6
		udp(15, false, "wrap"), // ww 0 - 1, big max + 2
		udp(16, false, "probe"),
	)
	if h, want := hitsBySID(got), "map[3:[6 13] 5:[16] 6:[9 16] 8:[16] 9:[3]]"; h != want {
		t.Errorf("alerts by sid (packet numbers): got %s, want %s", h, want)
	}
}

// TestEngineFlowintChangesAfterMatch: a rule's conditions see the
// variables as they were before its own changes, which apply only once
// the whole rule matched (Suricata's post-match list), so a rule that
// adds and then tests the sum never starts a counter on its own.
func TestEngineFlowintChangesAfterMatch(t *testing.T) {
	e := engine(t, Options{}, `alert udp any any -> any any (msg:"count and test"; content:"u"; flowint:cc,+,1; flowint:cc,>=,1; sid:1;)
alert udp any any -> any any (msg:"init"; content:"init"; flowint:cc,=,1; noalert; sid:2;)
alert udp any any -> any any (msg:"two"; content:"probe"; flowint:cc,==,2; sid:3;)
alert udp any any -> any any (msg:"partial"; content:"zz"; content:"nomatch"; flowint:cc,+,100; sid:4;)
`)
	got, _ := run(e.NewWorker(),
		udp(1, false, "u"),     // cc not set: no match, so no +1
		udp(2, false, "probe"), // still not set
		udp(3, false, "init"),  // cc 1
		udp(4, false, "u"),     // 1 >= 1: match, then cc 2
		udp(5, false, "zz"),    // sid 4 does not match: no +100
		udp(6, false, "probe"), // cc 2
	)
	if h, want := hitsBySID(got), "map[1:[4] 3:[6]]"; h != want {
		t.Errorf("alerts by sid (packet numbers): got %s, want %s", h, want)
	}
}

// TestEngineFlowintOrdering: as with flowbits, rules that change flowints
// run before those that test them, whatever the file order, so the test
// sees the change made on the same packet; the docs' login example.
func TestEngineFlowintOrdering(t *testing.T) {
	e := engine(t, Options{}, `alert udp any any -> any any (msg:"More than two login fails"; content:"login failed"; flowint:loginfail,isset; flowint:loginfail,>,2; sid:3;)
alert udp any any -> any any (msg:"Counting"; content:"login failed"; flowint:loginfail,+,1; noalert; sid:2;)
`)
	var pk []*decode.Packet
	for i := 1; i <= 4; i++ {
		pk = append(pk, udp(i, false, "login failed"))
	}
	got, _ := run(e.NewWorker(), pk...)
	if h, want := hitsBySID(got), "map[3:[3 4]]"; h != want {
		t.Errorf("alerts by sid (packet numbers): got %s, want %s", h, want)
	}
}

// TestEngineFlowintThreshold: a change is made on every match, also when
// a threshold keeps the alert back.
func TestEngineFlowintThreshold(t *testing.T) {
	e := engine(t, Options{}, `alert udp any any -> any any (msg:"x"; content:"x"; flowint:nn,+,1; threshold:type limit,track by_src,count 1,seconds 60; sid:1;)
alert udp any any -> any any (msg:"three"; content:"probe"; flowint:nn,==,3; sid:2;)
`)
	got, _ := run(e.NewWorker(), udp(1, false, "x"), udp(2, false, "x"), udp(3, false, "x"), udp(4, false, "probe"))
	if h, want := hitsBySID(got), "map[1:[1] 2:[4]]"; h != want {
		t.Errorf("alerts by sid (packet numbers): got %s, want %s", h, want)
	}
}

// TestEngineFlowintTx: app-layer rules (the ET Open ones count HTTP
// downloads per flow) change and test the variables of the transaction's
// flow.
func TestEngineFlowintTx(t *testing.T) {
	e := engine(t, Options{}, `alert http any any -> any any (msg:"dll"; http.uri; content:".dll"; flowint: ET.dll.download, +, 1; noalert; sid:1;)
alert http any any -> any any (msg:"many dlls"; http.uri; content:"/next"; flowint:ET.dll.download,>=,2; sid:2;)
`)
	w := e.NewWorker()
	uri, _ := keywordBuffer("http.uri")
	f := &flow.Flow{}
	var got []uint32
	emit := func(a *Alert) { got = append(got, a.SID) }
	for i, u := range []string{"/next", "/a.dll", "/next", "/b.dll", "/next"} {
		var tx TxBuffers
		tx.TxID, tx.AppProto = i, "http"
		tx.Set(uri, []byte(u))
		p := tcpSeg(i+1, false, decode.TCPAck|decode.TCPPsh, 1, "")
		w.InspectTx(p, f, flow.ToServer, &tx, emit)
	}
	// Another flow starts from scratch.
	var tx TxBuffers
	tx.TxID, tx.AppProto = 9, "http"
	tx.Set(uri, []byte("/next"))
	w.InspectTx(tcpSeg(9, false, decode.TCPAck, 1, ""), &flow.Flow{}, flow.ToServer, &tx, emit)
	if fmt.Sprint(got) != "[2]" {
		t.Errorf("alerts: got sids %v, want [2] (on the 5th transaction only)", got)
	}
}

// TestEngineFlowintBounded: a flow holds at most flowintsMax variables;
// changes that would add more are dropped and counted, and variables
// already held still change.
func TestEngineFlowintBounded(t *testing.T) {
	const extra = 5
	var b strings.Builder
	for i := range flowintsMax + extra {
		fmt.Fprintf(&b, "alert udp any any -> any any (msg:\"fill\"; content:\"fill\"; flowint:v%d,=,1; noalert; sid:%d;)\n", i, 100+i)
	}
	fmt.Fprintf(&b, `alert udp any any -> any any (msg:"first kept"; content:"probe"; flowint:v0,==,2; sid:1;)
alert udp any any -> any any (msg:"last kept"; content:"probe"; flowint:v%d,isset; sid:2;)
alert udp any any -> any any (msg:"dropped"; content:"probe"; flowint:v%d,notset; sid:3;)
alert udp any any -> any any (msg:"bump"; content:"bump"; flowint:v0,+,1; flowint:nope,+,1; noalert; sid:4;)
alert udp any any -> any any (msg:"nope"; content:"probe"; flowint:nope,isset; sid:5;)
`, flowintsMax-1, flowintsMax)
	e := engine(t, Options{}, b.String())
	w := e.NewWorker()
	got, _ := run(w, udp(1, false, "fill"), udp(2, false, "bump"), udp(3, false, "probe"))
	if h, want := hitsBySID(got), "map[1:[3] 2:[3] 3:[3]]"; h != want {
		t.Errorf("alerts by sid (packet numbers): got %s, want %s", h, want)
	}
	if d := w.e.StateDrops().Flowints; d != extra+1 {
		t.Errorf("dropped %d changes, want %d", d, extra+1)
	}
	if fs := flowStateOf(w.last); fs == nil || len(fs.ints) != flowintsMax {
		t.Errorf("flow holds %v", fs)
	}
}

// TestFlowintNoFlow: without a flow no condition holds, not even notset
// (Suricata's DetectFlowintMatch returns no match without one), and
// changes are no-ops.
func TestFlowintNoFlow(t *testing.T) {
	for _, arg := range []string{"ab,notset", "ab,isset", "ab,==,0", "ab,<,1"} {
		op, err := keyword.ParseFlowint(arg)
		if err != nil {
			t.Fatal(err)
		}
		s := &keyword.Sig{Flowints: []keyword.FlowintOp{op}}
		if flowintMatch(s, nil) {
			t.Errorf("%s matched without a flow", arg)
		}
	}
	op, _ := keyword.ParseFlowint("ab,=,1")
	s := &keyword.Sig{Flowints: []keyword.FlowintOp{op}}
	if !flowintMatch(s, nil) {
		t.Error("a rule that only changes flowints must match without a flow")
	}
	var w Worker
	w.flowintPost(s, nil) // must not panic
}

// TestCompileFlowint: names and targets share one numbering, and a rule
// with flowint is not IP-only.
func TestCompileFlowint(t *testing.T) {
	e := engine(t, Options{}, `alert ip any any -> any any (msg:"count"; flowint:pk,+,1; noalert; sid:1;)
alert ip any any -> any any (msg:"cmp"; flowint:other,<,pk; sid:2;)
`)
	var ops []keyword.FlowintOp
	for _, c := range e.sigs {
		if c.ipOnly {
			t.Errorf("sid %d is IP-only", c.sid)
		}
		ops = append(ops, c.sig.Flowints...)
	}
	idx := map[string]int{}
	for _, o := range ops {
		idx[o.Name] = o.Idx
		if o.Target != "" {
			idx["target "+o.Target] = o.TargetIdx
		}
	}
	if idx["pk"] != idx["target pk"] || idx["pk"] == idx["other"] || idx["pk"] < 0 || idx["other"] < 0 {
		t.Errorf("indexes %v", idx)
	}
	// Not IP-only: the counter sees every packet of the flow, not just
	// the first of each direction.
	w := e.NewWorker()
	pk := []*decode.Packet{udp(1, false, ""), udp(2, false, ""), udp(3, true, ""), udp(4, false, "")}
	run(w, pk...)
	if v, ok := flowStateOf(w.last).ints.get(idx["pk"]); !ok || v != 4 {
		t.Errorf("pk = %d (set %v), want 4", v, ok)
	}
}
