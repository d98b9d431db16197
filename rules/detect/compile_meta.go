package detect

import (
	"slices"
	"strings"
)

// internMetadata makes rules with equal metadata values share one copy of
// them. ET Open rules repeat a few dozen values (affected_product,
// signature_severity, dates...) over tens of thousands of rules; shared,
// the live heap has a few thousand such objects instead of hundreds of
// thousands, which every GC cycle would otherwise mark while packets flow.
// The values are only read after compilation (alert metadata).
func (e *Engine) internMetadata() {
	vals := map[string][]string{}
	keys := map[string]string{}
	var kb []byte
	for _, c := range e.sigs {
		md := c.sig.Metadata
		if len(md) == 0 {
			continue
		}
		out := make(map[string][]string, len(md))
		for k, v := range md {
			kb = kb[:0]
			for _, s := range v {
				kb = append(append(kb, s...), 0)
			}
			sv, ok := vals[string(kb)]
			if !ok {
				sv = make([]string, len(v))
				for i, s := range v {
					sv[i] = strings.Clone(s)
				}
				sv = slices.Clip(sv)
				vals[string(kb)] = sv
			}
			ck, ok := keys[k]
			if !ok {
				ck = strings.Clone(k)
				keys[ck] = ck
			}
			out[ck] = sv
		}
		c.sig.Metadata = out
	}
}
