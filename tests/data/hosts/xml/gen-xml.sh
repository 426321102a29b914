#!/usr/bin/env bash
# Writes snc2-4n.xml: an hwloc v2 XML host made with hwloc's own tools from a synthetic
# topology (2 packages x 2 nodes, 4 cores x 2 threads each), plus
#   - a SLIT ("NUMALatency", kind 5 = from OS | latency) added with hwloc-annotate,
#   - measured free memory of node 1 as the info attribute vnuma.free_mib,
#   - PCI devices spliced in by hand: NIC + NVMe under node 0's L3, a GPU under node 3's
#     L3, an InfiniBand HCA under package 1 (two nodes: no single local node) and a SATA
#     controller under the machine (no locality).
# The file is committed; this script records how it was made.  Needs lstopo-no-graphics
# and hwloc-annotate (Debian package hwloc-nox or hwloc).
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

lstopo-no-graphics --input "pack:2 numa:2(memory=34359738368) l3:1 core:4 pu:2" --of xml "$tmp/s.xml"
{
  echo name=NUMALatency
  echo 5
  echo 4
  for i in 0 1 2 3; do echo "NUMANode:$i"; done
  for v in 10 11 21 21  11 10 21 21  21 21 10 11  21 21 11 10; do echo $v; done
} >"$tmp/dist.txt"
hwloc-annotate "$tmp/s.xml" "$tmp/a.xml" -- root -- distances "$tmp/dist.txt"
hwloc-annotate "$tmp/a.xml" "$tmp/a.xml" NUMANode:1 info vnuma.free_mib 20000

pcidev() { # gp_index busid class+ids [osdev-name osdev-type]
  printf '<object type="PCIDev" gp_index="%s" pci_busid="%s" pci_type="%s" pci_link_speed="0.000000">' "$1" "$2" "$3"
  if [ $# -gt 3 ]; then
    printf '<object type="OSDev" gp_index="%s" name="%s" osdev_type="%s"/>' "$(($1 + 1))" "$4" "$5"
  fi
  printf '</object>\n'
}
nic=$(pcidev 1000 0000:17:00.0 "0200 [8086:1592] [8086:0002] 02" eth0 2)
nvme=$(pcidev 1002 0000:18:00.0 "0108 [144d:a80a] [144d:a801] 00" nvme0n1 0)
gpu=$(pcidev 1004 0000:d8:00.0 "0302 [10de:20b0] [10de:134f] a1")
hca=$(pcidev 1006 0000:af:00.0 "0207 [15b3:101b] [15b3:0007] 00" mlx5_0 3)
sata=$(pcidev 1008 0000:00:1f.2 "0106 [8086:a182] [8086:7270] 09")

awk -v nic="$nic" -v nvme="$nvme" -v gpu="$gpu" -v hca="$hca" -v sata="$sata" '
  # Children go after a parent'"'"'s info lines: the first package is a safe place for the
  # machine'"'"'s device.
  /<object type="Package"/ { pkg++; if (pkg == 1) print sata }
  { print }
  /<object type="Package"/ { if (pkg == 2) print hca }
  /<object type="L3Cache"/ { l3++; if (l3 == 1) { print nic; print nvme } if (l3 == 4) print gpu }
' "$tmp/a.xml" >snc2-4n.xml
