package rules

// Vars are the address and port groups rules refer to as $NAME, as in
// Suricata's vars.address-groups and vars.port-groups.
type Vars struct {
	Address map[string]string // "HOME_NET" -> "[192.168.0.0/16,10.0.0.0/8]"
	Port    map[string]string // "HTTP_PORTS" -> "80"
}
