package agent

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

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

// ruleFiles expands files, directories (their *.rules) and globs.
func ruleFiles(specs []string) ([]string, error) {
	var out []string
	for _, s := range specs {
		matches, err := filepath.Glob(s)
		if err != nil {
			return nil, fmt.Errorf("rule path %q: %w", s, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("rule path %q: no such file or directory", s)
		}
		for _, m := range matches {
			st, err := os.Stat(m)
			if err != nil {
				return nil, fmt.Errorf("rule path: %w", err)
			}
			if !st.IsDir() {
				out = append(out, m)
				continue
			}
			ents, err := os.ReadDir(m)
			if err != nil {
				return nil, fmt.Errorf("rule directory: %w", err)
			}
			for _, e := range ents {
				if !e.IsDir() && strings.HasSuffix(e.Name(), ".rules") {
					out = append(out, filepath.Join(m, e.Name()))
				}
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// loadRules parses and compiles every rule file. Bad rules are reported and
// skipped; only unusable settings fail the load.
func loadRules(c config.Rules, ips bool) (*ruleSet, error) {
	sc, err := suricataConf(c)
	if err != nil {
		return nil, err
	}
	files, err := ruleFiles(c.Files)
	if err != nil {
		return nil, err
	}
	var all []*rules.Rule
	rs := &ruleSet{}
	for _, f := range files {
		parsed, errs := rules.ParseFile(f, sc.Vars())
		all = append(all, parsed...)
		rs.errs = append(rs.errs, errs...)
	}
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
