"""The hypervisor side: libvirt connections and events, domains, the guest agent, VM actions."""
