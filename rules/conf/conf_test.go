package conf

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tapwatch/tapwatch/test/testutil"
)

func write(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadFragmentWithHeaderAndSequences(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "suricata.yaml", `%YAML 1.1
---
outputs:
  - eve-log:
      enabled: yes
      types:
        - alert:
            payload: yes
        - flow
packet-alert-max: 3
stream:
  midstream: true
`)
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"outputs.0":                               "eve-log",
		"outputs.0.eve-log.enabled":               "yes",
		"outputs.0.eve-log.types.0.alert.payload": "yes",
		"outputs.0.eve-log.types.1":               "flow",
		"packet-alert-max":                        "3",
	} {
		if got, ok := c.Get(k); !ok || got != want {
			t.Errorf("Get(%q) = %q,%v, want %q", k, got, ok, want)
		}
	}
	if b, err := c.Bool("stream.midstream", false); err != nil || !b {
		t.Errorf("Bool(stream.midstream) = %v, %v", b, err)
	}
	if n, err := c.Int("packet-alert-max", 15); err != nil || n != 3 {
		t.Errorf("Int = %d, %v", n, err)
	}
}

func TestMergeOverDefaults(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "suricata.yaml", "outputs:\n  - fast:\n      enabled: yes\nvars:\n  address-groups:\n    HOME_NET: \"[10.0.0.0/8]\"\n")
	frag, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	c := Default()
	c.Merge(frag)
	v := c.Vars()
	if v.Address["HOME_NET"] != "[10.0.0.0/8]" {
		t.Errorf("HOME_NET = %q", v.Address["HOME_NET"])
	}
	if v.Address["EXTERNAL_NET"] != "!$HOME_NET" {
		t.Errorf("EXTERNAL_NET = %q; references must be left for the rules parser", v.Address["EXTERNAL_NET"])
	}
	if v.Port["HTTP_PORTS"] != "80" {
		t.Errorf("HTTP_PORTS = %q", v.Port["HTTP_PORTS"])
	}
	// A fragment's list replaces the default list wholesale.
	if _, ok := c.Get("outputs.0.eve-log.enabled"); ok {
		t.Error("default outputs list survived the fragment's list")
	}
	if got, _ := c.Get("outputs.0"); got != "fast" {
		t.Errorf("outputs.0 = %q", got)
	}
	// Default must not be shared state.
	if _, ok := Default().Get("outputs.0.fast.enabled"); ok {
		t.Error("Merge modified the defaults of later Default() calls")
	}
}

func TestSet(t *testing.T) {
	c := Default()
	for _, s := range []string{"stream.midstream=true", "app-layer.protocols.http.libhtp.default-config.response-body-limit=0", "new.key = x=y"} {
		if err := c.Set(s); err != nil {
			t.Fatal(err)
		}
	}
	if v, _ := c.Get("stream.midstream"); v != "true" {
		t.Errorf("midstream = %q", v)
	}
	if v, _ := c.Get("new.key"); v != "x=y" {
		t.Errorf("new.key = %q", v)
	}
	s := c.Settings()
	if s["app-layer.protocols.http.libhtp.default-config.response-body-limit"] != "0" {
		t.Error("Settings lacks the --set value")
	}
	if s["stream.reassembly.depth"] != "1 MiB" {
		t.Errorf("Settings depth = %q", s["stream.reassembly.depth"])
	}
	for _, bad := range []string{"novalue", "=x", "a..b=1"} {
		if err := c.Set(bad); err == nil {
			t.Errorf("Set(%q) succeeded", bad)
		}
	}
}

func TestIncludeRelative(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, sub, "inc.yaml", "detect:\n  profile: high\n")
	write(t, sub, "inc2.yaml", "a: 1\n")
	p := write(t, sub, "main.yaml", "%YAML 1.1\n---\ninclude: inc.yaml\nnested:\n  include: [inc2.yaml]\ndetect:\n  sgh: x\n")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := c.Get("detect.profile"); v != "high" {
		t.Errorf("detect.profile = %q", v)
	}
	if v, _ := c.Get("detect.sgh"); v != "x" {
		t.Errorf("detect.sgh = %q", v)
	}
	if v, _ := c.Get("nested.a"); v != "1" {
		t.Errorf("nested.a = %q", v)
	}
}

func TestErrorsNameFileLineKey(t *testing.T) {
	dir := t.TempDir()
	p := write(t, dir, "bad.yaml", "a: 1\nb: [\n")
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "bad.yaml") {
		t.Errorf("syntax error = %v, want the file name", err)
	}
	p = write(t, dir, "bool.yaml", "x:\n  y: maybe\n")
	c, err := Load(p)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Bool("x.y", false)
	if err == nil || !strings.Contains(err.Error(), "bool.yaml:2") || !strings.Contains(err.Error(), "x.y") {
		t.Errorf("Bool error = %v, want file:line and key", err)
	}
	p = write(t, dir, "inc.yaml", "include: missing.yaml\n")
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing include error = %v", err)
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"1 MiB": 1 << 20, "100kb": 100 << 10, "2560": 2560, "0": 0, "1.5mb": 3 << 19} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	if _, err := ParseSize("lots"); err == nil {
		t.Error("ParseSize(lots) succeeded")
	}
}

// TestDefaultsMatchSuricataYamlIn keeps the Go defaults honest against the
// upstream template and proves the template itself loads.
func TestDefaultsMatchSuricataYamlIn(t *testing.T) {
	in := testutil.CorpusPath(t, "suricata-defaults", "suricata.yaml.in")
	up, err := Load(in)
	if err != nil {
		t.Fatalf("load suricata.yaml.in: %v", err)
	}
	d := Default()
	uv, dv := up.Vars(), d.Vars()
	for _, m := range []struct{ up, def map[string]string }{{uv.Address, dv.Address}, {uv.Port, dv.Port}} {
		if len(m.up) != len(m.def) {
			t.Errorf("var count: upstream %d, defaults %d", len(m.up), len(m.def))
		}
		for k, v := range m.up {
			if m.def[k] != v {
				t.Errorf("var %s: upstream %q, defaults %q", k, v, m.def[k])
			}
		}
	}
	us := up.Settings()
	for _, k := range []string{"stream.inline", "stream.checksum-validation", "detect.profile", "flow-timeouts.tcp.established",
		"app-layer.protocols.http.libhtp.default-config.response-body-limit", "defrag.timeout"} {
		if dv, _ := d.Get(k); us[k] != dv {
			t.Errorf("%s: upstream %q, defaults %q", k, us[k], dv)
		}
	}
}

func TestLoadsEverySuricataVerifyConfig(t *testing.T) {
	sv := testutil.CorpusPath(t, "suricata-verify")
	n := 0
	err := filepath.WalkDir(sv, func(p string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() || de.Name() != "suricata.yaml" {
			return err
		}
		n++
		c, err := Load(p)
		if err != nil {
			t.Errorf("%v", err)
			return nil
		}
		full := Default()
		full.Merge(c)
		if full.Vars().Address["HOME_NET"] == "" {
			t.Errorf("%s: HOME_NET lost after merge", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 50 {
		t.Errorf("found only %d suricata.yaml files", n)
	}
}
