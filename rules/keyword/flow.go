package keyword

import (
	"fmt"
	"strings"
)

// FlowFlags is what the flow keyword asks of a packet's flow.
type FlowFlags struct {
	ToServer, ToClient    bool
	Established, NotEstab bool
	Stateless             bool
	OnlyStream, NoStream  bool
	OnlyFrag, NoFrag      bool
	Set                   bool
}

func init() {
	Register(Keyword{Name: "flow", Apply: applyFlow})
}

func applyFlow(s *Sig, arg string) error {
	f := &s.Flow
	if f.Set {
		return fmt.Errorf("only one flow option per rule")
	}
	f.Set = true
	for _, p := range splitArgs(strings.ToLower(arg)) {
		switch p {
		case "to_server", "from_client":
			f.ToServer = true
		case "to_client", "from_server":
			f.ToClient = true
		case "established":
			f.Established = true
		case "not_established":
			f.NotEstab = true
		case "stateless":
			f.Stateless = true
		case "only_stream":
			f.OnlyStream = true
		case "no_stream":
			f.NoStream = true
		case "only_frag":
			f.OnlyFrag = true
		case "no_frag":
			f.NoFrag = true
		default:
			return fmt.Errorf("unknown flow option %q", p)
		}
	}
	if f.ToServer && f.ToClient {
		return fmt.Errorf("to_server and to_client together never match")
	}
	if f.Established && (f.NotEstab || f.Stateless) {
		return fmt.Errorf("established conflicts with not_established/stateless")
	}
	if f.OnlyStream && f.NoStream {
		return fmt.Errorf("only_stream and no_stream together never match")
	}
	return nil
}
