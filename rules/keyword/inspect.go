package keyword

import (
	"bytes"
	"math"
	"slices"
)

// recursionLimit bounds backtracking work per Inspect call, as Suricata's
// inspection_recursion_limit does, so crafted payloads cannot make
// relative-content rules quadratic without end.
const recursionLimit = 3000

// Scratch is per-worker state for Inspect. The zero value is ready; one
// Scratch serves every rule evaluated on a goroutine.
type Scratch struct {
	Vars  [MaxVars]int64
	runes []rune
	// b64 holds what base64_decode decoded (base64_decode.go).
	b64   []byte
	steps int
	// failFrom[i] is the smallest cursor from which op i, a relative
	// content searched to the end of the buffer, is known to fail: from
	// any later cursor it meets a subset of the same occurrences with the
	// same continuation, so it fails too. It turns the retries of rules
	// such as `content:"<"; content:".length"; distance:0; pcre:"/^.../R"`
	// on a large body from quadratic into linear. Unused (nil) when the
	// continuation can depend on more than the cursor (byte_extract
	// variables, base64_decode).
	failFrom []int
	// wide is 2 when runes holds the whole of the buffer Inspect is
	// matching, widened for regexp2 (pcre.go), so backtracking over a pcre
	// or several pcres on one buffer widen it once; 1 inside Inspect
	// before that, 0 outside Inspect (no caching).
	wide int8
}

// Inspect reports whether the ops (all on one buffer, in rule order) match
// buf. When a relative op fails, earlier contents are retried at their
// next occurrence, as Suricata does. It does not allocate for content,
// byte_* and isdataat ops, nor for base64_decode once its scratch space
// has grown.
func Inspect(ops []Op, buf []byte, sc *Scratch) bool {
	if len(ops) == 0 {
		return true
	}
	sc.steps = 0
	sc.wide = 1
	sc.failFrom = sc.failFrom[:0]
	if len(ops) > 1 && memoizable(ops) {
		sc.failFrom = slices.Grow(sc.failFrom, len(ops))[:len(ops)]
		for k := range sc.failFrom {
			sc.failFrom[k] = math.MaxInt
		}
	}
	ok := inspect(ops, 0, buf, 0, sc) == 1
	sc.wide = 0
	return ok
}

// memoizable reports whether the failure memo (Scratch.failFrom) can
// serve ops: every op's outcome depends only on the buffer and the cursor
// it starts from, and some op after the first (which is entered once) is
// a monotone content, the only kind the memo records.
func memoizable(ops []Op) bool {
	useful := false
	for k := range ops {
		switch ops[k].Kind {
		case OpByteExtract, OpBase64Decode, OpBase64Data:
			return false
		case OpContent:
			useful = useful || k > 0 && monotone(&ops[k])
		}
	}
	return useful
}

// monotone reports whether content op o fails from every cursor after one
// it failed from: relative, not negated, its window running to the end of
// the buffer and shifted by literal amounts only.
func monotone(o *Op) bool {
	return o.Relative && !o.Negated && !o.Within.Set && !o.Depth.Set && !o.StartsWith && !o.EndsWith &&
		o.Distance.Var == noVar && o.Offset.Var == noVar
}

// nextRelative reports whether op i+1 depends on where op i matched, the
// only case in which retrying op i elsewhere can change the outcome. A
// relative base64_decode does not count: Suricata's does not mark the
// match before it for retrying, so it decodes after the first one only.
func nextRelative(ops []Op, i int) bool {
	return i+1 < len(ops) && ops[i+1].Relative && ops[i+1].Kind != OpBase64Decode
}

func inspect(ops []Op, i int, buf []byte, cursor int, sc *Scratch) int {
	if i == len(ops) {
		return 1
	}
	sc.steps++
	if sc.steps > recursionLimit {
		return -1
	}
	o := &ops[i]
	switch o.Kind {
	case OpContent:
		return inspectContent(ops, i, o, buf, cursor, sc)
	case OpPcre:
		start := 0
		if o.Relative {
			start = cursor
		}
		for {
			ms, me, ok := o.Pcre.Find(buf, start, sc)
			if o.Pcre.Negated {
				if ok {
					return 0
				}
				return inspect(ops, i+1, buf, cursor, sc)
			}
			if !ok {
				return 0
			}
			r := inspect(ops, i+1, buf, me, sc)
			if r != 0 || !nextRelative(ops, i) {
				return r
			}
			start = ms + 1
			if start > len(buf) {
				return 0
			}
		}
	case OpByteTest:
		b := o.Byte
		pos, nb := b.where(cursor, sc)
		if nb < 1 && b.BytesVar != noVar {
			return 0
		}
		v, _, ok := b.extractN(buf, pos, nb)
		if !ok || !b.test(v, uint64(b.Value.value(&sc.Vars))) {
			return 0
		}
		return inspect(ops, i+1, buf, cursor, sc)
	case OpByteJump:
		b := o.Byte
		pos, nb := b.where(cursor, sc)
		v, used, ok := b.extractN(buf, pos, nb)
		if !ok {
			return 0
		}
		j := int64(v) * b.Multiplier
		if b.Align > 0 && j%int64(b.Align) != 0 {
			j += int64(b.Align) - j%int64(b.Align)
		}
		var nc int64
		switch {
		case b.FromBeginning:
			nc = j
		case b.FromEnd:
			nc = int64(len(buf)) + j
		default:
			// After what was read: with string, the digits, which
			// may be fewer than nb (Suricata jumps from there too).
			nc = int64(pos+used) + j
		}
		nc += b.PostOffset
		if nc < 0 {
			// Suricata clamps a jump before the buffer to its start.
			nc = 0
		}
		if nc > int64(len(buf)) {
			return 0
		}
		return inspect(ops, i+1, buf, int(nc), sc)
	case OpByteExtract:
		b := o.Byte
		pos, nb := b.where(cursor, sc)
		v, used, ok := b.extractN(buf, pos, nb)
		if !ok {
			return 0
		}
		x := int64(v) * b.Multiplier
		if b.Align > 0 && x%int64(b.Align) != 0 {
			x += int64(b.Align) - x%int64(b.Align)
		}
		sc.Vars[b.VarIdx] = x
		return inspect(ops, i+1, buf, pos+used, sc)
	case OpBsize:
		if !o.Size.Match(uint64(len(buf))) {
			return 0
		}
		return inspect(ops, i+1, buf, cursor, sc)
	case OpIsDataAt:
		d := o.Isdat
		n := int(d.N.value(&sc.Vars))
		var have bool
		if d.Relative {
			have = cursor+n <= len(buf)
		} else {
			have = n < len(buf)
		}
		if have == d.Negated {
			return 0
		}
		return inspect(ops, i+1, buf, cursor, sc)
	case OpBase64Decode:
		return inspectBase64(ops, i, buf, cursor, sc)
	}
	// OpBase64Data is reached only through inspectBase64, which starts
	// after it.
	return 0
}

// inspectBase64 decodes as base64_decode ops[i] says and runs the ops after
// the base64_data that follows it on the decoded bytes. As in Suricata,
// base64_data is terminal: its result is this buffer's, whatever ops sit
// between base64_decode and base64_data, and a base64_decode with no
// base64_data after it, or an empty base64_data, never matches.
func inspectBase64(ops []Op, i int, buf []byte, cursor int, sc *Scratch) int {
	j := i + 1
	for j < len(ops) && ops[j].Kind != OpBase64Data {
		j++
	}
	if j+1 >= len(ops) {
		return 0
	}
	sc.b64 = ops[i].B64.decode(sc.b64[:0], buf, cursor)
	if len(sc.b64) == 0 {
		return 0
	}
	// pcre's widened copy (Scratch.runes) is of one buffer: start afresh
	// on the decoded bytes, and again on buf afterwards.
	sc.wide = 1
	r := inspect(ops[j+1:], 0, sc.b64, 0, sc)
	sc.wide = 1
	return r
}

func inspectContent(ops []Op, i int, o *Op, buf []byte, cursor int, sc *Scratch) int {
	memo := len(sc.failFrom) > i && monotone(o)
	if memo && cursor >= sc.failFrom[i] {
		return 0
	}
	r := searchContent(ops, i, o, buf, cursor, sc)
	if memo && r == 0 {
		sc.failFrom[i] = min(sc.failFrom[i], cursor)
	}
	return r
}

func searchContent(ops []Op, i int, o *Op, buf []byte, cursor int, sc *Scratch) int {
	start, end := 0, len(buf)
	if o.Relative {
		start = cursor
		if o.Distance.Set {
			start += int(o.Distance.value(&sc.Vars))
		}
		if o.Within.Set {
			if e := start + int(o.Within.value(&sc.Vars)); e < end {
				end = e
			}
		}
	}
	if o.Offset.Set {
		if o.Relative {
			start += int(o.Offset.value(&sc.Vars))
		} else {
			start = int(o.Offset.value(&sc.Vars))
		}
	}
	if o.Depth.Set {
		if e := start + int(o.Depth.value(&sc.Vars)); e < end {
			end = e
		}
	}
	if o.StartsWith {
		if e := start + len(o.Pat); e < end {
			end = e
		}
	}
	if start < 0 {
		start = 0
	}
	if o.EndsWith && end == len(buf) && end-len(o.Pat) > start {
		start = end - len(o.Pat)
	}
	pos := start
	for {
		idx := -1
		if end-pos >= len(o.Pat) {
			idx = index(buf[pos:end], o.Pat, o.Nocase)
		}
		if o.EndsWith && idx >= 0 && pos+idx+len(o.Pat) != len(buf) {
			idx = -1
		}
		if o.Negated {
			if idx >= 0 {
				return 0
			}
			return inspect(ops, i+1, buf, cursor, sc)
		}
		if idx < 0 {
			return 0
		}
		at := pos + idx
		r := inspect(ops, i+1, buf, at+len(o.Pat), sc)
		if r != 0 || !nextRelative(ops, i) {
			return r
		}
		pos = at + 1
	}
}

// index finds pat in hay; with nocase, ASCII letters match either case.
// Candidates are found with IndexByte (SIMD in the runtime) on the first
// byte in both cases, then confirmed.
func index(hay, pat []byte, nocase bool) int {
	if !nocase {
		return bytes.Index(hay, pat)
	}
	n := len(pat)
	lo, up := pat[0], pat[0]
	if lo >= 'A' && lo <= 'Z' {
		lo += 'a' - 'A'
	} else if up >= 'a' && up <= 'z' {
		up -= 'a' - 'A'
	}
	last := len(hay) - n + 1 // candidate starts are below last
	if last <= 0 {
		return -1
	}
	// Next occurrence of each case of the first byte at or after i
	// (-1: none left), each searched again only once passed, so a
	// frequent case does not make us rescan for a rare one.
	nl, nu := -2, -2
	if up == lo {
		nu = -1
	}
	for i := 0; i < last; {
		if nl != -1 && nl < i {
			if k := bytes.IndexByte(hay[i:last], lo); k >= 0 {
				nl = i + k
			} else {
				nl = -1
			}
		}
		if nu != -1 && nu < i {
			if k := bytes.IndexByte(hay[i:last], up); k >= 0 {
				nu = i + k
			} else {
				nu = -1
			}
		}
		j := nl
		if j < 0 || (nu >= 0 && nu < j) {
			j = nu
		}
		if j < 0 {
			return -1
		}
		if equalFoldASCII(hay[j:j+n], pat) {
			return j
		}
		i = j + 1
	}
	return -1
}

func equalFoldASCII(a, b []byte) bool {
	for i := range a {
		x, y := a[i], b[i]
		if x == y {
			continue
		}
		if x >= 'A' && x <= 'Z' {
			x += 'a' - 'A'
		}
		if y >= 'A' && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// where resolves a byte_* op's offset (relative to cursor when it says
// so) and byte count, either of which may be a byte_extract variable.
func (b *ByteOp) where(cursor int, sc *Scratch) (pos, nbytes int) {
	pos = int(b.Offset.value(&sc.Vars))
	if b.Relative {
		pos += cursor
	}
	nbytes = b.Bytes
	if b.BytesVar != noVar {
		nbytes = int(sc.Vars[b.BytesVar])
	}
	return pos, nbytes
}
