package detect

import (
	"github.com/tapwatch/tapwatch/rules/decode"
	"github.com/tapwatch/tapwatch/rules/flow"
	"github.com/tapwatch/tapwatch/rules/keyword"
	"github.com/tapwatch/tapwatch/rules/proto/ssh"
)

// The SSH sticky buffers: each side's protocol and software version, from
// its identification line.
var (
	bufSSHProto, _    = keyword.BufferByName("ssh.proto")
	bufSSHSoftware, _ = keyword.BufferByName("ssh.software")
)

// sshFeed reads the identification line of dir's stream. Once it is read
// the flow's names get it and, when some rule inspects ssh.proto or
// ssh.software, the line is inspected as the flow's one SSH transaction (as
// in Suricata, where an SSH flow has a single transaction). What follows
// the line is encrypted and never looked at.
func (w *Worker) sshFeed(p *decode.Packet, f *flow.Flow, st *appState, dir flow.Dir, data []byte, emit func(*Alert)) Verdict {
	used := w.usedBuffers()
	inspect := used[bufSSHProto] || used[bufSSHSoftware]
	if !inspect && !w.app.names {
		// Nobody reads the lines: detection alone was wanted.
		return VerdictPass
	}
	if st.ssh == nil {
		st.ssh = &ssh.Parser{}
	}
	sp := st.ssh
	d := ssh.Dir(dir & 1)
	if sp.Done(d) || len(data) == 0 {
		return VerdictPass
	}
	sp.Feed(d, data)
	b, ok := sp.Banner(d)
	if !ok {
		return VerdictPass
	}
	if w.app.names {
		kind := flow.NameSSHClient
		if dir&1 == flow.ToClient {
			kind = flow.NameSSHServer
		}
		f.AddName(kind, b.Line)
	}
	if !inspect {
		return VerdictPass
	}
	tb := &w.tx
	tb.Reset()
	tb.AppProto = "ssh"
	tb.ssh = sp
	tb.Set(bufSSHProto, b.ProtoVersion)
	tb.Set(bufSSHSoftware, b.SoftwareVersion)
	return w.InspectTx(p, f, dir, tb, emit)
}

// sshEVE is Suricata's EVE "ssh" object: each side's proto_version and
// software_version, for the sides whose line was read.
func sshEVE(sp *ssh.Parser) map[string]any {
	o := map[string]any{}
	for _, side := range []struct {
		name string
		dir  ssh.Dir
	}{{"client", ssh.ToServer}, {"server", ssh.ToClient}} {
		if b, ok := sp.Banner(side.dir); ok {
			o[side.name] = map[string]any{"proto_version": string(b.ProtoVersion), "software_version": string(b.SoftwareVersion)}
		}
	}
	return o
}
