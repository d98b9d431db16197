package inventory

import (
	"strings"
	"testing"
)

const domXML = `<domain type='kvm'>
  <name>web</name>
  <uuid>11111111-2222-3333-4444-555555555555</uuid>
  <metadata>
    <other:thing xmlns:other="https://example.com/other"><other:profile>ignored</other:profile></other:thing>
    <tw:tapwatch xmlns:tw="https://tapwatch.dev/xmlns/1">
      <tw:profile> web </tw:profile><tw:ips>on</tw:ips><tw:record>all</tw:record>
    </tw:tapwatch>
  </metadata>
  <memory>1024</memory>
  <os><type>hvm</type></os>
  <devices>
    <interface type='bridge'>
      <mac address='52:54:00:aa:bb:01'/>
      <source bridge='br0'/>
      <target dev='twtap0'/>
      <model type='virtio'/>
      <alias name='net0'/>
      <vlan trunk='yes'><tag id='10'/><tag id='20'/></vlan>
    </interface>
    <interface type='network'>
      <mac address='52:54:00:aa:bb:02'/>
      <source network='default' bridge='virbr0'/>
      <model type='e1000'/>
    </interface>
  </devices>
</domain>`

func TestParseDomainXML(t *testing.T) {
	vm, err := ParseDomainXML(domXML)
	if err != nil {
		t.Fatal(err)
	}
	if vm.Name != "web" || vm.UUID != "11111111-2222-3333-4444-555555555555" {
		t.Fatalf("identity = %q %q", vm.Name, vm.UUID)
	}
	if vm.Policy != (Policy{Profile: "web", IPS: "on", Record: "all"}) {
		t.Fatalf("policy = %+v, want tapwatch's element only, trimmed", vm.Policy)
	}
	if len(vm.NICs) != 2 {
		t.Fatalf("NICs = %+v", vm.NICs)
	}
	n := vm.NICs[0]
	if n.MAC.String() != "52:54:00:aa:bb:01" || n.Target != "twtap0" || n.Bridge != "br0" || n.Type != "bridge" ||
		n.Model != "virtio" || n.Alias != "net0" || len(n.VLANs) != 2 || n.VLANs[1] != 20 {
		t.Fatalf("NIC 0 = %+v", n)
	}
	n = vm.NICs[1]
	if n.Type != "network" || n.Bridge != "virbr0" || n.Target != "" || n.Model != "e1000" {
		t.Fatalf("NIC 1 = %+v", n)
	}
}

func TestParseDomainXMLRejectsBadPolicy(t *testing.T) {
	bad := strings.Replace(domXML, "<tw:ips>on</tw:ips>", "<tw:ips>maybe</tw:ips>", 1)
	_, err := ParseDomainXML(bad)
	if err == nil || !strings.Contains(err.Error(), `ips "maybe"`) || !strings.Contains(err.Error(), "web") {
		t.Fatalf("err = %v, want one naming the domain and the bad ips value", err)
	}
}

func TestParseDomainXMLWithoutMetadata(t *testing.T) {
	vm, err := ParseDomainXML(`<domain type='test'><name>x</name><uuid>11111111-2222-3333-4444-555555555556</uuid></domain>`)
	if err != nil {
		t.Fatal(err)
	}
	if vm.Policy != (Policy{}) || len(vm.NICs) != 0 {
		t.Fatalf("vm = %+v, want no policy and no NICs", vm)
	}
}
