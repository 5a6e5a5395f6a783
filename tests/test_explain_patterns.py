"""Each cause from lines in other words, tools, layouts and languages than the shared cases
(written here in the style of the real tools), and lines that must give no cause at all."""

from __future__ import annotations

import pytest

from workbench.explain.matcher import explain_text

# (expected first cause, text): a text may mix log lines with lspci -nnk blocks, /proc/iomem
# or /proc/meminfo excerpts when the cause needs a fact to win over another candidate.
CAUSE_LINES: list[tuple[str, str]] = [
    # --- guest agent ---
    ("AGENT_NOT_INSTALLED", "Unit qemu-guest-agent.service could not be found."),
    ("AGENT_NOT_INSTALLED", "root@guest:~# qemu-ga --version\nbash: qemu-ga: command not found"),
    (
        "AGENT_NOT_INSTALLED",
        "Fehler: Guest agent is not responding: QEMU-Gast-Agent ist nicht verbunden",
    ),
    ("AGENT_NOT_RUNNING", "qemu-guest-agent.service: Failed with result 'exit-code'."),
    (
        "AGENT_NOT_RUNNING",
        "Nov 29 08:00:01 guest systemd[1]: Dependency failed for QEMU Guest Agent.",
    ),
    ("AGENT_NOT_RUNNING", "TASK ERROR: VM 101 qmp command 'guest-ping' failed - got timeout"),
    ("AGENT_CHANNEL_MISSING", "error: argument unsupported: QEMU guest agent is not configured"),
    ("AGENT_CHANNEL_MISSING", "No QEMU guest agent configured"),
    (
        "AGENT_CHANNEL_MISSING",
        "Nov 29 08:00:01 guest qemu-ga[412]: critical: error opening channel: No such file or "
        "directory\nNov 29 08:00:01 guest qemu-ga[412]: critical: failed to create guest agent "
        "channel",
    ),
    (
        "AGENT_CHANNEL_MISSING",
        "systemd[1]: Timed out waiting for device "
        "dev-virtio\\x2dports-org.qemu.guest_agent.0.device - /dev/virtio-ports/org.qemu.guest_agent.0.",
    ),
    (
        "AGENT_CHANNEL_MISSING",
        "1732867201.123456: critical: error opening channel "
        "'/dev/virtio-ports/org.qemu.guest_agent.0': No such file or directory",
    ),
    (
        "AGENT_CHANNEL_ACCESS_DENIED",
        "1732867201.123456: critical: error opening path "
        "\\\\.\\Global\\org.qemu.guest_agent.0: Access is denied.",
    ),
    (
        "AGENT_CHANNEL_ACCESS_DENIED",
        "critical: error opening channel '/dev/virtio-ports/org.qemu.guest_agent.0': "
        "Permission denied",
    ),
    (
        "AGENT_HUNG_IN_GUEST",
        "error: Guest agent is not responding: Guest agent not available for now",
    ),
    ("AGENT_HUNG_IN_GUEST", "erreur : L'agent invité ne répond pas"),
    (
        "AGENT_TIMEOUT",
        "error: Timed out during operation: cannot acquire state change lock "
        "(held by agent=remoteDispatchDomainFSFreeze)",
    ),
    (
        "AGENT_TIMEOUT",
        "2025-11-29 08:00:01.000+0000: 1234: warning : qemuDomainObjBeginJobInternal:1050 : "
        "Cannot start job (query, none, none) for domain win11; current job is (none, none, "
        "query) owned by (0 <null>, 0 <null>, 0 remoteDispatchDomainGetGuestInfo) for (31s, "
        "0s, 31s)\nerror: Timed out during operation: cannot acquire state change lock "
        "(held by agent=remoteDispatchDomainGetGuestInfo)",
    ),
    # --- KVM ---
    ("KVM_DISABLED_BIOS", "[    1.234567] kvm: disabled by bios"),
    ("KVM_DISABLED_BIOS", "disabled by bios"),  # as a normaliser that strips `kvm: ` leaves it
    (
        "KVM_DISABLED_BIOS",
        "INFO: /dev/kvm does not exist\nINFO: KVM (vmx) is disabled by your BIOS",
    ),
    ("KVM_DISABLED_BIOS", "open /dev/kvm: no such file or directory"),
    (
        "KVM_DISABLED_BIOS",
        "Failed to open hypervisor interface (is /dev/kvm available?): "
        "HypervisorCreate(KvmNew(Error(2)))",
    ),
    (
        "KVM_DISABLED_BIOS",
        "[    0.912] kvm_intel: VMX not enabled (by BIOS) in MSR_IA32_FEAT_CTL on CPU 0",
    ),
    (
        "KVM_MODULE_NOT_LOADED",
        "modprobe: FATAL: Module kvm_intel not found in directory /lib/modules/6.8.0-49-generic",
    ),
    (
        "KVM_MODULE_NOT_LOADED",
        "systemd-modules-load[301]: Failed to find module 'kvm_amd'",
    ),
    ("KVM_UNAVAILABLE_NO_NESTED", "INFO: Your CPU does not support KVM extensions"),
    (
        "KVM_UNAVAILABLE_NO_NESTED",
        "Fehler: Ungültiges Argument: Fähigkeiten für arch=x86_64 domaintype=kvm konnten "
        "nicht gefunden werden\nWARN (Only emulated CPUs are available)",
    ),
    (
        "KVM_UNAVAILABLE_NO_NESTED",
        "  QEMU: Checking for hardware virtualization                                 "
        ": FAIL (Only emulated CPUs are available, performance will be significantly limited)",
    ),
    (
        "KVM_DEVICE_PERMISSION",
        "ERROR: KVM acceleration not available (no write access to /dev/kvm)",
    ),
    ("KVM_DEVICE_PERMISSION", "qemu-system-x86_64: failed to initialize kvm: Keine Berechtigung"),
    ("KVM_DEVICE_PERMISSION", 'level=error msg="open /dev/kvm: permission denied"'),
    (
        "KVM_DEVICE_PERMISSION",
        "thread 'main' panicked at 'Could not boot the VM: VmBoot(KvmNew(Error(13)))', "
        "src/libcore/result.rs:1188:5",
    ),
    (
        "KVM_BUSY_OTHER_HYPERVISOR",
        "qemu-system-x86_64: failed to initialize kvm: Device or resource busy",
    ),
    (
        "KVM_BUSY_OTHER_HYPERVISOR",
        "qemu-system-x86_64: failed to initialize kvm: Das Gerät oder die Ressource ist belegt",
    ),
    (
        "KVM_BUSY_OTHER_HYPERVISOR",
        "VBoxManage: error: VT-x is being used by another hypervisor (VERR_VMX_IN_VMX_ROOT_MODE).",
    ),
    (
        "NESTED_VMX_BLOCKS_MIGRATION",
        "error: Requested operation is not valid: cannot migrate domain: "
        "Nested VMX virtualization does not support live migration yet",
    ),
    (
        "NESTED_VMX_BLOCKS_MIGRATION",
        "qemu-kvm: Nested virtualization does not support live migration yet",
    ),
    # --- IOMMU, groups, binding ---
    (
        "IOMMU_OFF",
        "qemu-system-x86_64: -device vfio-pci,host=0000:03:00.0: vfio 0000:03:00.0: "
        "failed to setup container for group 12: No available IOMMU models",
    ),
    (
        "IOMMU_OFF",
        "  QEMU: Checking if IOMMU is enabled by kernel                               "
        ": WARN (IOMMU appears to be disabled in kernel. Add intel_iommu=on to kernel cmdline "
        "arguments)",
    ),
    (
        "IOMMU_OFF",
        "error: unsupported configuration: host doesn't support passthrough of host PCI devices",
    ),
    ("IOMMU_OFF", "[    0.051234] DMAR: IOMMU disabled"),
    ("IOMMU_OFF", "TASK ERROR: no IOMMU detected, please activate it."),
    ("IOMMU_OFF", "TASK ERROR: cannot prepare PCI pass-through, IOMMU not present"),
    (
        "IOMMU_OFF",
        "E1129 08:00:01.000000 1 kvm2.go:78] no IOMMU groups found at "
        '"/sys/kernel/iommu_groups". Make sure your host supports IOMMU.',
    ),
    ("NO_IOMMU_GROUP", "[    3.123456] vfio-pci: probe of 0000:01:00.0 failed with error -22"),
    ("NO_IOMMU_GROUP", "kernel: vfio-pci 0000:05:00.0: device is not in an iommu group"),
    ("NO_IOMMU_GROUP", "FAIL: No IOMMU group found for 0000:05:00.0"),
    (
        "NO_IOMMU_GROUP",
        "qemu-system-aarch64: -device vfio-pci,host=0001:01:00.0: vfio 0001:01:00.0: "
        "no iommu_group found: Invalid argument",
    ),
    (
        "INTERRUPT_REMAPPING_MISSING",
        "[  812.345678] vfio_iommu_type1_attach_group: No interrupt remapping support.  Use the "
        'module param "allow_unsafe_interrupts" to enable VFIO IOMMU support on this platform',
    ),
    (
        "INTERRUPT_REMAPPING_MISSING",
        "kvm: -device vfio-pci,host=0000:02:00.0,id=hostpci0: vfio: failed to set iommu for "
        "container: Operation not permitted",
    ),
    (
        "INTERRUPT_REMAPPING_MISSING",
        "DMAR-IR: This system BIOS has enabled interrupt remapping on a chipset that contains "
        "an erratum making that feature unstable.  To maintain system stability interrupt "
        "remapping is being disabled.  Please contact your BIOS vendor for an update",
    ),
    ("HOST_DRIVER_BOUND", "NVRM: Attempting to remove minor device 0 with non-zero usage count!"),
    (
        "HOST_DRIVER_BOUND",
        "[ 20.1] nvidia 0000:01:00.0: vgaarb: VGA decodes changed: olddecodes=io+mem,"
        "decodes=none:owns=io+mem\n"
        "2025-11-29T08:00:03.000000Z qemu-system-x86_64: -device vfio-pci,host=0000:01:00.0: "
        "vfio 0000:01:00.0: group 1 is not viable",
    ),
    (
        "HOST_DRIVER_BOUND",
        "qemu-system-x86_64: -device vfio-pci,host=01:00.0: vfio 0000:01:00.0: failed to open "
        "/dev/vfio/1: No such file or directory",
    ),
    (
        "GROUP_MEMBER_NOT_VFIO",
        "[  5.1] vfio-pci 0000:01:00.0: enabling device (0000 -> 0003)\n"
        "[  5.2] snd_hda_intel 0000:01:00.1: Disabling MSI\n"
        "qemu-system-x86_64: -device vfio-pci,host=0000:01:00.0: vfio 0000:01:00.0: group 15 "
        "is not viable\nPlease ensure all devices within the iommu_group are bound to their "
        "vfio bus driver.",
    ),
    (
        "GROUP_MEMBER_NOT_VFIO",
        "01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GA104 [GeForce RTX 3070] "
        "[10de:2484] (rev a1)\n\tKernel driver in use: vfio-pci\n"
        "01:00.1 Audio device [0403]: NVIDIA Corporation GA104 High Definition Audio Controller "
        "[10de:228b] (rev a1)\n\tKernel driver in use: snd_hda_intel\n"
        "error: internal error: qemu unexpectedly closed the monitor: "
        "2025-11-29T08:00:03.000000Z qemu-system-x86_64: -device vfio-pci,host=0000:01:00.0,"
        "id=hostdev0,bus=pci.5,addr=0x0: vfio 0000:01:00.0: group 14 is not viable",
    ),
    (
        "GROUP_MEMBER_NOT_VFIO",
        "kvm: -device vfio-pci,host=0000:01:00.0,id=hostpci0: vfio 0000:01:00.0: error getting "
        "device from group 1: Invalid argument\nVerify all devices in group 1 are bound to "
        "vfio-<bus> or pci-stub and not already in use",
    ),
    (
        "GROUP_SPLIT_ACROSS_ADDRESS_SPACES",
        "qemu-system-x86_64: -device vfio-pci,host=0000:41:00.1,bus=pcie.1: vfio "
        "0000:41:00.1: group 33 used in multiple address spaces",
    ),
    (
        "GROUP_SPLIT_ACROSS_ADDRESS_SPACES",
        '{"level":"error","msg":"QMP command failed: vfio 0000:02:00.1: group 7 used in '
        'multiple address spaces"}',
    ),
    (
        "INCOMPLETE_DEVICE_FUNCTIONS",
        "qemu-system-x86_64: vfio: Cannot reset device 0000:01:00.0, depends on group 17 "
        "which is not owned.",
    ),
    (
        "INCOMPLETE_DEVICE_FUNCTIONS",
        "kvm: -device vfio-pci,host=00:02.0,x-igd-opregion=on: IGD device 0000:00:02.0 cannot "
        "support legacy mode due to existing devices at address 1f.0",
    ),
    (
        "VFIO_DEVICE_PERMISSION",
        "qemu-system-x86_64: -device vfio-pci,host=0000:0b:00.0: vfio 0000:0b:00.0: failed to "
        "open /dev/vfio/14: Permission denied",
    ),
    (
        "VFIO_DEVICE_PERMISSION",
        "qemu-system-x86_64: échec de l'ouverture de /dev/vfio/14 : Permission non accordée",
    ),
    ("VFIO_DEVICE_PERMISSION", "error: cannot open '/dev/vfio/vfio': Operation not permitted"),
    (
        "VFIO_GROUP_BUSY",
        "qemu-system-x86_64: -device vfio-pci,host=0000:0b:00.0: vfio 0000:0b:00.0: "
        "device is already attached",
    ),
    (
        "VFIO_GROUP_BUSY",
        "qemu-system-x86_64: -device vfio-pci,host=0000:0b:00.0: vfio 0000:0b:00.0: failed to "
        "open /dev/vfio/14: Device or resource busy",
    ),
    (
        "VFIO_GROUP_BUSY",
        "error: Failed to start domain 'gaming'\nerror: Requested operation is not valid: PCI "
        "device 0000:0b:00.0 is in use by driver QEMU, domain win10",
    ),
    # --- the device's own state ---
    (
        "BOOT_FB_HOLDS_BAR",
        "[    6.1] resource sanity check: requesting [mem 0x00000000d0000000-0x00000000dfffffff], "
        "which spans more than BOOTFB [mem 0xd0000000-0xd07e8fff]",
    ),
    (
        "BOOT_FB_HOLDS_BAR",
        "Nov 29 08:00:01 pve kernel: vfio-pci 0000:0b:00.0: BAR 1: can't reserve "
        "[mem 0xe0000000-0xefffffff 64bit pref]",
    ),
    (
        "BOOT_FB_HOLDS_BAR",
        "kvm: -device vfio-pci,host=0000:0b:00.0,id=hostpci0,bus=ich9-pcie-port-1,addr=0x0: "
        "Failed to mmap 0000:0b:00.0 BAR 1. Performance may be slow",
    ),
    (
        "BAR_RESERVED_BY_OTHER",
        "e0000000-efffffff : 0000:0b:00.0\n  e0000000-e02fffff : nvidiafb\n"
        "[  5.1] vfio-pci 0000:0b:00.0: BAR 1: can't reserve [mem 0xe0000000-0xefffffff 64bit pref]",
    ),
    (
        "DEVICE_DEAD_AFTER_UNCLEAN_RELEASE",
        "error: Failed to start domain 'win10'\nerror: internal error: Unknown PCI header type "
        "'127' for device '0000:0a:00.0'",
    ),
    (
        "DEVICE_DEAD_AFTER_UNCLEAN_RELEASE",
        "Fehler: Interner Fehler: Unbekannter PCI-Header-Typ '127' für Gerät '0000:0a:00.0'",
    ),
    (
        "DEVICE_DEAD_AFTER_UNCLEAN_RELEASE",
        "qemu-system-x86_64: vfio_err_notifier_handler(0000:0a:00.0) Unrecoverable error "
        "detected. Please collect any data possible and then kill the guest",
    ),
    (
        "GPU_RESET_BUG",
        "[ 912.1] vfio-pci 0000:0c:00.0: Refused to change power state, currently in D3",
    ),
    ("GPU_RESET_BUG", "kernel: vfio-pci 0000:0c:00.0: not ready 65535ms after FLR; giving up"),
    (
        "GPU_RESET_BUG",
        "qemu-system-x86_64: vfio_bar_restore: 0000:0c:00.0 reset recovery - restoring BARs",
    ),
    (
        "GPU_RESET_BUG",
        "vfio-pci 0000:0c:00.0: AMD_POLARIS10: psp mode1 reset failed",
    ),
    ("GPU_RESET_BUG", "vfio-pci 0000:0c:00.0: refused to change power state (currently D3hot)"),
    (
        "GUEST_MMIO_WINDOW_TOO_SMALL",
        "pci 0000:01:00.0: BAR 1 [mem size 0x400000000 64bit pref]: can't assign; no space",
    ),
    (
        "BOOT_FB_HOLDS_BAR",
        "vfio-pci 0000:0b:00.0: BAR 1 [mem 0xe0000000-0xefffffff 64bit pref]: can't reserve",
    ),
    (
        "MEMLOCK_LIMIT",
        "qemu-system-x86_64: vfio_dma_map  (iova 1048576, size 3220176896, va 0x7f1e2a100000): "
        "Cannot allocate memory",
    ),
    ("MEMLOCK_LIMIT", "qemu-kvm: VFIO_MAP_DMA: -12"),
    (
        "D3COLD_POWER_STATE",
        "[ 101.2] vfio-pci 0000:01:00.0: Unable to change power state from D3cold to D0, device inaccessible",
    ),
    (
        "D3COLD_POWER_STATE",
        "kernel: vfio-pci 0000:2d:00.0: can't change power state from D3cold to D0 "
        "(config space inaccessible)",
    ),
    (
        "ROMFILE_UNREADABLE",
        "qemu-system-x86_64: -device vfio-pci,host=0000:01:00.0,romfile=/root/gpu.rom: failed "
        'to find romfile "/root/gpu.rom"',
    ),
    (
        "ROMFILE_UNREADABLE",
        "qemu-system-x86_64: Could not open option rom '/usr/share/vgabios/patched.rom': "
        "Permission denied",
    ),
    (
        "IGPU_ROM_SIGNATURE",
        "vfio-pci 0000:00:02.0: Invalid PCI ROM header signature: expecting 0xaa55, got 0xffff",
    ),
    # --- memory ---
    (
        "MEMLOCK_LIMIT",
        "qemu-system-x86_64: -device vfio-pci,host=0000:65:00.0: VFIO_MAP_DMA failed: Cannot allocate memory",
    ),
    (
        "MEMLOCK_LIMIT",
        "qemu-system-x86_64: vfio_container_dma_map(0x55d0c3, 0x100000, 0xbff00000, "
        "0x7f1e2a100000) = -12 (Cannot allocate memory)",
    ),
    (
        "MEMLOCK_LIMIT",
        "error: internal error: cannot limit locked memory to 17179869184: Operation not permitted",
    ),
    (
        "MEMLOCK_LIMIT",
        "Fehler: Interner Fehler: Der gesperrten Speicher von Prozess 111 kann nicht auf "
        "9007199254740991 begrenzt werden: Die Operation ist nicht erlaubt",
    ),
    (
        "GUEST_PHYS_BITS_TOO_HIGH",
        "2025-11-29T08:00:05.1Z qemu-system-x86_64: VFIO_MAP_DMA failed: Invalid argument",
    ),
    (
        "GUEST_PHYS_BITS_TOO_HIGH",
        "qemu-system-x86_64: vfio_container_dma_map(0x5581, 0x8000000000, 0x10000000, "
        "0x7f00) = -22 (Invalid argument)",
    ),
    (
        "GUEST_PHYS_BITS_TOO_HIGH",
        "qemu-system-x86_64: Address space limit 0x7fffffffff < 0x4bfffffffff phys-bits too low (39)",
    ),
    (
        "GUEST_MMIO_WINDOW_TOO_SMALL",
        "[    0.912345] pci 0000:01:00.0: BAR 1: no space for [mem size 0x400000000 64bit pref]",
    ),
    (
        "GUEST_MMIO_WINDOW_TOO_SMALL",
        "This device cannot find enough free resources that it can use. (Code 12)",
    ),
    (
        "HUGEPAGES_NOT_RESERVED",
        "qemu-system-x86_64: unable to map backing store for guest RAM: Cannot allocate memory\n"
        "$ grep Huge /proc/meminfo\nHugePages_Total:       0\nHugePages_Free:        0",
    ),
    (
        "HUGEPAGES_INSUFFICIENT",
        "qemu-system-x86_64: os_mem_prealloc: Insufficient free host memory pages available "
        "to allocate guest RAM",
    ),
    (
        "HUGEPAGES_INSUFFICIENT",
        "[    0.000000] HugeTLB: allocating 16 of page size 1.00 GiB failed.  Only allocated 9 hugepages.",
    ),
    (
        "HUGEPAGES_INSUFFICIENT",
        "* `unable to map backing store for guest RAM: Cannot allocate memory`\n"
        "* `HugePages_Total:    8192`",
    ),
    (
        "HUGEPAGE_SIZE_MISCONFIGURED",
        "error: internal error: Unable to find any usable hugetlbfs mount for 1048576 KiB",
    ),
    (
        "HUGEPAGE_SIZE_MISCONFIGURED",
        "qemu-system-x86_64: backend memory size 0x1000 must be equal to or larger than page "
        "size 0x40000000",
    ),
    # --- files and policy ---
    (
        "IMAGE_PATH_PERMISSION",
        "error: Cannot access storage file '/home/alice/VMs/win11.qcow2' (as uid:107, gid:107): "
        "Permission denied",
    ),
    (
        "IMAGE_PATH_PERMISSION",
        "erreur : Impossible d'accéder au fichier de stockage '/home/u/vm.img' (en tant que "
        "uid:107, gid:107): Permission non accordée",
    ),
    (
        "IMAGE_PATH_PERMISSION",
        "Fehler: Zugriff auf Speicherdatei '/home/u/vm.img' (als uid:64055, gid:108) nicht "
        "möglich: Keine Berechtigung",
    ),
    (
        "IMAGE_PATH_PERMISSION",
        "The emulator may not have search permissions for the path '/home/alice/VMs/win11.qcow2'.",
    ),
    (
        "IMAGE_PATH_PERMISSION",
        "qemu-system-x86_64: -blockdev {...}: Could not open '/srv/vm/disk.img': Permission denied",
    ),
    (
        "APPARMOR_DENIAL",
        'audit: type=1400 audit(1732867200.123:45): apparmor="DENIED" operation="open" '
        'profile="libvirt-3c5f8a3e-8d1c-4b0e-9a5e-1f2e3d4c5b6a" name="/home/user/vms/win11.qcow2" '
        'pid=4242 comm="qemu-system-x86" requested_mask="r" denied_mask="r" fsuid=64055 ouid=1000',
    ),
    (
        "APPARMOR_DENIAL",
        'Nov 29 08:00:01 host kernel: audit: type=1400 audit(1732867200.5:46): apparmor="DENIED" '
        'operation="open" class="file" profile="virt-aa-helper" name="/srv/iso/win.iso" '
        'pid=99 comm="virt-aa-helper" requested_mask="r" denied_mask="r" fsuid=0 ouid=0',
    ),
    (
        "APPARMOR_DENIAL",
        'kernel: audit: type=1400 audit(1732867200.7:50): apparmor="DENIED" operation="open" '
        'profile="libvirt-3c5f8a3e-8d1c-4b0e-9a5e-1f2e3d4c5b6a" name="/dev/vfio/14" pid=4242 '
        'comm="qemu-system-x86" requested_mask="wr" denied_mask="wr" fsuid=64055 ouid=0',
    ),
    (
        "SELINUX_DENIAL",
        "type=AVC msg=audit(1732867200.123:512): avc:  denied  { read } for  pid=4242 "
        'comm="qemu-kvm" name="disk.img" dev="dm-2" ino=1234 '
        "scontext=system_u:system_r:svirt_t:s0:c12,c34 "
        "tcontext=unconfined_u:object_r:user_home_t:s0 tclass=file permissive=0",
    ),
    (
        "SELINUX_DENIAL",
        "kernel: audit: type=1400 audit(1732867200.9:77): avc:  denied  { open } for  pid=812 "
        'comm="rpc-virtqemud" path="/dev/vfio/14" dev="devtmpfs" '
        "scontext=system_u:system_r:svirt_t:s0:c1,c2 tcontext=system_u:object_r:vfio_device_t:s0",
    ),
    (
        "KVMFR_PERMISSION",
        "qemu-system-x86_64: -object memory-backend-file,id=looking-glass,mem-path=/dev/kvmfr0,"
        "size=32M,share=yes: can't open backing store /dev/kvmfr0 for guest RAM: Permission denied",
    ),
    (
        "KVMFR_PERMISSION",
        "[E] ivshmem.c:412 | ivshmemOpenDev | Failed to open /dev/kvmfr0: Permission denied",
    ),
    (
        "KVMFR_PERMISSION",  # the Looking Glass client: the errno comes on the next line
        "Failed to open: /dev/kvmfr0",
    ),
    (
        "AGENT_NOT_RUNNING",
        "Nov 29 08:00:01 guest systemd[1]: qemu-guest-agent.service: Main process exited, "
        "code=exited, status=1/FAILURE",
    ),
    (
        "KVMFR_PERMISSION",
        "Nov 29 08:00:01 host systemd-udevd[612]: /etc/udev/rules.d/99-kvmfr.rules:1 "
        "User 'alice' is not a system user, ignoring.",
    ),
    # --- Looking Glass ---
    (
        "IVSHMEM_TOO_SMALL",
        "[E] 1234 app.c:301 | captureStart | Maximum frame size of 33177600 bytes exceeds "
        "maximum space available",
    ),
    ("IVSHMEM_TOO_SMALL", "[E] lg: the IVSHMEM region is too small for 3840x2160"),
    # --- machine type, topology ---
    (
        "MACHINE_NO_PCI_BUS",
        "qemu-system-aarch64: -device vfio-pci,host=0000:01:00.0: No 'PCI' bus found for device 'vfio-pci'",
    ),
    ("MACHINE_NO_PCI_BUS", "No 'PCIE' bus found for device 'vfio-pci-nohotplug'"),
    (
        "PCIE_ROOT_PORT_NOT_CONFIGURED",
        "Error: failed to create containerd task: failed to create shim task: QMP command "
        "failed: Bus 'rp0' not found",
    ),
    ("PCIE_ROOT_PORT_NOT_CONFIGURED", "qemu: device_add: Bus 'pcie-root-port-1' not found"),
    # --- libvirt ---
    (
        "LIBVIRT_DAEMON_NOT_RUNNING",
        "error: failed to connect to the hypervisor\nerror: Failed to connect socket to "
        "'/var/run/libvirt/virtqemud-sock': No such file or directory",
    ),
    (
        "LIBVIRT_DAEMON_NOT_RUNNING",
        "Fehler: Verbindung zum Socket '/run/libvirt/libvirt-sock' fehlgeschlagen: Datei oder "
        "Verzeichnis nicht gefunden",
    ),
    (
        "LIBVIRT_DAEMON_NOT_RUNNING",
        "error: Failed to connect socket to '/run/libvirt/virtlogd-sock': Connection refused",
    ),
    (
        "LIBVIRT_DAEMON_NOT_RUNNING",
        '{"component":"virt-launcher","level":"info","msg":"Connecting to libvirt daemon '
        "failed: virError(Code=38, Domain=7, Message='Failed to connect socket to "
        '\'/var/run/libvirt/virtqemud-sock\': No such file or directory\')","pos":"libvirt.go:532"}',
    ),
    (
        "LIBVIRT_SOCKET_PATH_MISMATCH",
        "error: Failed to connect socket to '/usr/local/var/run/libvirt/libvirt-sock': No such "
        "file or directory",
    ),
    (
        "LIBVIRT_SOCKET_PATH_MISMATCH",
        "libvirt: '/usr/local/var/run/libvirt/virtqemud-sock' missing",
    ),
    (
        "LIBVIRT_NETWORK_INACTIVE",
        "error: Failed to start domain 'win11'\nerror: Requested operation is not valid: "
        "network 'default' is not active",
    ),
    (
        "LIBVIRT_NETWORK_INACTIVE",
        "Fehler: Angeforderte Operation ist nicht gültig: Netzwerk 'default' ist nicht aktiv",
    ),
    (
        "LIBVIRT_NETWORK_INACTIVE",
        "erreur : L'opération demandée n'est pas valide : le réseau 'default' n'est pas actif",
    ),
    ("LIBVIRT_NETWORK_INACTIVE", "error: Operación no válida: la red 'default' no está activa"),
    # --- benign ---
    (
        "CPU_MODEL_FEATURE_MISMATCH",
        "2025-11-29T08:00:03.123456Z qemu-system-x86_64: warning: host doesn't support "
        "requested feature: MSR(48FH).vmx-exit-load-perf-global-ctrl [bit 12]",
    ),
    (
        "CPU_MODEL_FEATURE_MISMATCH",
        "qemu-kvm: warning: host doesn't support requested feature: CPUID.07H:EBX.hle [bit 4]",
    ),
    (
        "KVM_IGNORED_MSR",
        "[ 512.1] kvm [4242]: vcpu0, guest rIP: 0xfffff80312345678 ignored rdmsr: 0x1a2 data 0x0",
    ),
    (
        "KVM_IGNORED_MSR",
        "kvm_intel: kvm [4242]: vcpu1, guest rIP: 0xfffff803 unhandled rdmsr: 0x611",
    ),
]

# Healthy hosts' boot and runtime-PM noise: ROM and small BARs left unassigned, a device
# refusing to go to sleep.
HEALTHY_NOISE = [
    "[    0.4] pci 0000:00:1c.0: BAR 6: failed to assign [mem size 0x00080000]",
    "[    0.4] pci 0000:00:1c.0: BAR 0: failed to assign [mem size 0x00004000 64bit]",
    "pci 0000:01:00.0: BAR 14 [mem size 0x00200000]: can't assign; no space",
    "[ 912.1] vfio-pci 0000:0c:00.0: Refused to change power state from D0 to D3hot",
    # a guest shutting down stops its agent cleanly
    "Nov 29 08:00:01 guest systemd[1]: qemu-guest-agent.service: Deactivated successfully.",
    "guest systemd[1]: qemu-guest-agent.service: Main process exited, code=exited, status=0/SUCCESS",
]

# Lines that show no cause: ordinary kernel, QEMU and libvirt noise, lines that merely
# mention vfio, KVM or the agent, and facts that decide nothing on their own.
NO_CAUSE_LINES = [
    "[    0.000000] Linux version 6.8.0-49-generic (buildd@lcy02-amd64-103) (gcc 13.2.0)",
    "[    5.1] vfio-pci 0000:01:00.0: enabling device (0000 -> 0003)",
    "[    4.9] VFIO - User Level meta-driver version: 0.3",
    "pci 0000:01:00.0: [10de:2484] type 00 class 0x030000",
    "[    0.06] DMAR: IOMMU enabled",
    "AMD-Vi: Interrupt remapping enabled",
    "DMAR-IR: Enabled IRQ remapping in x2apic mode",
    "Nov 29 08:00:01 host systemd[1]: Started libvirtd.service - libvirt legacy monolithic daemon.",
    "2025-11-29T08:10:00.1Z qemu-system-x86_64: terminating on signal 15 from pid 1234 (/usr/sbin/libvirtd)",
    "2025-11-29 08:00:01.000+0000: starting up libvirt version: 10.0.0, qemu version: 8.2.2",
    "-device vfio-pci,host=0000:01:00.0,id=hostdev0,romfile=/usr/share/vgabios/gpu.rom \\",
    "virbr0: port 1(vnet0) entered forwarding state",
    "1732867201.1: debug: received EOF\nqemu-ga: info: guest-ping called",
    "HugePages_Total:    1024",
    "01:00.0 VGA compatible controller [0300]: NVIDIA Corporation [10de:2484]\n"
    "\tKernel driver in use: nvidia",
    "[   10.2] nvidia 0000:01:00.0: enabling device (0000 -> 0003)",
    "kvm: exiting hardware virtualization",
    "the network 'default' is active",
    'level=error msg="Error opening channel: No such file or directory"',
    "snd_hda_intel 0000:c4:00.1: Refused to change power state from D0 to D3hot",
    *HEALTHY_NOISE,
    "xhci_hcd 0000:03:00.4: Refused to change power state, currently in D3",
    "[    0.2] mce: CMCI disabled by BIOS",
    "systemd[1]: Unit dev-hugepages.mount is not active.",
    'audit: type=1400 audit(1.2:3): apparmor="ALLOWED" operation="open" profile="libvirt-x"',
    "",
]


@pytest.mark.parametrize(
    ("code", "text"), CAUSE_LINES, ids=[f"{c}-{i}" for i, (c, _) in enumerate(CAUSE_LINES)]
)
def test_cause_is_first(code: str, text: str) -> None:
    """The cause these lines show is named first."""
    causes = explain_text(text).causes
    assert [m.code for m in causes[:1]] == [code], [(m.code, m.confidence) for m in causes]


@pytest.mark.parametrize("text", NO_CAUSE_LINES)
def test_no_cause(text: str) -> None:
    """Ordinary noise and passing mentions give no cause."""
    assert explain_text(text).causes == []


# Lines healthy hosts print that are weak hints at most: a candidate of 0.3 or less, never a
# strong cause, and a real cause next to them ranks first.
WEAK_LINES = [
    "qemu-system-x86_64: vfio_bar_restore: 0000:0c:00.0 reset recovery - restoring BARs",
    "Nov 29 08:00:01 host systemd-udevd[612]: /etc/udev/rules.d/60-lp.rules:3 "
    "User 'lp' is not a system user, ignoring.",
]


@pytest.mark.parametrize("text", WEAK_LINES)
def test_healthy_noise_is_weak(text: str) -> None:
    """A healthy host's noise gives at most a weak candidate, and a real cause beside it
    ranks first."""
    assert all(m.confidence < 0.31 for m in explain_text(text).causes if not m.benign)
    real = (
        "[ 1.2] vfio-pci 0000:01:00.0: BAR 1: can't reserve [mem 0xe0000000-0xefffffff 64bit pref]"
    )
    first = explain_text(f"{text}\n{real}").causes[0]
    assert first.code == explain_text(real).causes[0].code


@pytest.mark.parametrize("text", HEALTHY_NOISE)
def test_noise_beside_a_real_cause(text: str) -> None:
    """Boot noise next to a real cause leaves the real cause first and alone."""
    real = "kernel: vfio-pci 0000:0c:00.0: not ready 65535ms after FLR; giving up"
    assert [m.code for m in explain_text(f"{text}\n{real}").causes] == ["GPU_RESET_BUG"]


def test_each_cause_has_two_lines() -> None:
    """Every cause the lines can show has at least two lines of its own here (facts-only
    causes and the lines that need one fact excepted)."""
    from collections import Counter

    from workbench.explain.catalogue import catalogue

    counts = Counter(code for code, _ in CAUSE_LINES)
    shown_by_lines = {code for p in catalogue().patterns for code, _ in p.causes}
    one_is_enough = {
        "HOST_DRIVER_BOUND",
        "GROUP_MEMBER_NOT_VFIO",
        "BAR_RESERVED_BY_OTHER",
        "HUGEPAGES_NOT_RESERVED",
        "IGPU_ROM_SIGNATURE",
        "AGENT_CHANNEL_ACCESS_DENIED",
    }
    few = {c: counts[c] for c in shown_by_lines if counts[c] < (1 if c in one_is_enough else 2)}
    assert few == {}


@pytest.mark.parametrize(
    ("text", "subject"),
    [
        (
            "vfio-pci 0000:0B:00.0: BAR 1: can't reserve [mem 0xe0000000-0xefffffff]",
            {"bdf": "0000:0b:00.0", "bar": "1"},
        ),
        (
            "kvm: -device vfio-pci,host=0b:00.0: Failed to mmap 0b:00.0 BAR 3. Performance may be slow",
            {"bdf": "0000:0b:00.0", "bar": "3"},
        ),
        (
            "vfio 0000:01:00.0: failed to open /dev/vfio/27: Permission denied",
            {"group": "27", "errno": "13"},
        ),
        ("ioctl(KVM_CREATE_VM) failed: 16 Device or resource busy", {"errno": "16"}),
        ("kvmfr: kvmfr_pci_probe: failed to remap pages! ret = -22", {"errno": "22"}),
        (
            "error: Failed to start domain 'gaming'\n"
            "error: Requested operation is not valid: network 'lan' is not active",
            {"vm": "gaming", "network": "lan"},
        ),
        (
            "qemu-system-x86_64 -name guest=win11,debug-threads=on ... "
            "VFIO_MAP_DMA failed: Cannot allocate memory",
            {"vm": "win11", "errno": "12"},
        ),
    ],
)
def test_subject(text: str, subject: dict[str, str]) -> None:
    """The first cause's subject holds the BDF in full form, the group, errno as a number, VM."""
    first = explain_text(text).causes[0]
    assert {k: first.subject.get(k) for k in subject} == subject


def test_vm_from_qemu_log_name() -> None:
    """A QEMU log's file name gives the VM when the line does not name it."""
    from workbench.explain.matcher import Matcher

    matcher = Matcher()
    matcher.feed_text(
        "2025-11-29T08:00:03.1Z qemu-system-x86_64: VFIO_MAP_DMA failed: Cannot allocate memory",
        source="/var/log/libvirt/qemu/win11.log",
    )
    assert matcher.result().causes[0].subject["vm"] == "win11"


def test_two_devices_are_two_causes() -> None:
    """One cause shown for two devices: two entries, each with its own device and lines."""
    text = (
        "vfio-pci 0000:0b:00.0: Refused to change power state, currently in D3\n"
        "vfio-pci 0000:0c:00.0: Refused to change power state, currently in D3\n"
    )
    causes = explain_text(text).causes
    assert [c.subject["bdf"] for c in causes] == ["0000:0b:00.0", "0000:0c:00.0"]
    assert [[e.line for e in c.evidence] for c in causes] == [[1], [2]]


def test_subject_conflicts_keep_the_first() -> None:
    """One device, two BAR numbers for one cause: the first is kept and the other counted."""
    text = (
        "vfio-pci 0000:0b:00.0: BAR 1: can't reserve [mem 0xc0000000-0xcfffffff 64bit pref]\n"
        "vfio-pci 0000:0b:00.0: BAR 3: can't reserve [mem 0xd0000000-0xd1ffffff 64bit pref]\n"
    )
    first = explain_text(text).causes[0]
    assert (first.subject["bar"], first.subject_conflicts) == ("1", 1)


def test_identical_lines_are_one_evidence() -> None:
    """A line repeated shows once in the evidence and does not raise the confidence."""
    line = "vfio_pin_pages_remote: RLIMIT_MEMLOCK (65536) exceeded\n"
    once, many = explain_text(line).causes[0], explain_text(line * 50).causes[0]
    assert len(many.evidence) == 1
    assert many.confidence == once.confidence


def test_benign_ranks_after_real_and_is_not_found() -> None:
    """Benign causes come after real ones; only benign ones is not `found`."""
    benign = "qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.01H:ECX.vmx [bit 5]"
    assert not explain_text(benign).found
    mixed = explain_text(benign + "\n[ 1.2] kvm: disabled by bios")
    assert [m.code for m in mixed.causes] == ["KVM_DISABLED_BIOS", "CPU_MODEL_FEATURE_MISMATCH"]
    assert mixed.found


def test_ambiguous_line_lists_every_candidate_lower() -> None:
    """An ambiguous line with no deciding fact names all its candidates, none of them sure."""
    causes = explain_text(
        "unable to map backing store for guest RAM: Cannot allocate memory"
    ).causes
    assert [m.code for m in causes] == [
        "HUGEPAGES_NOT_RESERVED",
        "HUGEPAGES_INSUFFICIENT",
        "HUGEPAGE_SIZE_MISCONFIGURED",
    ]
    assert all(m.confidence <= 0.5 for m in causes)


def test_subject_carries_no_terminal_control() -> None:
    """A subject read from a hostile line has its control characters escaped."""
    text = "error: Failed to start domain 'evil\x1b[2J'\nnetwork 'lan\x07' is not active"
    subject = explain_text(text).causes[0].subject
    assert "\x1b" not in subject["vm"] and "\x07" not in subject["network"]
    assert subject["vm"].startswith("evil")


def test_kvmfr_backing_store_is_not_hugepages() -> None:
    """A Looking Glass device or /dev/shm file as backing store is no hugepages candidate."""
    for path in ("/dev/kvmfr0", "/dev/shm/looking-glass"):
        text = (
            f"qemu-system-x86_64: can't open backing store {path} for guest RAM: Permission denied"
        )
        codes = {m.code for m in explain_text(text).causes}
        assert not codes & {"HUGEPAGES_NOT_RESERVED", "HUGEPAGES_INSUFFICIENT"}, codes


CAUSE_NO_KVM = "Could not access KVM kernel module: No such file or directory"


def test_no_kvm_module_names_the_module_among_candidates() -> None:
    """`Could not access KVM kernel module: No such file or directory` names the firmware first
    and the KVM module not loaded among its candidates (the evidence README's other reading)."""
    codes = [m.code for m in explain_text(CAUSE_NO_KVM).causes]
    assert codes[0] == "KVM_DISABLED_BIOS" and "KVM_MODULE_NOT_LOADED" in codes[:3]


def test_a_gpu_shown_on_vfio_pci_argues_against_its_own_driver() -> None:
    """lspci -nnk shows the GPU on vfio-pci: for `group 1 is not viable` its own driver is
    not the cause (confidence cut), the group's other member is named first."""
    text = (
        "01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GA102 [10de:2206] (rev a1)\n"
        "\tKernel driver in use: vfio-pci\n"
        "vfio 0000:01:00.0: group 1 is not viable\n"
    )
    causes = {c.code: c for c in explain_text(text).causes}
    assert explain_text(text).causes[0].code == "GROUP_MEMBER_NOT_VFIO"
    assert causes["HOST_DRIVER_BOUND"].confidence < 0.2


def test_remedies_name_the_device_and_group_the_lines_named() -> None:
    """A remedy's placeholders are filled from the evidence: the group's number in its
    path, the device's address and (from an lspci block) its vendor:device ids."""
    text = (
        "01:00.0 VGA compatible controller [0300]: NVIDIA Corporation GA102 [10de:2206] (rev a1)\n"
        "\tKernel driver in use: nvidia\n"
        "vfio 0000:01:00.0: group 14 is not viable\n"
    )
    remedies = {c.code: c.remedy for c in explain_text(text).causes}
    assert "iommu_groups/14/devices" in remedies["GROUP_MEMBER_NOT_VFIO"]
    assert "vfio-pci.ids=10de:2206" in remedies["HOST_DRIVER_BOUND"]
    assert "lspci -nnk -s 0000:01:00.0" in remedies["HOST_DRIVER_BOUND"]
    assert "BDF" not in remedies["HOST_DRIVER_BOUND"]
