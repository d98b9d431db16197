package sv

import (
	"encoding/json"
	"fmt"
	"math/big"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Filter is one `filter` check of a test.yaml.
type Filter struct {
	Filename string         // "" means eve.json
	Count    *int           // nil: at least one record must match
	Match    map[string]any // keys: dotted paths, has-key, not-has-key, operator suffixes
}

var indexRe = regexp.MustCompile(`^(.*?)((?:\[\d+\])+)$`)

// operators are the suffixes upstream accepts on match keys.
var operators = []string{"__len", "__contains", "__find", "__startswith", "__endswith", "__gte", "__gt", "__lte", "__lt"}

// splitOp separates an operator suffix ("a.b.__len", "a.b__gt") from the
// path.
func splitOp(key string) (path, op string) {
	for _, o := range operators {
		if strings.HasSuffix(key, o) {
			path = strings.TrimSuffix(key, o)
			return strings.TrimSuffix(path, "."), o
		}
	}
	return key, ""
}

// FindValue resolves a dotted path with array indexes ("files[0].filename")
// in a decoded JSON record. ok is false when any step is missing.
func FindValue(path string, rec any) (any, bool) {
	if path == "" {
		return rec, true
	}
	obj := rec
	for _, part := range strings.Split(path, ".") {
		name, idx := part, ""
		if m := indexRe.FindStringSubmatch(part); m != nil {
			name, idx = m[1], m[2]
		}
		if name != "" {
			m, ok := obj.(map[string]any)
			if !ok {
				return nil, false
			}
			v, ok := m[name]
			if !ok {
				return nil, false
			}
			obj = v
		}
		for idx != "" {
			end := strings.IndexByte(idx, ']')
			n, _ := strconv.Atoi(idx[1:end])
			idx = idx[end+1:]
			arr, ok := obj.([]any)
			if !ok || n >= len(arr) {
				return nil, false
			}
			obj = arr[n]
		}
	}
	return obj, true
}

// length is Python's len(), -1 for values without one.
func length(v any) int {
	switch x := v.(type) {
	case string:
		return len([]rune(x))
	case []any:
		return len(x)
	case map[string]any:
		return len(x)
	}
	return -1
}

// number converts YAML and JSON numbers (and bools, as Python does) to a
// big.Float for comparison.
func number(v any) (*big.Float, bool) {
	switch x := v.(type) {
	case json.Number:
		f, _, err := big.ParseFloat(string(x), 10, 128, big.ToNearestEven)
		return f, err == nil
	case int:
		return new(big.Float).SetInt64(int64(x)), true
	case int64:
		return new(big.Float).SetInt64(x), true
	case uint64:
		return new(big.Float).SetUint64(x), true
	case float64:
		return big.NewFloat(x), true
	case bool:
		if x {
			return big.NewFloat(1), true
		}
		return big.NewFloat(0), true
	}
	return nil, false
}

// Equal compares like Python's ==: numbers by value across int/float
// (and bool), strings exactly, lists and maps element-wise; a string never
// equals a number.
func Equal(got, want any) bool {
	gn, gok := number(got)
	wn, wok := number(want)
	if gok && wok {
		return gn.Cmp(wn) == 0
	}
	if gok != wok {
		return false
	}
	switch w := want.(type) {
	case nil:
		return got == nil
	case string:
		g, ok := got.(string)
		return ok && g == w
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for i := range w {
			if !Equal(g[i], w[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok || len(g) != len(w) {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !Equal(gv, wv) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(got, want)
}

func compare(got, want any, op string) bool {
	gn, gok := number(got)
	wn, wok := number(want)
	if !gok || !wok {
		gs, g1 := got.(string)
		ws, w1 := want.(string)
		if !g1 || !w1 {
			return false
		}
		c := strings.Compare(gs, ws)
		gn, wn = big.NewFloat(float64(c)), big.NewFloat(0)
	}
	c := gn.Cmp(wn)
	switch op {
	case "__gt":
		return c > 0
	case "__gte":
		return c >= 0
	case "__lt":
		return c < 0
	case "__lte":
		return c <= 0
	}
	return false
}

// matchKey evaluates one match entry against a record; it returns a short
// description of the actual value when it does not match.
func matchKey(rec map[string]any, key string, want any) (bool, any) {
	switch key {
	case "has-key":
		p, _ := want.(string)
		_, ok := FindValue(p, rec)
		return ok, "absent"
	case "not-has-key":
		p, _ := want.(string)
		v, ok := FindValue(p, rec)
		return !ok, v
	}
	path, op := splitOp(key)
	v, ok := FindValue(path, rec)
	if !ok {
		// Upstream compares Python's None: only an expected null matches.
		return op == "" && want == nil, "<absent>"
	}
	switch op {
	case "":
		return Equal(v, want), v
	case "__len":
		return Equal(json.Number(strconv.Itoa(length(v))), want), length(v)
	case "__contains":
		switch x := v.(type) {
		case string:
			w, ok := want.(string)
			return ok && strings.Contains(x, w), v
		case []any:
			for _, e := range x {
				if Equal(e, want) {
					return true, v
				}
			}
			return false, v
		case map[string]any:
			w, ok := want.(string)
			if !ok {
				return false, v
			}
			_, has := x[w]
			return has, v
		}
		return false, v
	case "__find":
		s, ok1 := v.(string)
		w, ok2 := want.(string)
		return ok1 && ok2 && strings.Contains(s, w), v
	case "__startswith":
		s, ok1 := v.(string)
		w, ok2 := want.(string)
		return ok1 && ok2 && strings.HasPrefix(s, w), v
	case "__endswith":
		s, ok1 := v.(string)
		w, ok2 := want.(string)
		return ok1 && ok2 && strings.HasSuffix(s, w), v
	default:
		return compare(v, want, op), v
	}
}

// Matches reports whether rec satisfies every entry of f.Match.
func (f *Filter) Matches(rec map[string]any) bool {
	for k, want := range f.Match {
		if ok, _ := matchKey(rec, k, want); !ok {
			return false
		}
	}
	return true
}

// Eval counts matching records and compares with Count. On failure it
// explains: expected vs got, and for a missing record the closest
// candidate's first differing key.
func (f *Filter) Eval(records []map[string]any) (bool, string) {
	n := 0
	for _, r := range records {
		if f.Matches(r) {
			n++
		}
	}
	if f.Count == nil {
		if n > 0 {
			return true, ""
		}
		return false, fmt.Sprintf("expected at least 1 matching record, got 0%s", f.nearMiss(records))
	}
	if n == *f.Count {
		return true, ""
	}
	msg := fmt.Sprintf("expected count %d, got %d (match %s)", *f.Count, n, f.describe())
	if n < *f.Count {
		msg += f.nearMiss(records)
	}
	return false, msg
}

func (f *Filter) describe() string {
	keys := make([]string, 0, len(f.Match))
	for k := range f.Match {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%v", k, f.Match[k])
	}
	return strings.Join(parts, " ")
}

// nearMiss names the first failing key of the record that matched the
// most keys, which is usually the one the test meant.
func (f *Filter) nearMiss(records []map[string]any) string {
	keys := make([]string, 0, len(f.Match))
	for k := range f.Match {
		keys = append(keys, k)
	}
	// event_type and signature first: a near miss should be the right kind.
	sort.Slice(keys, func(i, j int) bool {
		pi, pj := keyRank(keys[i]), keyRank(keys[j])
		if pi != pj {
			return pi < pj
		}
		return keys[i] < keys[j]
	})
	best, bestKey := -1, ""
	var bestGot any
	for _, r := range records {
		good := 0
		failKey := ""
		var failGot any
		for _, k := range keys {
			ok, got := matchKey(r, k, f.Match[k])
			if !ok {
				failKey, failGot = k, got
				break
			}
			good++
		}
		if failKey != "" && good > best {
			best, bestKey, bestGot = good, failKey, failGot
		}
	}
	if best <= 0 {
		return ""
	}
	return fmt.Sprintf("; nearest record has %s=%v, want %v", bestKey, bestGot, f.Match[bestKey])
}

func keyRank(k string) int {
	switch k {
	case "event_type":
		return 0
	case "alert.signature_id":
		return 1
	}
	return 2
}
