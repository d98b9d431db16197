package replay

import (
	"fmt"
	"runtime"
	"strconv"
	"strings"
)

// Options are the parsed command line of `tapwatch replay`.
type Options struct {
	Inputs         []string // -r and positional: pcap/pcapng files or directories
	ExclusiveRules []string // -S
	ExtraRules     []string // -s
	Config         string   // -c
	OutDir         string   // -l
	Checksums      string   // -k: "", "none" or "all"
	Sets           []string // --set key=value, in order
	SimulateIPS    bool
	Workers        int
	Runmode        string
	Verbose        int
	StrictRules    string // --strict-rule-keywords; accepted for compatibility
	NoProgress     bool
	CPUProfile     string // --cpuprofile FILE: a pprof CPU profile of the run
	MemProfile     string // --memprofile FILE: a pprof allocation profile of the run
}

// Usage is the help text.
const Usage = `usage: tapwatch replay [options] [-r] FILE|DIR ...

  -r FILE|DIR            pcap/pcapng file or directory (walked); repeatable
  -S RULES               rules file, exclusive (ignore rule-files of the config); repeatable
  -s RULES               rules file in addition to the config's; repeatable
  -c FILE                Suricata-style YAML config, merged over the defaults
  -l DIR                 output directory for eve.json (default ".")
  -k none|all            checksum validation
  --set KEY=VALUE        override a config value; repeatable
  --simulate-ips         IPS mode: drop rules drop
  --workers N            detection workers (default: number of CPUs)
  --runmode MODE         accepted for Suricata compatibility; ignored
  --strict-rule-keywords accepted for Suricata compatibility
  --no-progress          no progress line on a terminal
  --cpuprofile FILE      write a Go CPU profile of the run (go tool pprof)
  --memprofile FILE      write a Go allocation profile of the run (go tool pprof -sample_index=alloc_space)
  -v                     more output
`

// ParseArgs parses Suricata-style replay arguments. Options take their
// value as the next argument or after "=" (--set=a=b, -r=x) or glued to a
// short flag (-rFILE).
func ParseArgs(args []string) (*Options, error) {
	o := &Options{OutDir: ".", Workers: runtime.NumCPU()}
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			o.Inputs = append(o.Inputs, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			o.Inputs = append(o.Inputs, a)
			continue
		}
		name, val, hasVal := a, "", false
		if strings.HasPrefix(a, "--") {
			name, val, hasVal = strings.Cut(a, "=")
		} else if len(a) > 2 {
			name, val, hasVal = a[:2], strings.TrimPrefix(a[2:], "="), true
			if a[1] == 'v' && strings.Trim(a[1:], "v") == "" {
				o.Verbose += len(a) - 1
				continue
			}
		}
		value := func() (string, error) {
			if hasVal {
				return val, nil
			}
			if i+1 >= len(args) {
				return "", fmt.Errorf("replay: option %s needs a value", name)
			}
			i++
			return args[i], nil
		}
		var err error
		var v string
		switch name {
		case "-r", "--pcap":
			v, err = value()
			o.Inputs = append(o.Inputs, v)
		case "-S":
			v, err = value()
			o.ExclusiveRules = append(o.ExclusiveRules, v)
		case "-s":
			v, err = value()
			o.ExtraRules = append(o.ExtraRules, v)
		case "-c":
			o.Config, err = value()
		case "-l":
			o.OutDir, err = value()
		case "-k":
			v, err = value()
			if err == nil && v != "none" && v != "all" {
				err = fmt.Errorf("replay: -k %q: want none or all", v)
			}
			o.Checksums = v
		case "--set":
			v, err = value()
			if err == nil && !strings.Contains(v, "=") {
				err = fmt.Errorf("replay: --set %q: want key=value", v)
			}
			o.Sets = append(o.Sets, v)
		case "--simulate-ips":
			o.SimulateIPS = true
		case "--workers":
			v, err = value()
			if err == nil {
				o.Workers, err = strconv.Atoi(v)
				if err != nil || o.Workers < 1 {
					err = fmt.Errorf("replay: --workers %q: want a positive integer", v)
				}
			}
		case "--runmode":
			o.Runmode, err = value()
		case "--strict-rule-keywords":
			o.StrictRules = "all"
			if hasVal {
				o.StrictRules = val
			}
		case "--no-progress":
			o.NoProgress = true
		case "--cpuprofile":
			o.CPUProfile, err = value()
		case "--memprofile":
			o.MemProfile, err = value()
		case "-v", "--verbose":
			o.Verbose++
		case "-h", "--help":
			return nil, errHelp
		default:
			return nil, fmt.Errorf("replay: unknown option %s (see --help)", name)
		}
		if err != nil {
			return nil, err
		}
	}
	if len(o.Inputs) == 0 {
		return nil, fmt.Errorf("replay: no capture given; pass -r FILE.pcap")
	}
	return o, nil
}

type helpError struct{}

func (helpError) Error() string { return "help requested" }

var errHelp error = helpError{}
