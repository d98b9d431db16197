package keyword

import (
	"fmt"
	"strconv"
	"strings"
)

// The metadata keywords only describe a rule; they share a file because
// each is a one-line parse with no match side.

func init() {
	Register(Keyword{Name: "msg", Apply: func(s *Sig, arg string) error {
		s.Msg = unescapeMsg(unquote(arg))
		return nil
	}})
	Register(Keyword{Name: "sid", Apply: u32Field("sid", func(s *Sig, v uint32) { s.SID = v })})
	Register(Keyword{Name: "rev", Apply: u32Field("rev", func(s *Sig, v uint32) { s.Rev = v })})
	Register(Keyword{Name: "gid", Apply: u32Field("gid", func(s *Sig, v uint32) { s.GID = v })})
	Register(Keyword{Name: "priority", Apply: func(s *Sig, arg string) error {
		n, err := strconv.Atoi(strings.TrimSpace(arg))
		if err != nil || n < 1 || n > 255 {
			return fmt.Errorf("%q must be a number 1..255", arg)
		}
		s.Priority = n
		return nil
	}})
	Register(Keyword{Name: "classtype", Apply: func(s *Sig, arg string) error {
		c := strings.TrimSpace(arg)
		if c == "" || strings.ContainsAny(c, " \t,") {
			return fmt.Errorf("bad classtype %q", arg)
		}
		s.Class = c
		return nil
	}})
	Register(Keyword{Name: "reference", Apply: func(s *Sig, arg string) error {
		s.References = append(s.References, strings.TrimSpace(arg))
		return nil
	}})
	Register(Keyword{Name: "metadata", Apply: func(s *Sig, arg string) error {
		if s.Metadata == nil {
			s.Metadata = map[string][]string{}
		}
		for _, kv := range splitArgs(arg) {
			k, v, _ := strings.Cut(kv, " ")
			if k == "" {
				continue
			}
			s.Metadata[k] = append(s.Metadata[k], strings.TrimSpace(v))
		}
		return nil
	}})
	Register(Keyword{Name: "target", Apply: func(s *Sig, arg string) error {
		switch t := strings.TrimSpace(arg); t {
		case "src_ip", "dest_ip":
			s.Target = t
			return nil
		}
		return fmt.Errorf("%q: use src_ip or dest_ip", arg)
	}})
	// tag asks for extra packets to be logged; tapwatch's recorder decides
	// that itself, so the option is accepted and ignored.
	Register(Keyword{Name: "tag", Apply: func(s *Sig, arg string) error { return nil }})
	Register(Keyword{Name: "rem", Apply: func(s *Sig, arg string) error { return nil }})
	Register(Keyword{Name: "service", Apply: func(s *Sig, arg string) error {
		first := strings.TrimSpace(splitArgs(arg)[0])
		if first == "" {
			return fmt.Errorf("needs a service name")
		}
		if s.AppProto == "" {
			s.AppProto = first
		}
		s.Snort3 = true
		return nil
	}})
	Register(Keyword{Name: "app-layer-protocol", Apply: func(s *Sig, arg string) error {
		a := strings.TrimSpace(arg)
		if strings.HasPrefix(a, "!") || strings.Contains(a, ",") {
			return unsupported("app-layer-protocol with negation or options")
		}
		s.AppProto = a
		return nil
	}})
}

func u32Field(name string, set func(*Sig, uint32)) func(*Sig, string) error {
	return func(s *Sig, arg string) error {
		n, err := strconv.ParseUint(strings.TrimSpace(arg), 10, 32)
		if err != nil {
			return fmt.Errorf("%q is not a number", arg)
		}
		set(s, uint32(n))
		return nil
	}
}

func unescapeMsg(m string) string {
	if !strings.Contains(m, `\`) {
		return m
	}
	var b strings.Builder
	for i := 0; i < len(m); i++ {
		if m[i] == '\\' && i+1 < len(m) {
			i++
		}
		b.WriteByte(m[i])
	}
	return b.String()
}
