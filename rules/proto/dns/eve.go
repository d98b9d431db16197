package dns

import (
	"strconv"
	"strings"
)

// TypeString names a record type as Suricata's EVE does; unknown types are
// their decimal number.
func TypeString(t uint16) string {
	switch t {
	case 1:
		return "A"
	case 2:
		return "NS"
	case 3:
		return "MD"
	case 4:
		return "MF"
	case 5:
		return "CNAME"
	case 6:
		return "SOA"
	case 7:
		return "MB"
	case 8:
		return "MG"
	case 9:
		return "MR"
	case 10:
		return "NULL"
	case 11:
		return "WKS"
	case 12:
		return "PTR"
	case 13:
		return "HINFO"
	case 14:
		return "MINFO"
	case 15:
		return "MX"
	case 16:
		return "TXT"
	case 17:
		return "RP"
	case 18:
		return "AFSDB"
	case 19:
		return "X25"
	case 20:
		return "ISDN"
	case 21:
		return "RT"
	case 22:
		return "NSAP"
	case 23:
		return "NSAPPTR"
	case 24:
		return "SIG"
	case 25:
		return "KEY"
	case 26:
		return "PX"
	case 27:
		return "GPOS"
	case 28:
		return "AAAA"
	case 29:
		return "LOC"
	case 30:
		return "NXT"
	case 33:
		return "SRV"
	case 34:
		return "ATMA"
	case 35:
		return "NAPTR"
	case 36:
		return "KX"
	case 37:
		return "CERT"
	case 38:
		return "A6"
	case 39:
		return "DNAME"
	case 41:
		return "OPT"
	case 42:
		return "APL"
	case 43:
		return "DS"
	case 44:
		return "SSHFP"
	case 45:
		return "IPSECKEY"
	case 46:
		return "RRSIG"
	case 47:
		return "NSEC"
	case 48:
		return "DNSKEY"
	case 49:
		return "DHCID"
	case 50:
		return "NSEC3"
	case 51:
		return "NSEC3PARAM"
	case 52:
		return "TLSA"
	case 55:
		return "HIP"
	case 59:
		return "CDS"
	case 60:
		return "CDNSKEY"
	case 64:
		return "SVCB"
	case 65:
		return "HTTPS"
	case 99:
		return "SPF"
	case 249:
		return "TKEY"
	case 250:
		return "TSIG"
	case 253:
		return "MAILB"
	case 254:
		return "MAILA"
	case 255:
		return "ANY"
	case 256:
		return "URI"
	}
	return strconv.Itoa(int(t))
}

// RcodeString names a response code as Suricata's EVE does.
func RcodeString(rc uint8) string {
	names := [...]string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
		"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"}
	if int(rc) < len(names) {
		return names[rc]
	}
	return strconv.Itoa(int(rc))
}

// printable renders bytes as Suricata's JSON writer does for byte strings:
// printable ASCII as is, everything else as \xNN.
func printable(b []byte) string {
	clean := true
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			clean = false
			break
		}
	}
	if clean {
		return string(b)
	}
	var sb strings.Builder
	for _, c := range b {
		if c < 0x20 || c > 0x7e {
			sb.WriteString(`\x`)
			sb.WriteByte(hexDigits[c>>4])
			sb.WriteByte(hexDigits[c&0xf])
			continue
		}
		sb.WriteByte(c)
	}
	return sb.String()
}

// EVE returns Suricata's EVE "dns" object for the message in the version 2
// format: a query logs type "query" with its first question; a response
// logs type "answer" with flags, rcode, the detailed answers, the answers
// grouped by type, and the authorities. EVEQueries gives one object per
// question for a request with several.
func (m *Message) EVE() map[string]any {
	if !m.Response {
		if len(m.Queries) == 0 {
			return map[string]any{"type": "query", "id": int(m.ID), "opcode": int(m.Opcode)}
		}
		return m.queryEVE(0)
	}
	o := map[string]any{
		"version": 2,
		"type":    "answer",
		"id":      int(m.ID),
		"flags":   strconv.FormatUint(uint64(m.Flags), 16),
		"opcode":  int(m.Opcode),
		"rcode":   RcodeString(m.Rcode),
	}
	setFlagNames(o, m.Flags)
	if len(m.Queries) > 0 {
		o["rrname"] = printable(m.Queries[0].Name)
		o["rrtype"] = TypeString(m.Queries[0].Type)
	}
	if len(m.Answers) > 0 {
		answers := make([]any, 0, len(m.Answers))
		grouped := map[string]any{}
		for i := range m.Answers {
			r := &m.Answers[i]
			answers = append(answers, rrEVE(r))
			if v, ok := groupedValue(r); ok {
				k := TypeString(r.Type)
				l, _ := grouped[k].([]any)
				grouped[k] = append(l, v)
			}
		}
		o["answers"] = answers
		if len(grouped) > 0 {
			o["grouped"] = grouped
		}
	}
	if len(m.Authorities) > 0 {
		auth := make([]any, 0, len(m.Authorities))
		for i := range m.Authorities {
			auth = append(auth, rrEVE(&m.Authorities[i]))
		}
		o["authorities"] = auth
	}
	return o
}

// EVEQueries returns one EVE "dns" query object per question, as Suricata
// logs a request with several questions.
func (m *Message) EVEQueries() []map[string]any {
	out := make([]map[string]any, 0, len(m.Queries))
	for i := range m.Queries {
		out = append(out, m.queryEVE(i))
	}
	return out
}

func (m *Message) queryEVE(i int) map[string]any {
	q := &m.Queries[i]
	o := map[string]any{
		"type":   "query",
		"id":     int(m.ID),
		"rrname": printable(q.Name),
		"rrtype": TypeString(q.Type),
		"tx_id":  0,
		"opcode": int(m.Opcode),
	}
	if m.Flags&flagZ != 0 {
		o["z"] = true
	}
	return o
}

func rrEVE(r *RR) map[string]any {
	o := map[string]any{
		"rrname": printable(r.Name),
		"rrtype": TypeString(r.Type),
		"ttl":    int(r.TTL),
	}
	switch r.Type {
	case TypeA, TypeAAAA:
		o["rdata"] = r.Text
	case TypeCNAME, TypeNS, TypePTR, TypeMX, TypeTXT, TypeNULL:
		o["rdata"] = printable(r.Data)
	case TypeSOA:
		if r.Text != "" {
			o["soa"] = map[string]any{
				"mname": printable(r.SOA.MName), "rname": printable(r.SOA.RName),
				"serial": int(r.SOA.Serial), "refresh": int(r.SOA.Refresh), "retry": int(r.SOA.Retry),
				"expire": int(r.SOA.Expire), "minimum": int(r.SOA.Minimum),
			}
		}
	case TypeSRV:
		if r.Text != "" {
			o["srv"] = map[string]any{
				"priority": int(r.SRV.Priority), "weight": int(r.SRV.Weight),
				"port": int(r.SRV.Port), "name": printable(r.SRV.Target),
			}
		}
	case TypeSSHFP:
		if len(r.Data) >= 2 {
			var sb strings.Builder
			for i, c := range r.Data[2:] {
				if i > 0 {
					sb.WriteByte(':')
				}
				sb.WriteByte(hexDigits[c>>4])
				sb.WriteByte(hexDigits[c&0xf])
			}
			o["sshfp"] = map[string]any{"fingerprint": sb.String(), "algo": int(r.Data[0]), "type": int(r.Data[1])}
		}
	}
	return o
}

func groupedValue(r *RR) (any, bool) {
	switch r.Type {
	case TypeA, TypeAAAA:
		return r.Text, true
	case TypeCNAME, TypeNS, TypePTR, TypeMX, TypeTXT, TypeNULL:
		return printable(r.Data), true
	case TypeSOA, TypeSRV, TypeSSHFP:
		// Grouped entries of object types hold just the object.
		for _, k := range [...]string{"soa", "srv", "sshfp"} {
			if v, ok := rrEVE(r)[k]; ok {
				return v, true
			}
		}
	}
	return nil, false
}

// typeOPT is the EDNS pseudo-record, which Suricata leaves out of the
// additionals it logs when it carries no options.
const typeOPT = 41

// EVEv3 returns the "dns" object Suricata 8 logs with an alert on this
// message (its version 3 format): type request or response, the engine's
// transaction id txID, the wire id, header flags, the questions as
// "queries", and the answer, authority and additional records in detail.
func (m *Message) EVEv3(txID int) map[string]any {
	o := map[string]any{
		"version": 3,
		"type":    "request",
		"tx_id":   txID,
		"id":      int(m.ID),
		"flags":   strconv.FormatUint(uint64(m.Flags), 16),
		"opcode":  int(m.Opcode),
		"rcode":   RcodeString(m.Rcode),
	}
	if m.Response {
		o["type"] = "response"
	}
	setFlagNames(o, m.Flags)
	if len(m.Queries) > 0 {
		qs := make([]any, 0, len(m.Queries))
		for i := range m.Queries {
			q := &m.Queries[i]
			qs = append(qs, map[string]any{"rrname": printable(q.Name), "rrtype": TypeString(q.Type)})
		}
		o["queries"] = qs
	}
	section := func(key string, rrs []RR, skipEmptyOPT bool) {
		var l []any
		for i := range rrs {
			r := &rrs[i]
			if skipEmptyOPT && r.Type == typeOPT && len(r.Data) == 0 {
				continue
			}
			l = append(l, rrEVE(r))
		}
		if len(l) > 0 {
			o[key] = l
		}
	}
	section("answers", m.Answers, false)
	section("authorities", m.Authorities, false)
	section("additionals", m.Additionals, true)
	return o
}

// setFlagNames sets o[name] = true for each header flag set in flags, as
// both EVE DNS formats log them.
func setFlagNames(o map[string]any, flags uint16) {
	for _, f := range [...]struct {
		bit  uint16
		name string
	}{{flagQR, "qr"}, {flagAA, "aa"}, {flagTC, "tc"}, {flagRD, "rd"}, {flagRA, "ra"}, {flagZ, "z"}} {
		if flags&f.bit != 0 {
			o[f.name] = true
		}
	}
}
