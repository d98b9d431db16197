package config

import (
	"gopkg.in/yaml.v3"
	"strings"
	"testing"
)

func TestParseDefaultsAndOverrides(t *testing.T) {
	cfg, err := Parse("t.yaml", []byte("libvirt:\n  uri: test:///default\ncapture:\n  hook-mode: clsact\n"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Libvirt.URI != "test:///default" || cfg.Capture.HookMode != "clsact" {
		t.Fatalf("overrides not applied: %+v", cfg)
	}
	if cfg.Outputs.EVE.Path != "/var/log/tapwatch/eve.json" || cfg.Capture.Snaplen != 1518 {
		t.Fatalf("defaults lost: %+v", cfg)
	}
}

func TestParseEmptyIsDefaults(t *testing.T) {
	cfg, err := Parse("t.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Control.Socket != Default().Control.Socket {
		t.Fatalf("got %q", cfg.Control.Socket)
	}
}

func TestParseErrorsNameLineAndKey(t *testing.T) {
	cases := []struct{ in, want string }{
		{"libvirt:\n  uri: x\n  urii: y\n", "t.yaml: line 3: field urii not found"},
		{"capture:\n  snaplen: many\n", "t.yaml: line 2:"},
		{"capture:\n\n  hook-mode: xdp\n", "t.yaml:3: hook-mode: \"xdp\" is not tcx or clsact"},
		{"hook:\n  policy: maybe\n", "t.yaml:2: policy:"},
	}
	for _, c := range cases {
		_, err := Parse("t.yaml", []byte(c.in))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Parse(%q) = %v, want error containing %q", c.in, err, c.want)
		}
	}
}

// The shipped config must always load: it documents every key.
func TestShippedConfigLoads(t *testing.T) {
	cfg, err := Load("../../deploy/tapwatch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Libvirt.URI != "qemu:///system" || cfg.Hook.Policy != "fail-open" || cfg.Capture.HookMode != "tcx" {
		t.Fatalf("unexpected shipped config: %+v", cfg)
	}
}

// A config written by yaml.Marshal (as tests and tools do) loads back equal.
func TestMarshalledConfigRoundTrips(t *testing.T) {
	cfg := Default()
	cfg.Libvirt.ExtraURIs = []string{"qemu+unix:///system?socket=/x"}
	cfg.Hook.Policy = "fail-closed"
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Parse("m.yaml", b)
	if err != nil {
		t.Fatal(err)
	}
	// Compared as YAML: nil and empty lists are the same config.
	again, _ := yaml.Marshal(got)
	if string(again) != string(b) || got.Libvirt.ExtraURIs[0] != cfg.Libvirt.ExtraURIs[0] || got.Flows.MaxAge != cfg.Flows.MaxAge {
		t.Fatalf("round trip changed the config:\n%s\n%s", b, again)
	}
}
