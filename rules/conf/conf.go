package conf

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/tapwatch/tapwatch/rules"
)

// node mirrors Suricata's ConfNode: a scalar value and/or ordered children.
// Sequence items are children named by their index, so "outputs.1.eve-log"
// addresses them as --set does in Suricata.
type node struct {
	val    string
	hasVal bool
	seq    bool
	keys   []string
	kids   map[string]*node
	file   string
	line   int
}

func newNode() *node { return &node{kids: map[string]*node{}} }

func (n *node) child(k string) *node {
	if n.kids == nil {
		return nil
	}
	return n.kids[k]
}

func (n *node) setChild(k string, c *node) {
	if n.kids == nil {
		n.kids = map[string]*node{}
	}
	if _, ok := n.kids[k]; !ok {
		n.keys = append(n.keys, k)
	}
	n.kids[k] = c
}

func (n *node) clone() *node {
	c := *n
	c.keys = append([]string(nil), n.keys...)
	c.kids = make(map[string]*node, len(n.kids))
	for k, v := range n.kids {
		c.kids[k] = v.clone()
	}
	return &c
}

// merge overlays o onto n: mappings merge key by key, while a sequence or a
// scalar in o replaces what n held, because a fragment's "outputs:" list is
// meant as the whole list, not an addition to the defaults'.
func (n *node) merge(o *node) {
	if o.seq || len(o.kids) == 0 {
		if o.hasVal || o.seq || len(o.kids) > 0 {
			*n = *o.clone()
		}
		return
	}
	if n.seq {
		*n = *newNode()
	}
	if o.hasVal {
		n.val, n.hasVal = o.val, true
	}
	for _, k := range o.keys {
		oc := o.kids[k]
		if nc := n.child(k); nc != nil {
			nc.merge(oc)
		} else {
			n.setChild(k, oc.clone())
		}
	}
}

// Config is a loaded configuration. It is not safe for concurrent
// mutation; read-only use from several goroutines is fine.
type Config struct {
	root *node
	// dir is the directory relative paths in the config resolve against.
	dir string
}

// Load reads a Suricata YAML config, following include: directives
// relative to the file's directory. It returns only what the file says;
// merge it over Default() for a complete configuration.
func Load(path string) (*Config, error) {
	root, err := loadFile(path, 0)
	if err != nil {
		return nil, err
	}
	return &Config{root: root, dir: filepath.Dir(path)}, nil
}

// Parse reads a config from memory; name is used in error messages and dir
// resolves includes.
func Parse(name string, data []byte, dir string) (*Config, error) {
	root, err := parseBytes(name, data, dir, 0)
	if err != nil {
		return nil, err
	}
	return &Config{root: root, dir: dir}, nil
}

const maxIncludeDepth = 16

func loadFile(path string, depth int) (*node, error) {
	if depth > maxIncludeDepth {
		return nil, fmt.Errorf("conf: %s: includes nested deeper than %d; look for an include cycle", path, maxIncludeDepth)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("conf: read config: %w", err)
	}
	return parseBytes(path, data, filepath.Dir(path), depth)
}

// placeholder matches autoconf substitutions left in suricata.yaml.in.
var placeholder = regexp.MustCompile(`@[A-Za-z_][A-Za-z0-9_]*@`)

// prepare strips the %YAML 1.1 directive (yaml.v3 only speaks 1.2 and
// rejects it) and neutralises autoconf placeholders, which are not valid
// YAML where they start a scalar. Line numbers are kept.
func prepare(data []byte) []byte {
	lines := bytes.Split(data, []byte("\n"))
	for i, l := range lines {
		t := bytes.TrimSpace(l)
		if bytes.HasPrefix(t, []byte("%YAML")) {
			lines[i] = nil
			continue
		}
		if bytes.IndexByte(l, '@') >= 0 {
			lines[i] = placeholder.ReplaceAllFunc(l, func(m []byte) []byte {
				// configure turns *_comment@ into "#" when a feature is off.
				if bytes.HasSuffix(m, []byte("_comment@")) {
					return []byte("#")
				}
				return nil
			})
		}
	}
	return bytes.Join(lines, []byte("\n"))
}

func parseBytes(name string, data []byte, dir string, depth int) (*node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(prepare(data), &doc); err != nil {
		return nil, fmt.Errorf("conf: %s: %w (fix the YAML syntax)", name, err)
	}
	root := newNode()
	if len(doc.Content) == 0 {
		return root, nil
	}
	top := doc.Content[0]
	if top.Kind != yaml.MappingNode {
		if top.Kind == yaml.ScalarNode && top.Value == "" {
			return root, nil
		}
		return nil, fmt.Errorf("conf: %s:%d: top level must be a mapping of keys", name, top.Line)
	}
	b := builder{name: name, dir: dir, depth: depth}
	if err := b.fill(root, top, ""); err != nil {
		return nil, err
	}
	return root, nil
}

type builder struct {
	name  string
	dir   string
	depth int
}

func (b *builder) include(dst *node, v *yaml.Node, key string) error {
	var files []string
	switch v.Kind {
	case yaml.ScalarNode:
		files = []string{v.Value}
	case yaml.SequenceNode:
		for _, it := range v.Content {
			files = append(files, it.Value)
		}
	default:
		return fmt.Errorf("conf: %s:%d: key %q: include takes a file name or a list of them", b.name, v.Line, key)
	}
	for _, f := range files {
		if f == "" {
			continue
		}
		p := f
		if !filepath.IsAbs(p) {
			p = filepath.Join(b.dir, p)
		}
		inc, err := loadFile(p, b.depth+1)
		if err != nil {
			return fmt.Errorf("conf: %s:%d: key %q: include %s: %w", b.name, v.Line, key, f, err)
		}
		dst.merge(inc)
	}
	return nil
}

func (b *builder) fill(dst *node, y *yaml.Node, path string) error {
	dst.file, dst.line = b.name, y.Line
	if y.Tag == "!include" {
		return b.include(dst, y, path)
	}
	switch y.Kind {
	case yaml.AliasNode:
		return b.fill(dst, y.Alias, path)
	case yaml.ScalarNode:
		if y.Tag == "!!null" {
			return nil
		}
		dst.val, dst.hasVal = y.Value, true
	case yaml.SequenceNode:
		dst.seq = true
		for i, it := range y.Content {
			k := strconv.Itoa(i)
			c := newNode()
			if err := b.fill(c, it, join(path, k)); err != nil {
				return err
			}
			// Suricata names a "- name: {...}" item by its single key as
			// well as its index; keep the key as the item's value so
			// lookups such as outputs.N = "eve-log" work as there.
			if it.Kind == yaml.MappingNode && len(it.Content) == 2 {
				c.val, c.hasVal = it.Content[0].Value, true
			}
			dst.setChild(k, c)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(y.Content); i += 2 {
			kn, vn := y.Content[i], y.Content[i+1]
			if kn.Kind == yaml.AliasNode {
				kn = kn.Alias
			}
			k := kn.Value
			if k == "<<" { // YAML merge key: fold the anchor's mapping in
				if err := b.fill(dst, vn, path); err != nil {
					return err
				}
				continue
			}
			if k == "include" {
				if err := b.include(dst, vn, join(path, k)); err != nil {
					return err
				}
				continue
			}
			if strings.Contains(k, ".") {
				return fmt.Errorf("conf: %s:%d: key %q under %q contains a dot, which dotted lookups cannot address; rename it", b.name, kn.Line, k, path)
			}
			c := newNode()
			if err := b.fill(c, vn, join(path, k)); err != nil {
				return err
			}
			if old := dst.child(k); old != nil {
				old.merge(c)
			} else {
				dst.setChild(k, c)
			}
		}
	}
	return nil
}

func join(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// Merge overlays other onto c: other's scalars and lists win, mappings
// merge key by key.
func (c *Config) Merge(other *Config) {
	if other == nil || other.root == nil {
		return
	}
	if c.root == nil {
		c.root = newNode()
	}
	c.root.merge(other.root)
	if other.dir != "" {
		c.dir = other.dir
	}
}

func (c *Config) lookup(dotted string) *node {
	n := c.root
	if n == nil {
		return nil
	}
	if dotted == "" {
		return n
	}
	for _, part := range strings.Split(dotted, ".") {
		n = n.child(part)
		if n == nil {
			return nil
		}
	}
	return n
}

// Set applies one Suricata --set override, "a.b.c=value", creating the path.
func (c *Config) Set(kv string) error {
	k, v, ok := strings.Cut(kv, "=")
	k = strings.TrimSpace(k)
	if !ok || k == "" {
		return fmt.Errorf("conf: --set %q: want key=value, e.g. stream.midstream=true", kv)
	}
	if c.root == nil {
		c.root = newNode()
	}
	n := c.root
	for _, part := range strings.Split(k, ".") {
		if part == "" {
			return fmt.Errorf("conf: --set %q: empty component in key %q", kv, k)
		}
		ch := n.child(part)
		if ch == nil {
			ch = newNode()
			n.setChild(part, ch)
		}
		n = ch
	}
	n.val, n.hasVal = strings.TrimSpace(v), true
	n.file, n.line = "--set", 0
	return nil
}

// Get returns the scalar at a dotted path ("stream.reassembly.depth").
func (c *Config) Get(dotted string) (string, bool) {
	n := c.lookup(dotted)
	if n == nil || !n.hasVal {
		return "", false
	}
	return n.val, true
}

// Bool reads a Suricata boolean (yes/no, true/false, on/off, 1/0). A
// missing key yields def; a malformed one an error naming the key and its
// origin.
func (c *Config) Bool(dotted string, def bool) (bool, error) {
	n := c.lookup(dotted)
	if n == nil || !n.hasVal {
		return def, nil
	}
	switch strings.ToLower(strings.TrimSpace(n.val)) {
	case "yes", "true", "on", "1", "y":
		return true, nil
	case "no", "false", "off", "0", "n", "":
		return false, nil
	}
	return def, fmt.Errorf("conf: %s:%d: key %q: %q is not a boolean; use yes or no", n.file, n.line, dotted, n.val)
}

// Int reads an integer, accepting Suricata's size suffixes (kb, mb, gb,
// KiB, MiB, GiB). A missing key yields def.
func (c *Config) Int(dotted string, def int64) (int64, error) {
	n := c.lookup(dotted)
	if n == nil || !n.hasVal {
		return def, nil
	}
	v, err := ParseSize(n.val)
	if err != nil {
		return def, fmt.Errorf("conf: %s:%d: key %q: %w", n.file, n.line, dotted, err)
	}
	return v, nil
}

// ParseSize parses an integer with an optional Suricata size suffix.
func ParseSize(s string) (int64, error) {
	t := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), " ", ""))
	mult := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"kb", 1 << 10}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"b", 1}} {
		if strings.HasSuffix(t, u.suf) {
			t, mult = strings.TrimSuffix(t, u.suf), u.m
			break
		}
	}
	if f, err := strconv.ParseFloat(t, 64); err == nil && strings.ContainsAny(t, ".eE") {
		return int64(f * float64(mult)), nil
	}
	v, err := strconv.ParseInt(t, 0, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is not an integer or size (e.g. 1mb)", s)
	}
	return v * mult, nil
}

// Vars returns vars.address-groups and vars.port-groups as strings;
// references to other variables ($HOME_NET) are left for the rules parser.
func (c *Config) Vars() rules.Vars {
	v := rules.Vars{Address: map[string]string{}, Port: map[string]string{}}
	fill := func(dst map[string]string, path string) {
		n := c.lookup(path)
		if n == nil {
			return
		}
		for _, k := range n.keys {
			if ch := n.kids[k]; ch.hasVal {
				dst[k] = ch.val
			}
		}
	}
	fill(v.Address, "vars.address-groups")
	fill(v.Port, "vars.port-groups")
	return v
}

// ClassificationFile returns classification-file, resolved against the
// directory of the config that set it when relative; "" when unset.
func (c *Config) ClassificationFile() string {
	n := c.lookup("classification-file")
	if n == nil || !n.hasVal || n.val == "" {
		return ""
	}
	p := n.val
	if !filepath.IsAbs(p) && n.file != "" && n.file != "--set" && n.file != defaultsName {
		p = filepath.Join(filepath.Dir(n.file), p)
	}
	return p
}

// Settings flattens every scalar to its dotted key, for detect.Options.
func (c *Config) Settings() map[string]string {
	out := map[string]string{}
	var walk func(n *node, path string)
	walk = func(n *node, path string) {
		if n.hasVal && path != "" {
			out[path] = n.val
		}
		for _, k := range n.keys {
			walk(n.kids[k], join(path, k))
		}
	}
	if c.root != nil {
		walk(c.root, "")
	}
	return out
}

// Keys lists the direct children of a dotted path in file order.
func (c *Config) Keys(dotted string) []string {
	n := c.lookup(dotted)
	if n == nil {
		return nil
	}
	return append([]string(nil), n.keys...)
}

// Clone returns a deep copy, so a shared default can be modified per run.
func (c *Config) Clone() *Config {
	if c.root == nil {
		return &Config{dir: c.dir}
	}
	return &Config{root: c.root.clone(), dir: c.dir}
}
