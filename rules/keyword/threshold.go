package keyword

import (
	"fmt"
	"strconv"
	"strings"
)

// ThresholdType is threshold's `type`.
type ThresholdType uint8

// Threshold types.
const (
	ThLimit ThresholdType = iota
	ThThreshold
	ThBoth
	ThDetection // detection_filter
)

// Track says what a threshold counts by.
type Track uint8

// Tracking modes.
const (
	TrackSrc Track = iota
	TrackDst
	TrackRule
	TrackBoth
)

// Threshold is threshold or detection_filter's parameters.
type Threshold struct {
	Type    ThresholdType
	Track   Track
	Count   uint32
	Seconds uint32
	// UniqueOn counts distinct source (1) or destination (2) ports
	// instead of matches (detection_filter's unique_on).
	UniqueOn uint8
}

func init() {
	Register(Keyword{Name: "threshold", Apply: func(s *Sig, arg string) error {
		if s.Threshold != nil {
			return fmt.Errorf("only one threshold per rule")
		}
		t, err := parseThreshold(arg, false)
		if err != nil {
			return err
		}
		s.Threshold = t
		return nil
	}})
	Register(Keyword{Name: "detection_filter", Apply: func(s *Sig, arg string) error {
		if s.Filter != nil {
			return fmt.Errorf("only one detection_filter per rule")
		}
		t, err := parseThreshold(arg, true)
		if err != nil {
			return err
		}
		s.Filter = t
		return nil
	}})
}

func parseThreshold(arg string, filter bool) (*Threshold, error) {
	t := &Threshold{}
	if filter {
		t.Type = ThDetection
	}
	seen := map[string]bool{}
	for _, p := range splitArgs(arg) {
		k, v, _ := strings.Cut(p, " ")
		v = strings.TrimSpace(v)
		seen[k] = true
		switch k {
		case "type":
			if filter {
				return nil, fmt.Errorf("detection_filter has no type")
			}
			switch v {
			case "limit":
				t.Type = ThLimit
			case "threshold":
				t.Type = ThThreshold
			case "both":
				t.Type = ThBoth
			default:
				return nil, fmt.Errorf("type %q: use limit, threshold or both", v)
			}
		case "track":
			switch v {
			case "by_src":
				t.Track = TrackSrc
			case "by_dst":
				t.Track = TrackDst
			case "by_rule":
				t.Track = TrackRule
			case "by_both":
				t.Track = TrackBoth
			default:
				return nil, fmt.Errorf("track %q: use by_src, by_dst, by_rule or by_both", v)
			}
		case "count", "seconds":
			n, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("%s %q is not a number", k, v)
			}
			if k == "count" {
				t.Count = uint32(n)
			} else {
				t.Seconds = uint32(n)
			}
		case "unique_on":
			switch v {
			case "src_port":
				t.UniqueOn = 1
			case "dst_port":
				t.UniqueOn = 2
			default:
				return nil, fmt.Errorf("unique_on %q: use src_port or dst_port", v)
			}
		default:
			return nil, fmt.Errorf("unknown option %q", k)
		}
	}
	for _, need := range []string{"track", "count", "seconds"} {
		if !seen[need] {
			return nil, fmt.Errorf("missing %s", need)
		}
	}
	if !filter && !seen["type"] {
		return nil, fmt.Errorf("missing type")
	}
	return t, nil
}
