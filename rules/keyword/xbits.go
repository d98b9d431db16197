package keyword

import (
	"fmt"
	"strconv"
	"strings"
)

// XbitTrack is what an xbit is kept on: the addresses thresholds count
// by too.
type XbitTrack = Track

// xbits trackers. ip_src and ip_dst name one host (Suricata's host bits:
// a bit set with track ip_src on a host is seen by track ip_dst on the
// same host); ip_pair the two addresses of the packet in either order
// (Suricata's IP-pair bits, a namespace of their own).
const (
	XbitSrc  = TrackSrc
	XbitDst  = TrackDst
	XbitPair = TrackBoth
)

// XbitExpireDefault is how many seconds a bit lives when the rule gives no
// expire (Suricata's DETECT_XBITS_EXPIRE_DEFAULT).
const XbitExpireDefault = 30

// XbitOp is one xbits option:
// `xbits:<set|unset|isset|isnotset|toggle>,<name>,track <ip_src|ip_dst|ip_pair>[,expire <seconds>]`.
// Like flowbits, isset and isnotset are conditions the rule must meet
// and set, unset and toggle act once the whole rule matched; unlike
// flowbits, the bit lives on a host or a pair of hosts, across flows,
// until it expires.
type XbitOp struct {
	Cmd    FlowbitCmd // FbSet, FbIsSet, FbIsNotSet, FbUnset or FbToggle
	Name   string
	Track  XbitTrack
	Expire uint32 // seconds a set bit lives (set and toggle), > 0
}

// IsCheck reports whether the op is a condition rather than an action.
func (x XbitOp) IsCheck() bool { return x.Cmd == FbIsSet || x.Cmd == FbIsNotSet }

// ParseXbits parses xbits' value. noalert reports `xbits:noalert`, which
// only silences the rule (no op). The command and the name come first, in
// that order; track is required and expire optional, in either order, each
// once.
func ParseXbits(arg string) (op XbitOp, noalert bool, err error) {
	op.Expire = XbitExpireDefault
	var cmdName string // the command as written, once read
	var haveName, haveTrack, haveExpire bool
	for _, tok := range strings.Split(arg, ",") {
		tok = strings.TrimSpace(tok)
		if tok == "" {
			continue
		}
		key, val := tok, ""
		if i := strings.IndexAny(tok, " \t"); i >= 0 {
			key, val = tok[:i], strings.TrimSpace(tok[i+1:])
		}
		switch {
		case cmdName == "":
			if val != "" {
				return op, false, fmt.Errorf("command %q takes no value", tok)
			}
			switch key {
			case "noalert":
				if strings.TrimSpace(arg) != "noalert" {
					return op, false, fmt.Errorf("noalert takes no name or options")
				}
				return op, true, nil
			}
			if op.Cmd, err = parseBitCmd(key); err != nil {
				return op, false, err
			}
			cmdName = key
		case !haveName:
			if val != "" {
				return op, false, fmt.Errorf("bit name %q contains a blank", tok)
			}
			op.Name = key
			haveName = true
		case key == "track":
			if haveTrack {
				return op, false, fmt.Errorf("track given twice")
			}
			switch val {
			case "ip_src":
				op.Track = XbitSrc
			case "ip_dst":
				op.Track = XbitDst
			case "ip_pair":
				op.Track = XbitPair
			case "tx":
				return op, false, unsupported("xbits track tx")
			default:
				return op, false, fmt.Errorf("unknown tracker %q: use track ip_src, ip_dst or ip_pair", val)
			}
			haveTrack = true
		case key == "expire":
			if haveExpire {
				return op, false, fmt.Errorf("expire given twice")
			}
			n, perr := strconv.ParseUint(val, 10, 32)
			if perr != nil || n == 0 {
				return op, false, fmt.Errorf("expire %q: want a number of seconds from 1 to 4294967295", val)
			}
			op.Expire = uint32(n)
			haveExpire = true
		default:
			return op, false, fmt.Errorf("unknown option %q: after the name come track <ip_src|ip_dst|ip_pair> and expire <seconds>", tok)
		}
	}
	switch {
	case cmdName == "":
		return op, false, fmt.Errorf("needs a command: set, unset, isset, isnotset, toggle or noalert")
	case !haveName:
		return op, false, fmt.Errorf("%q: %s needs a bit name", arg, cmdName)
	case !haveTrack:
		return op, false, fmt.Errorf("%q needs track ip_src, ip_dst or ip_pair", arg)
	}
	return op, false, nil
}

func init() {
	Register(Keyword{Name: "xbits", Apply: func(s *Sig, arg string) error {
		op, noalert, err := ParseXbits(arg)
		if err != nil {
			return err
		}
		if noalert {
			s.NoAlert = true
			return nil
		}
		s.Xbits = append(s.Xbits, op)
		return nil
	}})
}
