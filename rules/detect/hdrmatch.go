package detect

import (
	"strconv"
	"strings"

	"github.com/tapwatch/tapwatch/rules"
	"github.com/tapwatch/tapwatch/rules/decode"
)

// internAddrs numbers the distinct address expressions of the rule set
// (by their text in the rule header, which expands against the same
// variables for every rule), so a worker evaluates each of them at most
// once per packet address however many rules name it: most ET rules share
// $HOME_NET and $EXTERNAL_NET.
func (e *Engine) internAddrs() {
	type rep struct {
		id int32
		x  *rules.AddrExpr
	}
	ids := map[string]rep{}
	// intern returns x's id and the expression to keep: the first one
	// parsed from the same text, when it is the same expression (the
	// text could mean another thing in rules parsed with other
	// variables), so the copies are freed.
	intern := func(key string, x *rules.AddrExpr) (int32, *rules.AddrExpr) {
		if r, ok := ids[key]; ok {
			if addrEq(r.x, x) {
				return r.id, r.x
			}
			key += "\x00" + strconv.Itoa(len(ids))
		}
		id := int32(len(ids))
		ids[key] = rep{id, x}
		return id, x
	}
	// Port expressions are only shared, for the same reason.
	ports := map[string]*rules.PortExpr{}
	port := func(key string, x *rules.PortExpr) *rules.PortExpr {
		if key == "" || x == nil {
			return x
		}
		if y, ok := ports[key]; ok && portEq(y, x) {
			return y
		} else if !ok {
			ports[key] = x
		}
		return x
	}
	for _, c := range e.sigs {
		c.srcA, c.dstA = -1, -1
		r := c.rule
		src, dst := "", ""
		if open := strings.IndexByte(r.Raw, '('); open >= 0 {
			if hdr := strings.Fields(r.Raw[:open]); len(hdr) == 7 {
				src, dst = hdr[2], hdr[5]
				r.SrcPorts, r.DstPorts = port(hdr[3], r.SrcPorts), port(hdr[6], r.DstPorts)
			}
		}
		// Without the header text (rules built in code) each expression
		// gets an id of its own.
		if !r.Src.IsAny() {
			if src == "" {
				src = "\x00s" + strconv.Itoa(c.num)
			}
			c.srcA, r.Src = intern(src, r.Src)
		}
		if !r.Dst.IsAny() {
			if dst == "" {
				dst = "\x00d" + strconv.Itoa(c.num)
			}
			c.dstA, r.Dst = intern(dst, r.Dst)
		}
	}
	e.nAddrs = len(ids)
}

// addrOK reports whether address expression id of c (its source when
// src) matches the packet's destination address when useDst, else its
// source, from the per-packet cache when it was already evaluated.
func (w *Worker) addrOK(c *csig, src bool, p *decode.Packet, useDst bool) bool {
	id, e := c.srcA, c.rule.Src
	if !src {
		id, e = c.dstA, c.rule.Dst
	}
	if id < 0 {
		return true
	}
	k := int(id) * 2
	a := p.SrcIP
	if useDst {
		k++
		a = p.DstIP
	}
	if w.addrStamp == nil {
		return e.Match(a)
	}
	if w.addrStamp[k] == w.gen {
		return w.addrRes[k]
	}
	ok := e.Match(a)
	w.addrStamp[k], w.addrRes[k] = w.gen, ok
	return ok
}

// hdrMatch is headerMatch with ports tested before addresses and address
// results cached per packet (keyed by the candidate generation, which
// begins anew for every packet or transaction inspected).
func (w *Worker) hdrMatch(c *csig, p *decode.Packet) bool {
	r := c.rule
	if r.SrcPorts.Match(p.SrcPort) && r.DstPorts.Match(p.DstPort) &&
		w.addrOK(c, true, p, false) && w.addrOK(c, false, p, true) {
		return true
	}
	return r.Bidir && r.SrcPorts.Match(p.DstPort) && r.DstPorts.Match(p.SrcPort) &&
		w.addrOK(c, true, p, true) && w.addrOK(c, false, p, false)
}

// addrEq reports whether a and b are the same expression tree (the
// matching set ParseAddr derives from it is then the same too).
func addrEq(a, b *rules.AddrExpr) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil || a.Any != b.Any || a.Neg != b.Neg || a.Prefix != b.Prefix ||
		a.Lo != b.Lo || a.Hi != b.Hi || len(a.List) != len(b.List) {
		return false
	}
	for i := range a.List {
		if !addrEq(a.List[i], b.List[i]) {
			return false
		}
	}
	return true
}

// portEq is addrEq for port expressions.
func portEq(a, b *rules.PortExpr) bool {
	if a == b {
		return true
	}
	if a == nil || b == nil || a.Any != b.Any || a.Neg != b.Neg || a.Lo != b.Lo || a.Hi != b.Hi ||
		len(a.List) != len(b.List) {
		return false
	}
	for i := range a.List {
		if !portEq(a.List[i], b.List[i]) {
			return false
		}
	}
	return true
}
