package lab

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"libvirt.org/go/libvirtxml"
)

// MetadataNS is tapwatch's XML namespace in a domain's <metadata>; the lab writes a policy there
// so the demo shows per-VM policy travelling with the domain definition.
const MetadataNS = "https://tapwatch.dev/xmlns/1"

// LibvirtXML renders the libvirt test-driver file (a <node> of <domain type='test'>s) describing
// the lab's VMs with the taps, MACs and bridge the lab really built, so the agent's inventory
// learns them through "test://PATH" exactly as it would from a real libvirtd.
func LibvirtXML(cfg Config) (string, error) {
	var b strings.Builder
	b.WriteString("<node>\n")
	for _, vm := range cfg.VMs {
		record := "alerts"
		if vm.Name == "attacker" {
			record = "all"
		}
		dom := libvirtxml.Domain{
			Type:   "test",
			Name:   vm.Name,
			UUID:   vm.UUID,
			Memory: &libvirtxml.DomainMemory{Value: 131072, Unit: "KiB"},
			VCPU:   &libvirtxml.DomainVCPU{Value: 1},
			OS:     &libvirtxml.DomainOS{Type: &libvirtxml.DomainOSType{Type: "hvm"}},
			Metadata: &libvirtxml.DomainMetadata{XML: fmt.Sprintf(
				`<tw:tapwatch xmlns:tw=%q><tw:profile>lab</tw:profile><tw:ips>off</tw:ips><tw:record>%s</tw:record></tw:tapwatch>`,
				MetadataNS, record)},
			Devices: &libvirtxml.DomainDeviceList{
				Interfaces: []libvirtxml.DomainInterface{{
					MAC:    &libvirtxml.DomainInterfaceMAC{Address: vm.MAC.String()},
					Source: &libvirtxml.DomainInterfaceSource{Bridge: &libvirtxml.DomainInterfaceSourceBridge{Bridge: cfg.Bridge}},
					Target: &libvirtxml.DomainInterfaceTarget{Dev: vm.Port},
					Model:  &libvirtxml.DomainInterfaceModel{Type: "virtio"},
				}},
			},
		}
		s, err := dom.Marshal()
		if err != nil {
			return "", fmt.Errorf("render libvirt XML of lab VM %s: %w", vm.Name, err)
		}
		b.WriteString(s)
		b.WriteString("\n")
	}
	b.WriteString("</node>\n")
	return b.String(), nil
}

// WriteLibvirtXML writes LibvirtXML(cfg) to cfg.XMLPath, replacing it atomically so a reader
// never sees half a file.
func WriteLibvirtXML(cfg Config) error {
	s, err := LibvirtXML(cfg)
	if err != nil {
		return err
	}
	dir := filepath.Dir(cfg.XMLPath)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create %s for the lab's libvirt XML: %w", dir, err)
	}
	tmp := cfg.XMLPath + ".tmp"
	if err := os.WriteFile(tmp, []byte(s), 0o644); err != nil {
		return fmt.Errorf("write lab libvirt XML %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, cfg.XMLPath); err != nil {
		return fmt.Errorf("install lab libvirt XML %s: %w", cfg.XMLPath, err)
	}
	return nil
}
