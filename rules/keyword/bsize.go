package keyword

import "fmt"

// bsize (Suricata), urilen (legacy, on http.uri) and bufferlen (Snort 3)
// compare the length of the current buffer.
func init() {
	Register(Keyword{Name: "bsize", Apply: sizeApply("")})
	Register(Keyword{Name: "bufferlen", Apply: sizeApply("")})
	Register(Keyword{Name: "urilen", Apply: sizeApply("http.uri")})
}

func sizeApply(buf string) func(*Sig, string) error {
	return func(s *Sig, arg string) error {
		a := splitArgs(arg)
		c, err := ParseNumCmp(a[0], 1<<32)
		if err != nil {
			return err
		}
		raw := false
		for _, o := range a[1:] {
			switch o {
			case "raw":
				raw = true
			case "norm", "relative":
			default:
				return fmt.Errorf("unknown option %q", o)
			}
		}
		o := s.addOp(Op{Kind: OpBsize, Size: c})
		if buf != "" {
			if raw && buf == "http.uri" {
				// urilen:N,raw measures the URI as sent.
				buf = "http.uri.raw"
			}
			b, _ := BufferByName(buf)
			o.Buf, o.modSet = b, true
			if s.AppProto == "" {
				s.AppProto = "http"
			}
		}
		return nil
	}
}
