"""A sosreport read as a machine.

A sosreport (`sos report`) never holds `/sys/bus/pci` or `/sys/kernel/iommu_groups`, but it
holds what judges a passthrough host: `lspci -nnvv`, the kernel log, /proc, module parameters,
the /dev listing, libvirt's domain XML and `virsh` outputs. `translate.build_root` turns a report
(read in place, read-only, through a confined Host) into a machine root in a private temporary
directory, laid out as a capture's is, so every probe, the log views and the recorded hypervisor
read it unchanged. What the report cannot show is said in the root's manifest
(`not_recorded`: path -> "not in this sosreport: needs X (collected by ...)"), never guessed.

- `open.py`: what the user named (a directory or a .tar.xz/.tar.gz archive) -> the report's
  top directory (an archive is unpacked safely into a private temp dir).
- `detect.py`: whether a directory or an archive is a sosreport, by its content.
- `translate.py`: report -> machine root + manifest, through the builders below.
- `journal.py`: the one kernel log every builder reads (dmesg, else this boot's journal,
  else syslog; chosen once, read bounded) and the report's journal files.
- `pcibuild.py` (lspci, nodedev XML, the kernel log's groups), `machinebuild.py` (/proc,
  modules, hugepages, /dev, processes, logs), `virtbuild.py` (libvirt recording from XML and
  virsh). The machine part is split by what it reads: `procfiles.py` (/proc, host name,
  release), `modules.py` (lsmod or /proc/modules, module parameters, hugepages, modprobe.d),
  `devlisting.py` (the /dev listing -> facts.device_nodes, /dev/shm), `processes.py` (ps ->
  facts.processes), `kernellog.py` (logs/kernel.log), `qemulogs.py` (QEMU and libvirt's
  daemon logs), with `reportfiles.py` (capped, name-checked reads and listings) and
  `cmdstatus.py` (the report's own manifest: a command not installed, failed, or its plugin
  not run).
- `model.py`: what the builders share (the notes that become the manifest).
"""
