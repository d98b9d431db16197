package agent

import (
	"fmt"
	"runtime/debug"

	"github.com/tapwatch/tapwatch/agent/config"
	"github.com/tapwatch/tapwatch/rules"
	"github.com/tapwatch/tapwatch/rules/conf"
	"github.com/tapwatch/tapwatch/rules/detect"
)

// ruleSet is a compiled engine and what loading it found.
type ruleSet struct {
	engine *detect.Engine
	loaded int
	errs   []error
}

// suricataConf returns the Suricata-style settings the rules see: the
// built-in defaults, the optional suricata.yaml, then tapwatch.yaml's vars.
func suricataConf(c config.Rules) (*conf.Config, error) {
	sc := conf.Default()
	if c.SuricataConfig != "" {
		f, err := conf.Load(c.SuricataConfig)
		if err != nil {
			return nil, fmt.Errorf("rules.suricata-config: %w", err)
		}
		sc.Merge(f)
	}
	for k, v := range c.AddressGroups {
		if err := sc.Set("vars.address-groups." + k + "=" + v); err != nil {
			return nil, fmt.Errorf("rules.address-groups.%s: %w", k, err)
		}
	}
	for k, v := range c.PortGroups {
		if err := sc.Set("vars.port-groups." + k + "=" + v); err != nil {
			return nil, fmt.Errorf("rules.port-groups.%s: %w", k, err)
		}
	}
	return sc, nil
}

// loadRules parses and compiles every rule file. Bad rules are reported and
// skipped; only unusable settings fail the load.
func loadRules(c config.Rules, ips bool) (*ruleSet, error) {
	sc, err := suricataConf(c)
	if err != nil {
		return nil, err
	}
	files, err := rules.ExpandPaths(c.Files)
	if err != nil {
		return nil, fmt.Errorf("rules.files: %w", err)
	}
	all, errs := rules.ParseFiles(files, sc.Vars())
	rs := &ruleSet{errs: errs}
	cls := c.Classification
	if cls == "" {
		cls = sc.ClassificationFile()
	}
	cls = config.Classification(cls, c.Files)
	eng, err := detect.Compile(all, detect.Options{ClassificationFile: cls, IPS: ips, Midstream: true, Settings: sc.Settings()})
	if err != nil {
		return nil, fmt.Errorf("compile rules: %w", err)
	}
	rs.engine = eng
	rs.errs = append(rs.errs, eng.Errors...)
	rs.loaded = eng.Len()
	return rs, nil
}

// releaseLoadGarbage collects what parsing and compiling left (several
// times the engine's size, plus the engine a reload replaced) and returns
// it to the OS, so the heap's next GC goal is sized on what inspection
// keeps rather than on the load's peak.
func releaseLoadGarbage() { debug.FreeOSMemory() }
