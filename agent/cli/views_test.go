package cli

import (
	"strings"
	"testing"
)

func TestFormatAlert(t *testing.T) {
	line := []byte(`{"timestamp":"t","src_ip":"10.0.0.1","src_port":1,"dest_ip":"10.0.0.2","dest_port":80,"proto":"TCP",` +
		`"alert":{"signature_id":9,"rev":2,"signature":"sig","action":"allowed"},` +
		`"vm":[{"name":"a","role":"src"},{"name":"b","role":"dst"}]}`)
	got := FormatAlert(line)
	for _, want := range []string{"[9:2] sig", "{TCP} 10.0.0.1:1 -> 10.0.0.2:80", "vm=a(src),b(dst)", "allowed"} {
		if !strings.Contains(got, want) {
			t.Errorf("FormatAlert = %q, lacks %q", got, want)
		}
	}
	arp := FormatAlert([]byte(`{"timestamp":"t","alert":{"signature_id":9901002,"signature":"arp"},"vm":[{"name":"x","role":"src"}]}`))
	if !strings.Contains(arp, "{link layer}") || !strings.Contains(arp, "vm=x(src)") {
		t.Errorf("link-layer alert = %q", arp)
	}
	if got := FormatAlert([]byte("not json")); got != "not json" {
		t.Errorf("non-JSON line = %q", got)
	}
}
