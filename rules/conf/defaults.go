package conf

// defaultsName marks values that came from the built-in defaults, so
// relative paths among them are not resolved against any directory.
const defaultsName = "<defaults>"

// defaultSettings are the values of Suricata's suricata.yaml.in that the
// engine and the replay driver read, plus the defaults Suricata applies in
// code when a key is commented out there (e.g. stream.reassembly.depth).
// They are Go, not a file read at run time, so a bare binary behaves like
// Suricata with its stock configuration.
var defaultSettings = [...][2]string{
	{"vars.address-groups.HOME_NET", "[192.168.0.0/16,10.0.0.0/8,172.16.0.0/12]"},
	{"vars.address-groups.EXTERNAL_NET", "!$HOME_NET"},
	{"vars.address-groups.HTTP_SERVERS", "$HOME_NET"},
	{"vars.address-groups.SMTP_SERVERS", "$HOME_NET"},
	{"vars.address-groups.SQL_SERVERS", "$HOME_NET"},
	{"vars.address-groups.DNS_SERVERS", "$HOME_NET"},
	{"vars.address-groups.TELNET_SERVERS", "$HOME_NET"},
	{"vars.address-groups.AIM_SERVERS", "$EXTERNAL_NET"},
	{"vars.address-groups.DC_SERVERS", "$HOME_NET"},
	{"vars.address-groups.DNP3_SERVER", "$HOME_NET"},
	{"vars.address-groups.DNP3_CLIENT", "$HOME_NET"},
	{"vars.address-groups.MODBUS_CLIENT", "$HOME_NET"},
	{"vars.address-groups.MODBUS_SERVER", "$HOME_NET"},
	{"vars.address-groups.ENIP_CLIENT", "$HOME_NET"},
	{"vars.address-groups.ENIP_SERVER", "$HOME_NET"},
	{"vars.port-groups.HTTP_PORTS", "80"},
	{"vars.port-groups.SHELLCODE_PORTS", "!80"},
	{"vars.port-groups.ORACLE_PORTS", "1521"},
	{"vars.port-groups.SSH_PORTS", "22"},
	{"vars.port-groups.DNP3_PORTS", "20000"},
	{"vars.port-groups.MODBUS_PORTS", "502"},
	{"vars.port-groups.FILE_DATA_PORTS", "[$HTTP_PORTS,110,143]"},
	{"vars.port-groups.FTP_PORTS", "21"},
	{"vars.port-groups.GENEVE_PORTS", "6081"},
	{"vars.port-groups.VXLAN_PORTS", "4789"},
	{"vars.port-groups.TEREDO_PORTS", "3544"},
	{"vars.port-groups.SIP_PORTS", "[5060, 5061]"},

	{"classification-file", "/etc/suricata/classification.config"},
	{"reference-config-file", "/etc/suricata/reference.config"},
	{"default-log-dir", "/var/log/suricata/"},
	{"packet-alert-max", "15"},
	{"max-pending-packets", "1024"},
	{"default-packet-size", "1514"},
	{"exception-policy", "auto"},

	{"stream.memcap", "64 MiB"},
	{"stream.checksum-validation", "yes"},
	{"stream.inline", "auto"},
	{"stream.midstream", "false"},
	{"stream.async-oneside", "false"},
	{"stream.reassembly.memcap", "256 MiB"},
	{"stream.reassembly.depth", "1 MiB"},
	{"stream.reassembly.toserver-chunk-size", "2560"},
	{"stream.reassembly.toclient-chunk-size", "2560"},
	{"stream.reassembly.randomize-chunk-size", "yes"},
	{"stream.reassembly.urgent.policy", "oob"},

	{"defrag.memcap", "32 MiB"},
	{"defrag.hash-size", "65536"},
	{"defrag.trackers", "65535"},
	{"defrag.max-frags", "65535"},
	{"defrag.timeout", "60"},

	{"flow.memcap", "128 MiB"},
	{"flow.hash-size", "65536"},
	{"flow.prealloc", "10000"},
	{"flow-timeouts.default.new", "30"},
	{"flow-timeouts.default.established", "300"},
	{"flow-timeouts.default.closed", "0"},
	{"flow-timeouts.tcp.new", "60"},
	{"flow-timeouts.tcp.established", "600"},
	{"flow-timeouts.tcp.closed", "60"},
	{"flow-timeouts.udp.new", "30"},
	{"flow-timeouts.udp.established", "300"},
	{"flow-timeouts.icmp.new", "30"},
	{"flow-timeouts.icmp.established", "300"},

	{"detect.profile", "medium"},
	{"detect.sgh-mpm-context", "auto"},
	{"mpm-algo", "auto"},
	{"spm-algo", "auto"},
	{"pcre.match-limit", "3500"},
	{"pcre.match-limit-recursion", "1500"},

	{"app-layer.protocols.http.enabled", "yes"},
	{"app-layer.protocols.http.libhtp.default-config.personality", "IDS"},
	{"app-layer.protocols.http.libhtp.default-config.request-body-limit", "100 KiB"},
	{"app-layer.protocols.http.libhtp.default-config.response-body-limit", "100 KiB"},
	{"app-layer.protocols.http.libhtp.default-config.request-body-minimal-inspect-size", "32 KiB"},
	{"app-layer.protocols.http.libhtp.default-config.request-body-inspect-window", "4 KiB"},
	{"app-layer.protocols.http.libhtp.default-config.response-body-minimal-inspect-size", "40 KiB"},
	{"app-layer.protocols.http.libhtp.default-config.response-body-inspect-window", "16 KiB"},
	{"app-layer.protocols.http.libhtp.default-config.response-body-decompress-layer-limit", "2"},
	{"app-layer.protocols.http.libhtp.default-config.http-body-inline", "auto"},
	{"app-layer.protocols.tls.enabled", "yes"},
	{"app-layer.protocols.tls.detection-ports.dp", "443"},
	{"app-layer.protocols.dns.tcp.enabled", "yes"},
	{"app-layer.protocols.dns.tcp.detection-ports.dp", "53"},
	{"app-layer.protocols.dns.udp.enabled", "yes"},
	{"app-layer.protocols.dns.udp.detection-ports.dp", "53"},

	{"outputs.0.eve-log.enabled", "yes"},
	{"outputs.0.eve-log.filetype", "regular"},
	{"outputs.0.eve-log.filename", "eve.json"},
	{"outputs.0.eve-log.community-id", "false"},
	{"outputs.0.eve-log.community-id-seed", "0"},
}

// Default returns Suricata's stock configuration as far as tapwatch uses
// it. Each call returns a fresh Config the caller may modify.
func Default() *Config {
	c := &Config{root: newNode()}
	for _, kv := range defaultSettings {
		// Set cannot fail on these literal keys.
		_ = c.Set(kv[0] + "=" + kv[1])
	}
	var mark func(n *node)
	mark = func(n *node) {
		n.file = defaultsName
		for _, k := range n.keys {
			mark(n.kids[k])
		}
	}
	mark(c.root)
	outputs := c.lookup("outputs")
	outputs.seq = true
	outputs.kids["0"].val, outputs.kids["0"].hasVal = "eve-log", true
	return c
}
