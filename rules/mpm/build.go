package mpm

import (
	"encoding/binary"
	"math/bits"
	"slices"
)

// rawPattern is one Builder.Add call.
type rawPattern struct {
	b      []byte
	nocase bool
	id     uint32
}

// pattern is one distinct (bytes, nocase) pair, with every id it was added
// under: duplicates are verified once and report all their ids.
type pattern struct {
	off, n uint32 // bytes are data[off:off+n]
	// id is the dense id when nIDs == 1, else the start of the ids in idList.
	id, nIDs uint32
	nocase   bool
}

// entry ties an anchor gram to the pattern it was cut from.
type entry struct {
	gram uint32 // folded anchor bytes, little-endian
	// raw is the unfolded anchor of a case-sensitive pattern: when it
	// differs from the buffer's bytes the pattern cannot match there, known
	// without loading the pattern.
	raw uint32
	pat uint32
	// anchor is the anchor's offset inside the pattern, with flags:
	// exactBit, winBit, and in winShift's 4 bits where win starts
	// relative to the anchor, plus 8.
	anchor uint32
	// win, with winBit, is another folded 4-byte window of the pattern,
	// near its anchor. confirm compares it before touching the pattern or
	// the scratch stamps: most anchor hits in traffic are not the
	// pattern, and rejecting them from the entry alone saves the cache
	// misses a verification costs.
	win uint32
}

const (
	exactBit = 1 << 31 // entry.anchor: a case-sensitive pattern
	winBit   = 1 << 30 // entry.anchor: win is set
	winShift = 24
	offMask  = 1<<winShift - 1
)

// winRel returns where e's window starts relative to its anchor.
func (e *entry) winRel() int { return int(e.anchor>>winShift&15) - 8 }

// setWin gives e the window of pattern bytes b starting at w, when it
// starts within [-8, 7] of the anchor.
func (e *entry) setWin(b []byte, w int) {
	rel := w - int(e.anchor&offMask)
	if rel < -8 || rel > 7 || w < 0 || w+gramLen > len(b) {
		return
	}
	e.win = gramAt(b, w, gramLen)
	e.anchor |= winBit | uint32(rel+8)<<winShift
}

// table is the "filter then confirm" index for patterns of one length
// class. Each pattern contributes stride width-byte anchors, folded to
// lower case. Scan hashes the folded gram at every stride-th buffer
// position and tests a bitmap small enough to stay in L1/L2; only on a set
// bit does it walk the bucket and verify candidates. Case-sensitive
// patterns share the folded filter and are checked exactly on
// confirmation.
type table struct {
	width int // anchor length in bytes; 0 when the table is empty
	// stride: only every stride-th buffer position is tested. Each pattern
	// then has stride anchors at consecutive offsets, so exactly one of
	// them lies on a tested position wherever the pattern occurs. It needs
	// every pattern to be at least width+stride-1 long.
	stride int
	bits   []uint64
	shift  uint // bitmap index = (gram*hashMul) >> shift
	// bits2 is the same bitmap under another hash (hashMul2), tested only
	// where bits is set: at ~16 bits per anchor, one in 16 tested
	// positions of traffic passes bits by collision alone, and a bucket
	// walk costs cache misses.
	bits2 []uint64
	// next screens the 4-byte anchors of the long table by the 4 bytes
	// after them as well: a hashed bitmap of (anchor, next window) for
	// entries whose window follows the anchor (entry.win at +4). Most
	// anchor hits in traffic are a common 4-gram of a pattern that is not
	// there; this rejects them before the bucket walk. A bit in anyWin,
	// indexed like bits, marks a slot with an entry screened otherwise.
	next        []uint64
	nextShift   uint
	anyWin      []uint64
	bucketShift uint // bucket = bitmap index >> bucketShift
	start       []uint32
	ents        []entry
	// raw, for 2-byte anchors only, has a bit for every raw (unfolded)
	// byte pair that some anchor matches, so the scan loop tests a 16-bit
	// load directly, without folding or hashing.
	raw *[1 << 16 / 64]uint64
	// A 2-byte anchor of a pattern of 4 bytes or more lies in a 4-byte
	// window of its pattern, starting at most 2 bytes before it; ext is
	// the hashed bitmap of those folded windows, and screen tells per raw
	// pair, 2 bits each, how to screen its hits: 0 confirms at once (the
	// pair anchors a 2..3-byte pattern, or windows at different
	// offsets), k tests the window starting k-1 bytes before the pair.
	// Without it, common pairs ("st", "\x00\x01") that anchor the
	// 4..10-byte patterns chooseStride moves here were each a bucket walk.
	screen   *[1 << 16 / 32]uint64
	ext      []uint64
	ext2     []uint64 // ext under hashMul2, as bits2 is to bits
	extShift uint
}

// screenOf returns pair v's screen code (see table.screen).
func (t *table) screenOf(v uint32) uint32 {
	return uint32(t.screen[v>>5]>>(v&31*2)) & 3
}

// hashMul is Knuth's multiplicative constant; the top bits of the product
// mix all four gram bytes.
const hashMul = 0x9E3779B1

// hashMul2 is a second odd multiplier, for table.bits2 and table.ext2.
const hashMul2 = 0x85EBCA77

const (
	gramLen   = 4 // anchor width for patterns at least this long
	shortLen  = 2 // anchor width for 2..3-byte patterns
	maxStride = 8
)

func build(raw []rawPattern) *Matcher {
	m := &Matcher{}
	dense := make(map[uint32]uint32, len(raw))
	type uniq struct {
		b      []byte
		nocase bool
		ids    []uint32
	}
	var uniqs []*uniq
	byKey := make(map[string]*uniq, len(raw))
	key := make([]byte, 0, 64)
	for _, r := range raw {
		d, ok := dense[r.id]
		if !ok {
			d = uint32(len(m.ids))
			dense[r.id] = d
			m.ids = append(m.ids, r.id)
		}
		if len(r.b) == 0 {
			if !slices.Contains(m.always, d) {
				m.always = append(m.always, d)
			}
			continue
		}
		key = key[:0]
		if r.nocase {
			key = append(key, 1)
			for _, c := range r.b {
				key = append(key, lower(c))
			}
		} else {
			key = append(key, 0)
			key = append(key, r.b...)
		}
		u := byKey[string(key)]
		if u == nil {
			u = &uniq{b: slices.Clone(key[1:]), nocase: r.nocase}
			byKey[string(key)] = u
			uniqs = append(uniqs, u)
		}
		if !slices.Contains(u.ids, d) {
			u.ids = append(u.ids, d)
		}
	}

	size := 0
	for _, u := range uniqs {
		size += len(u.b)
	}
	m.data = make([]byte, 0, size)
	m.pats = make([]pattern, len(uniqs))
	for i, u := range uniqs {
		p := pattern{off: uint32(len(m.data)), n: uint32(len(u.b)), nocase: u.nocase}
		m.data = append(m.data, u.b...)
		if len(u.ids) == 1 {
			p.id, p.nIDs = u.ids[0], 1
		} else {
			p.id, p.nIDs = uint32(len(m.idList)), uint32(len(u.ids))
			m.idList = append(m.idList, u.ids...)
		}
		m.pats[i] = p
	}

	if len(m.pats) == 1 && !m.pats[0].nocase {
		m.single = true
		return m
	}

	stride := chooseStride(m.pats, m.data)
	var long, short, one []entry
	used := make(map[uint32]int)
	poor := 0
	for i := range m.pats {
		p := &m.pats[i]
		b := m.data[p.off : p.off+p.n]
		switch {
		case len(b) >= gramLen+stride-1:
			if stride > 1 && poor < maxPoor && everyRun(b, stride, isPoor) && (bestPairCost(b) <= goodPair || everyRun(b, stride, isRun)) {
				// Every run of stride 4-byte anchors of this pattern has
				// one that traffic is full of (a NUL run, "\r\nAU"...):
				// a rare 2-byte anchor, or one starting a rare window
				// (which screens its hits), fires far less often.
				poor++
				short = chooseAnchors(short, b, shortLen, 1, uint32(i), !p.nocase, used)
				continue
			}
			long = chooseAnchors(long, b, gramLen, stride, uint32(i), !p.nocase, used)
		case len(b) >= shortLen:
			short = chooseAnchors(short, b, shortLen, 1, uint32(i), !p.nocase, used)
		default:
			one = append(one, entry{pat: uint32(i)})
		}
	}
	m.long = newTable(long, gramLen)
	m.long.stride = stride
	for k := range m.long.ents {
		// The window next to the anchor, after it when the pattern
		// allows, else before, else the last one.
		e := &m.long.ents[k]
		p := &m.pats[e.pat]
		b, a := m.data[p.off:p.off+p.n], int(e.anchor&offMask)
		switch {
		case a+2*gramLen <= len(b):
			e.setWin(b, a+gramLen)
		case a >= gramLen:
			e.setWin(b, a-gramLen)
		case len(b)-gramLen != a:
			e.setWin(b, len(b)-gramLen)
		}
	}
	m.long.buildScreens()
	m.short = newTable(short, shortLen)
	if len(short) > 0 {
		m.buildShortFilters()
	}
	m.buildOne(one)
	return m
}

// buildShortFilters sets the raw pair bitmap of the 2-byte table and how
// each pair's hits are screened (table.screen, table.ext).
func (m *Matcher) buildShortFilters() {
	t := &m.short
	t.raw = new([1 << 16 / 64]uint64)
	t.screen = new([1 << 16 / 32]uint64)
	const direct = 4 // a pair confirmed at once; set codes are 1..3
	code := make(map[uint32]uint32)
	windows := make(map[uint32]struct{})
	for k := range t.ents {
		e := &t.ents[k]
		p := &m.pats[e.pat]
		off := e.anchor & offMask
		a := p.off + off
		b := m.data[a : a+2]
		want := uint32(direct)
		if p.n >= gramLen {
			// Of the windows holding the anchor, the rarest.
			ws := min(off, p.n-gramLen)
			for w := ws; w > 0 && w+2 > off; {
				w--
				if gramCost(m.data[p.off+w:p.off+w+gramLen]) < gramCost(m.data[p.off+ws:p.off+ws+gramLen]) {
					ws = w
				}
			}
			e.setWin(m.data[p.off:p.off+p.n], int(ws))
			windows[e.win] = struct{}{}
			want = off - ws + 1
		}
		for _, c0 := range variants(b[0], p.nocase) {
			for _, c1 := range variants(b[1], p.nocase) {
				v := uint32(c0) | uint32(c1)<<8
				t.raw[v>>6] |= 1 << (v & 63)
				if have, ok := code[v]; !ok {
					code[v] = want
				} else if have != want {
					code[v] = direct
				}
			}
		}
	}
	for v, c := range code {
		if c != direct {
			t.screen[v>>5] |= uint64(c) << (v & 31 * 2)
		}
	}
	logBits := bitmapLog(len(windows))
	t.ext = make([]uint64, 1<<logBits/64)
	t.ext2 = make([]uint64, 1<<logBits/64)
	t.extShift = uint(32 - logBits)
	for g := range windows {
		h := g * hashMul >> t.extShift
		t.ext[h>>6] |= 1 << (h & 63)
		h = g * hashMul2 >> t.extShift
		t.ext2[h>>6] |= 1 << (h & 63)
	}
}

// buildScreens sets what longScreen tests: table.bits2, and table.next
// and table.anyWin from the entries' windows.
func (t *table) buildScreens() {
	if len(t.ents) == 0 {
		return
	}
	t.bits2 = make([]uint64, len(t.bits))
	t.anyWin = make([]uint64, len(t.bits))
	var pairs []uint64
	for _, e := range t.ents {
		h2 := e.gram * hashMul2 >> t.shift
		t.bits2[h2>>6] |= 1 << (h2 & 63)
		if e.anchor&winBit != 0 && e.winRel() == gramLen {
			pairs = append(pairs, uint64(e.gram)|uint64(e.win)<<32)
			continue
		}
		h := e.gram * hashMul >> t.shift
		t.anyWin[h>>6] |= 1 << (h & 63)
	}
	logBits := bitmapLog(len(pairs))
	t.next = make([]uint64, 1<<logBits/64)
	t.nextShift = uint(64 - logBits)
	for _, k := range pairs {
		h := k * hashMul64 >> t.nextShift
		t.next[h>>6] |= 1 << (h & 63)
	}
}

// hashMul64 is the 64-bit golden-ratio multiplier, for 8-byte keys.
const hashMul64 = 0x9E3779B97F4A7C15

// longScreen reports whether the long-table anchor g at buf[p:] may start
// an entry's match: its second hash is set, and, unless its slot holds
// entries with windows elsewhere, its (anchor, next 4 bytes) pair is too.
// h is g's index in bits.
func (t *table) longScreen(buf []byte, p int, g, h uint32) bool {
	if h2 := g * hashMul2 >> t.shift; t.bits2[h2>>6]&(1<<(h2&63)) == 0 {
		return false
	}
	if t.anyWin[h>>6]&(1<<(h&63)) != 0 {
		return true
	}
	if p+2*gramLen > len(buf) {
		return false // every pattern anchored here goes on 4 more bytes
	}
	w := uint32(gramFold(uint64(binary.LittleEndian.Uint32(buf[p+gramLen:]))))
	k := (uint64(g) | uint64(w)<<32) * hashMul64 >> t.nextShift
	return t.next[k>>6]&(1<<(k&63)) != 0
}

// variants returns the raw bytes that match c.
func variants(c byte, nocase bool) []byte {
	if nocase && c >= 'a' && c <= 'z' {
		return []byte{c, c - 'a' + 'A'}
	}
	return []byte{c}
}

// buildOne indexes 1-byte patterns by every raw byte that matches them:
// a 1-byte pattern occurs iff one of its bytes occurs, so no verification
// is needed and the scan can use the runtime's vectorised IndexByte.
func (m *Matcher) buildOne(one []entry) {
	if len(one) == 0 {
		return
	}
	var lists [256][]uint32
	for _, e := range one {
		p := &m.pats[e.pat]
		for _, c := range variants(m.data[p.off], p.nocase) {
			lists[c] = append(lists[c], e.pat)
		}
	}
	for c, l := range lists {
		if len(l) > 0 {
			m.oneVals = append(m.oneVals, byte(c))
			m.oneStart = append(m.oneStart, uint32(len(m.onePats)))
			m.onePats = append(m.onePats, l...)
		}
	}
	m.oneStart = append(m.oneStart, uint32(len(m.onePats)))
}

// maxMoved is how many 4+ byte patterns may be moved to the 2-byte filter
// so that the others can use a larger stride; beyond that the 2-byte
// bitmap (64 Kib, up to 4 bits per nocase pattern) gets too dense.
const maxMoved = 256

// chooseStride picks the largest stride whose minimum length (gramLen +
// stride - 1) leaves at most maxMoved shorter 4+ byte patterns. A stride-s
// pass costs ~1/s of a stride-1 pass, and the 2-byte pass is about as cheap
// as a stride-1 pass, so trading a few patterns to it pays as soon as it
// lets the long pass skip.
func chooseStride(pats []pattern, data []byte) int {
	for stride := maxStride; stride > 1; stride /= 2 {
		moved, texty := 0, 0
		for _, p := range pats {
			if p.n >= gramLen && int(p.n) < gramLen+stride-1 {
				moved++
				if isText(data[p.off : p.off+p.n]) {
					texty++
				}
			}
		}
		if moved <= maxMoved && texty <= maxTexty {
			return stride
		}
	}
	return 1
}

// isText reports whether b is all ASCII letters: moved to the 2-byte
// table, such a pattern's every pair is a letter pair, which text buffers
// (HTTP bodies) hold at nearly every position.
func isText(b []byte) bool {
	for _, c := range b {
		if c|0x20 < 'a' || c|0x20 > 'z' {
			return false
		}
	}
	return true
}

// maxTexty bounds the all-letter patterns a stride may move to the 2-byte
// table.
const maxTexty = 32

// gramAt folds width bytes of b at i into a little-endian gram.
func gramAt(b []byte, i, width int) uint32 {
	var g uint32
	for k := width - 1; k >= 0; k-- {
		g = g<<8 | uint32(b[i+k]|0x20)
	}
	return g
}

// chooseAnchors appends the stride consecutive anchors of b least likely
// to fire: built from bytes that are rare in traffic, and not already
// anchors of many patterns (every pattern sharing an anchor is verified
// whenever it appears).
func chooseAnchors(ents []entry, b []byte, width, stride int, pat uint32, exact bool, used map[uint32]int) []entry {
	best, bestCost := 0, int(^uint(0)>>1)
	for i := 0; i+width+stride-1 <= len(b); i++ {
		cost := 0
		for j := i; j < i+stride; j++ {
			cost += 8*used[gramAt(b, j, width)] + gramCost(b[j:j+width])
		}
		if cost < bestCost {
			best, bestCost = i, cost
		}
	}
	for j := best; j < best+stride; j++ {
		g := gramAt(b, j, width)
		used[g]++
		e := entry{gram: g, pat: pat, anchor: uint32(j)}
		if exact {
			e.anchor |= exactBit
			for k := width - 1; k >= 0; k-- {
				e.raw = e.raw<<8 | uint32(b[j+k])
			}
		}
		ents = append(ents, e)
	}
	return ents
}

// gramCost guesses how often anchor bytes g occur in traffic: the sum of
// its bytes' costs, more when the bytes form a pair traffic is full of
// (CRLF, NUL or 0xff runs) or repeat one byte (padding, NOP sleds, "AAAA").
func gramCost(g []byte) int {
	cost := 0
	for k, c := range g {
		c = lower(c)
		cost += byteCost(c)
		if k == 0 {
			continue
		}
		p := lower(g[k-1])
		switch {
		case p == '\r' && c == '\n', p == c && (c == 0 || c == 0xff || c == ' '):
			cost += 8
		}
	}
	if len(g) == gramLen && g[0] == g[1] && g[1] == g[2] && g[2] == g[3] {
		cost += 30
	}
	return cost
}

// poorGram is the gramCost from which a 4-byte anchor is expected to fire
// often: two NULs or 0xff plus anything, CRLF plus letters.
const poorGram = 26

// everyRun reports whether every run of stride consecutive 4-byte anchors
// of b includes one that bad holds for.
func everyRun(b []byte, stride int, bad func(g []byte) bool) bool {
	for i := 0; i+gramLen+stride-1 <= len(b); i++ {
		ok := true
		for j := i; j < i+stride && ok; j++ {
			ok = !bad(b[j : j+gramLen])
		}
		if ok {
			return false
		}
	}
	return true
}

// isPoor reports whether 4-byte anchor g is expected to fire often.
func isPoor(g []byte) bool { return gramCost(g) >= poorGram }

// Window returns the n-byte substring of p made of the bytes rarest in
// traffic, or p when it is no longer. Prefilters that only propose
// candidates may search for it instead of p: it occurs wherever p does,
// and a shorter longest pattern means a shorter overlap between the
// chunks of a stream scanned piece by piece.
func Window(p []byte, n int) []byte {
	if len(p) <= n {
		return p
	}
	best, bestCost := 0, int(^uint(0)>>1)
	cost := 0
	for i, c := range p {
		cost += byteCost(lower(c))
		if i >= n {
			cost -= byteCost(lower(p[i-n]))
		}
		if i >= n-1 && cost < bestCost {
			best, bestCost = i-n+1, cost
		}
	}
	return p[best : best+n]
}

// isRun reports whether 4-byte anchor g is one byte repeated (NUL
// padding, a NOP sled, "AAAA"): confirmed at every position of such a run
// in traffic, it costs more than any pair whose window screens it
// (table.screen).
func isRun(g []byte) bool { return g[0] == g[1] && g[0] == g[2] && g[0] == g[3] }

// bestPairCost is the gramCost of b's rarest 2-byte anchor.
func bestPairCost(b []byte) int {
	best := int(^uint(0) >> 1)
	for i := 0; i+shortLen <= len(b); i++ {
		best = min(best, gramCost(b[i:i+shortLen]))
	}
	return best
}

// goodPair is the highest gramCost of a 2-byte anchor worth trading a
// poor 4-byte one for: two bytes that are rare in text and padding alike
// (letters and digits are not, in text protocols).
const goodPair = 7

// maxPoor bounds how many 4+ byte patterns with poor anchors (isPoor) are
// moved to the 2-byte filter, beside the maxMoved that chooseStride may
// move, so the 2-byte bitmap stays sparse.
const maxPoor = 512

// byteCost is a rough guess of how common a (lowered) byte is in network
// payloads: padding, whitespace, protocol text and digits dominate.
func byteCost(c byte) int {
	switch {
	case c == 0 || c == ' ':
		return 10
	case c == 0xff || c == 1:
		return 6
	case c >= 'a' && c <= 'z':
		switch c {
		case 'e', 't', 'a', 'o', 'i', 'n', 's', 'r', 'h', 'l':
			return 6
		}
		return 4
	case c >= '0' && c <= '9':
		return 5
	case c == '\r' || c == '\n':
		return 6
	case c == '/' || c == '.' || c == ':' || c == '=' ||
		c == '-' || c == '_' || c == '&' || c == '%' || c == '<' || c == '>' || c == '"':
		return 4
	case c < 0x20:
		return 3
	}
	return 1
}

// bitmapLog is the log2 size in bits of a hashed bitmap for n keys: ~16
// bits a key (a few percent false positives), 512 bits to 256 KiB.
func bitmapLog(n int) int { return min(max(bits.Len(uint(max(n, 1)*16-1)), 9), 21) }

// newTable sizes the bitmap at ~16 bits per distinct anchor (a few percent
// false positives on random data) capped at 256 KiB, and the bucket index
// at ~2 slots per anchor.
func newTable(ents []entry, width int) table {
	if len(ents) == 0 {
		return table{}
	}
	distinct := make(map[uint32]struct{}, len(ents))
	for _, e := range ents {
		distinct[e.gram] = struct{}{}
	}
	d := len(distinct)
	logBits := bitmapLog(d)
	logBuckets := min(max(bits.Len(uint(d*2-1)), 4), logBits)
	t := table{
		width:       width,
		bits:        make([]uint64, 1<<logBits/64),
		shift:       uint(32 - logBits),
		bucketShift: uint(logBits - logBuckets),
		start:       make([]uint32, 1<<logBuckets+1),
		ents:        make([]entry, len(ents)),
	}
	for _, e := range ents {
		h := e.gram * hashMul >> t.shift
		t.bits[h>>6] |= 1 << (h & 63)
		t.start[h>>t.bucketShift+1]++
	}
	for i := 1; i < len(t.start); i++ {
		t.start[i] += t.start[i-1]
	}
	fill := slices.Clone(t.start)
	for _, e := range ents {
		b := e.gram * hashMul >> t.shift >> t.bucketShift
		t.ents[fill[b]] = e
		fill[b]++
	}
	return t
}

func (t *table) memBytes() int {
	n := 8*(cap(t.bits)+cap(t.bits2)+cap(t.anyWin)+cap(t.next)) + 4*cap(t.start) + 20*cap(t.ents)
	if t.raw != nil {
		n += len(t.raw)*8 + len(t.screen)*8 + 16*cap(t.ext)
	}
	return n
}

// MemBytes is the approximate heap size of the compiled Matcher.
func (m *Matcher) MemBytes() int {
	return 4*cap(m.ids) + 4*cap(m.idList) + 20*cap(m.pats) + cap(m.data) +
		4*cap(m.always) + m.long.memBytes() + m.short.memBytes() +
		cap(m.oneVals) + 4*cap(m.oneStart) + 4*cap(m.onePats)
}

// MaxLen is the length of the longest pattern. A caller scanning a stream
// in chunks must overlap consecutive chunks by MaxLen()-1 bytes to find
// patterns that straddle a boundary.
func (m *Matcher) MaxLen() int {
	n := 0
	for _, p := range m.pats {
		n = max(n, int(p.n))
	}
	return n
}
