package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the daemon's configuration. Zero values take the defaults of
// Default.
type Config struct {
	Host    string  `yaml:"host"`
	Libvirt Libvirt `yaml:"libvirt"`
	Rules   Rules   `yaml:"rules"`
	Capture Capture `yaml:"capture"`
	Outputs Outputs `yaml:"outputs"`
	Control Control `yaml:"control"`
	Hook    Hook    `yaml:"hook"`
	Metrics Metrics `yaml:"metrics"`
	Flows   Flows   `yaml:"flows"`
	Record  Record  `yaml:"record"`
	// Workers is the number of detection workers (0: one per CPU).
	Workers int `yaml:"workers"`
	// Profiles are named rule selections a VM's metadata can ask for.
	Profiles map[string]Profile `yaml:"profiles"`
}

// Libvirt says where the VM inventory comes from.
type Libvirt struct {
	URI string `yaml:"uri"`
	// ExtraURIs are further libvirt connections to follow (another daemon on
	// this host, a session daemon); their VMs' taps are hooked the same way.
	ExtraURIs []string `yaml:"extra-uris"`
	// RetryInterval is how long to wait between connection attempts while libvirtd is down.
	RetryInterval time.Duration `yaml:"retry-interval"`
}

// Rules lists rule files and the variables they use.
type Rules struct {
	Files          []string          `yaml:"files"` // files, directories or globs
	Classification string            `yaml:"classification"`
	SuricataConfig string            `yaml:"suricata-config"` // optional suricata.yaml for vars
	AddressGroups  map[string]string `yaml:"address-groups"`
	PortGroups     map[string]string `yaml:"port-groups"`
}

// Capture configures the eBPF datapath.
type Capture struct {
	Snaplen  int    `yaml:"snaplen"`
	HookMode string `yaml:"hook-mode"` // tcx | clsact
	BPFFS    string `yaml:"bpffs"`
	// Interfaces are extra interfaces to attach besides the VMs' taps (uplinks are found from bridges).
	Interfaces []string `yaml:"interfaces"`
	// Bridges, when set, limits hooking to ports of these bridges; by
	// default every bridge that carries a VM (or an unknown tap) is watched.
	Bridges []string `yaml:"bridges"`
	IPS     bool     `yaml:"ips"`
}

// Outputs configures where events go.
type Outputs struct {
	EVE EVE `yaml:"eve"`
}

// EVE is the EVE JSON file output.
type EVE struct {
	Path      string `yaml:"path"`
	MaxSizeMB int    `yaml:"max-size-mb"`
	Keep      int    `yaml:"keep"`
}

// Control is the local API socket.
type Control struct {
	Socket string `yaml:"socket"`
	Group  string `yaml:"group"`
}

// Hook is the libvirt hook's policy when the agent cannot be reached.
type Hook struct {
	Policy string `yaml:"policy"` // fail-open | fail-closed
}

// Flows is the local flow store behind `tapwatch flows` and `vms show`.
type Flows struct {
	Store     string        `yaml:"store"` // SQLite file; "" disables the store (EVE flow events stay)
	MaxAge    time.Duration `yaml:"max-age"`
	MaxSizeMB int           `yaml:"max-size-mb"`
}

// Record is per-VM packet recording (rolling pcapng segments).
type Record struct {
	Dir       string        `yaml:"dir"`
	Mode      string        `yaml:"mode"` // default for VMs: off | alerts | all (a VM's <metadata> overrides)
	BudgetMB  int           `yaml:"budget-mb"`
	SegmentMB int           `yaml:"segment-mb"`
	PreAlert  time.Duration `yaml:"pre-alert"`
}

// Metrics is the Prometheus endpoint.
type Metrics struct {
	Listen string `yaml:"listen"`
}

// Profile is a named set of rule files.
type Profile struct {
	Files []string `yaml:"files"`
}

// Default returns the configuration used for keys a file leaves out.
func Default() Config {
	host, _ := os.Hostname()
	return Config{
		Host:    host,
		Libvirt: Libvirt{URI: "qemu:///system", RetryInterval: 2 * time.Second},
		Rules: Rules{
			Files:          []string{"/etc/tapwatch/rules"},
			Classification: "/etc/tapwatch/classification.config",
		},
		Capture: Capture{Snaplen: 1518, HookMode: "tcx", BPFFS: "/sys/fs/bpf/tapwatch"},
		Outputs: Outputs{EVE: EVE{Path: "/var/log/tapwatch/eve.json", MaxSizeMB: 100, Keep: 5}},
		Control: Control{Socket: "/run/tapwatch/tapwatch.sock", Group: "tapwatch"},
		Hook:    Hook{Policy: "fail-open"},
		Flows:   Flows{Store: "/var/lib/tapwatch/flows.db", MaxAge: 7 * 24 * time.Hour, MaxSizeMB: 1024},
		Record:  Record{Dir: "/var/lib/tapwatch/pcap", Mode: "alerts", BudgetMB: 4096, SegmentMB: 64, PreAlert: 30 * time.Second},
	}
}

// Load reads path over the defaults. Unknown keys, wrong types and invalid
// values are errors naming the file, line and key.
func Load(path string) (Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data)
}

// Parse is Load on bytes already read; name is used in errors.
func Parse(name string, data []byte) (Config, error) {
	cfg := Default()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if errors.As(err, &te) && len(te.Errors) > 0 {
			// yaml.v3 already says "line N: field x not found in type ..."; prefix the file.
			return Config{}, fmt.Errorf("%s: %s", name, te.Errors[0])
		}
		return Config{}, fmt.Errorf("%s: %w", name, err)
	}
	if err := cfg.validate(name, data); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

func (c *Config) validate(name string, data []byte) error {
	bad := func(key, msg string) error {
		return fmt.Errorf("%s:%d: %s: %s", name, lineOf(data, key), key, msg)
	}
	switch c.Capture.HookMode {
	case "tcx", "clsact":
	default:
		return bad("hook-mode", fmt.Sprintf("%q is not tcx or clsact", c.Capture.HookMode))
	}
	switch c.Hook.Policy {
	case "fail-open", "fail-closed":
	default:
		return bad("policy", fmt.Sprintf("%q is not fail-open or fail-closed", c.Hook.Policy))
	}
	if c.Capture.Snaplen < 64 || c.Capture.Snaplen > 65535 {
		return bad("snaplen", fmt.Sprintf("%d is outside 64..65535", c.Capture.Snaplen))
	}
	switch c.Record.Mode {
	case "off", "alerts", "all":
	default:
		return bad("mode", fmt.Sprintf("%q is not off, alerts or all", c.Record.Mode))
	}
	if c.Workers < 0 {
		return bad("workers", "must not be negative")
	}
	return nil
}

// lineOf finds the line where key is set, for error messages about values
// that parsed but are invalid (yaml.v3 only reports lines for type errors).
func lineOf(data []byte, key string) int {
	var root yaml.Node
	if yaml.Unmarshal(data, &root) != nil {
		return 0
	}
	var find func(n *yaml.Node) int
	find = func(n *yaml.Node) int {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == key {
					return n.Content[i].Line
				}
				if l := find(n.Content[i+1]); l > 0 {
					return l
				}
			}
		}
		for _, c := range n.Content {
			if n.Kind != yaml.MappingNode {
				if l := find(c); l > 0 {
					return l
				}
			}
		}
		return 0
	}
	return find(&root)
}
