#!/usr/bin/env bash
# Builds the qemu backend's guest images from Debian packages only, without root and without
# installing anything on the host (packages are fetched with `apt-get download` and unpacked with
# `dpkg-deb -x`). Output, cached in OUT (default .bmlab/images):
#   vmlinuz             Debian cloud kernel (virtio drivers are modules, e1000 is not built)
#   initrd-agent.gz     busybox-static initramfs: loads virtio/ACPI modules, DHCP, phones home to
#                       the lab and runs the relay (polls the lab, can `wget | dd` an image to /dev/vda)
#   initrd-deployed.gz  the same base, prints DEPLOYED-IMAGE-BOOTED on serial and phones home
#   deploy.img          24 MiB raw disk: MBR + FAT16 partition with vmlinuz, initrd-deployed.gz and
#                       SYSLINUX twice: BIOS (MBR → VBR → ldlinux.sys) and UEFI (\EFI\BOOT\BOOTX64.EFI,
#                       the removable-media path OVMF boots without any NVRAM entry)
#   manifest.json       versions, sizes, sha256 and build time
# Host tools: apt-get, dpkg-deb, cpio, gzip, mtools, mkfs.vfat (dosfstools), sfdisk (fdisk).
# Usage: scripts/build-images.sh [OUT] [--force]
set -euo pipefail
export PATH=$PATH:/usr/sbin:/sbin

out=.bmlab/images
force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -*) echo "build-images: unknown option $arg" >&2; exit 2 ;;
    *) out=$arg ;;
  esac
done
# Bump when the images' layout changes, so older caches are rebuilt.
format=6
if [[ $force -eq 0 && -f "$out/manifest.json" ]] && grep -q "\"format\": $format," "$out/manifest.json"; then
  echo "build-images: $out is up to date (use --force to rebuild)" >&2
  exit 0
fi

for tool in apt-get dpkg-deb cpio gzip mcopy mkfs.vfat sfdisk; do
  command -v "$tool" >/dev/null || { echo "build-images: missing $tool (scripts/system-deps.sh --qemu)" >&2; exit 1; }
done

start=$(date +%s.%N)
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d "$out/.build.XXXXXX")
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/debs" && chmod 777 "$work/debs"   # apt's _apt sandbox user must be able to write here

# --- 1. packages --------------------------------------------------------------------------------
kpkg=$(apt-cache depends linux-image-cloud-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -1)
[[ -n "$kpkg" ]] || { echo "build-images: cannot resolve linux-image-cloud-amd64 (apt-get update?)" >&2; exit 1; }
kver=${kpkg#linux-image-}
(cd "$work/debs" && apt-get download -q "$kpkg" busybox-static syslinux syslinux-common syslinux-efi >&2)
for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$work/root"; done
kroot=$work/root
cp "$kroot/boot/vmlinuz-$kver" "$work/vmlinuz"

# --- 2. initramfs -------------------------------------------------------------------------------
# Load order follows the modules' dependencies (modinfo depends=): virtio core first, then the PCI
# transport, then the drivers; button+evdev let busybox acpid see the ACPI power button, without
# which `system_powerdown` does nothing. Modules the kernel has built in are skipped.
modules=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover
  virtio_net virtio_blk button evdev)

make_initrd() { # role output
  local role=$1 dest=$2 ir=$work/initrd-$1
  mkdir -p "$ir"/{bin,sbin,etc/acpi/PWRF,proc,sys,dev,tmp,var/log,var/run,lib/modules,root}
  cp "$kroot/bin/busybox" "$ir/bin/busybox"
  for applet in $("$ir/bin/busybox" --list); do
    [[ $applet == busybox ]] || ln -sf busybox "$ir/bin/$applet"
  done
  : > "$ir/etc/modules"
  for m in "${modules[@]}"; do
    local ko
    ko=$(find "$kroot/lib/modules/$kver" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" | head -1)
    if [[ -n "$ko" ]]; then
      cp "$ko" "$ir/lib/modules/"
      echo "$(basename "$ko")" >> "$ir/etc/modules"
    fi
  done
  printf '#!/bin/sh\npoweroff -f\n' > "$ir/etc/acpi/PWRF/00000080"
  cat > "$ir/etc/udhcpc.script" <<'SH'
#!/bin/sh
# udhcpc hook: configure the lease and remember the router (the lab's address on this segment).
case "$1" in
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    for r in $router; do ip route add default via "$r" dev "$interface"; echo "$r" > /tmp/router; break; done
    # The boot file URL (BOOTP file field or option 67) names the lab's HTTP server.
    for f in $boot_file $bootfile; do echo "$f" > /tmp/bootfile; break; done
    echo "$ip" > /tmp/ip ;;
esac
SH
  echo "$role" > "$ir/etc/role"
  cat > "$ir/init" <<'SH'
#!/bin/sh
# bmlab guest init. Kernel command line:
#   bmlab.url=URL          the lab's HTTP base (default: the origin of the DHCP boot file URL,
#                          else http://<DHCP router>:8080)
#   bmlab.id=ID            node id reported when phoning home
#   bmlab.deploy=URL       agent role: write this image to /dev/vda at once, then power off
#   bmlab.image_bytes=N    deployed role: how many bytes of /dev/vda the image is (its sha256 is
#                          printed on the marker line, so the console says which image booted)
export PATH=/bin:/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
for ko in $(cat /etc/modules); do insmod "/lib/modules/$ko" 2>/dev/null; done
role=$(cat /etc/role)
for arg in $(cat /proc/cmdline); do
  case "$arg" in
    bmlab.url=*) URL=${arg#bmlab.url=} ;;
    bmlab.id=*) ID=${arg#bmlab.id=} ;;
    bmlab.deploy=*) DEPLOY=${arg#bmlab.deploy=} ;;
    bmlab.image_bytes=*) IMAGE_BYTES=${arg#bmlab.image_bytes=} ;;
  esac
done
# busybox acpid exits silently when /var/log or /var/run is missing (both exist in this image)
acpid -l /var/log/acpid.log -p /var/run/acpid.pid
if [ "$role" = deployed ]; then
  # Hashing the image takes ~1.5 s of TCG CPU: it runs beside DHCP and the phone-home (mostly
  # waits on the network) instead of in front of them; the marker line follows when it is done.
  (
    SUM=
    [ -n "$IMAGE_BYTES" ] && SUM=" sha256=$(head -c "$IMAGE_BYTES" /dev/vda | sha256sum | cut -d' ' -f1)"
    echo "DEPLOYED-IMAGE-BOOTED id=${ID:-unknown}$SUM"
  ) &
fi
echo "bmlab: $role ramdisk up"
i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done
ip link set lo up; ip link set eth0 up
udhcpc -i eth0 -s /etc/udhcpc.script -n -q -t 10 -T 1 >/dev/null 2>&1
[ -z "$URL" ] && URL=$(sed -nE 's#^(https?://[^/]+)/.*#\1#p' /tmp/bootfile 2>/dev/null)
[ -z "$URL" ] && URL="http://$(cat /tmp/router 2>/dev/null):8080"
MAC=$(cat /sys/class/net/eth0/address)
IP=$(cat /tmp/ip 2>/dev/null)
home() { # query [wget options]
  q=$1; shift
  wget -q -O /dev/null "$@" "$URL/phonehome?role=$role&id=${ID:-}&mac=$MAC&ip=$IP&uptime=$(cut -d' ' -f1 /proc/uptime)&$q"
}
# Writes an image to the first disk: the real `dd` behind the agent's write_image.
write_image() {
  echo "bmlab: writing $1 to /dev/vda"
  wget -q -O - "$1" | dd of=/dev/vda bs=1M conv=fsync 2>/tmp/dd.log
  rc=$?; sync
  echo "bmlab: write finished rc=$rc"
  home "event=written&rc=$rc"
}
# What in-band inspection needs, measured here from /proc, /sys and the SMBIOS tables, one
# `key=value` per line; the lab's agent turns it into IPA's inventory. The kernel command line goes
# with it: it holds what the provisioning system told the ramdisk (ipa-api-url, BOOTIF, ...).
report() {
  echo "cmdline=$(cat /proc/cmdline)"
  echo "arch=$(uname -m)"
  echo "cpu_count=$(grep -c ^processor /proc/cpuinfo)"
  sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1 | sed 's/^/cpu_model=/'
  sed -n 's/^cpu MHz[[:space:]]*: //p' /proc/cpuinfo | head -1 | sed 's/^/cpu_mhz=/'
  sed -n 's/^flags[[:space:]]*: //p' /proc/cpuinfo | head -1 | sed 's/^/cpu_flags=/'
  echo "cpu_sockets=$(sed -n 's/^physical id[[:space:]]*: //p' /proc/cpuinfo | sort -u | wc -l)"
  echo "mem_total_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)"
  # SMBIOS type 17 (Memory Device): size at offset 0Ch, MB unless bit 15 says KB; 7FFFh = see the
  # extended size at 1Ch (SMBIOS 3.x, DSP0134 table 75). This is what dmidecode, and so IPA, reads.
  for e in /sys/firmware/dmi/entries/17-*; do
    [ -f "$e/raw" ] || continue
    sz=$(od -An -tu2 -j12 -N2 "$e/raw" | tr -d ' ')
    if [ "$sz" = 32767 ]; then sz=$(od -An -tu4 -j28 -N4 "$e/raw" | tr -d ' ')
    elif [ "$sz" -ge 32768 ] 2>/dev/null; then sz=$(( (sz - 32768) / 1024 )); fi
    [ "$sz" = 65535 ] || echo "dimm_mb=$sz"
  done
  for d in /sys/block/*; do
    # No disk at all leaves the pattern unexpanded; $(( * 512 )) would then end this shell (PID 1).
    [ -e "$d/size" ] || continue
    n=${d##*/}
    case "$n" in loop*|ram*|sr*) continue ;; esac
    echo "disk=$n $(( $(cat "$d/size") * 512 )) $(cat "$d/queue/rotational") $(cat "$d/serial" 2>/dev/null)"
  done
  for i in /sys/class/net/*; do
    n=${i##*/}
    [ "$n" = lo ] && continue
    a=$(ip -4 -o addr show dev "$n" | sed -n 's#.* inet \([0-9.]*\)/.*#\1#p' | head -1)
    echo "nic=$n $(cat "$i/address") $(cat "$i/carrier" 2>/dev/null || echo 0) $a"
  done
}
report > /tmp/inventory 2>/dev/null
home "event=up" --post-file=/tmp/inventory && echo "bmlab: phoned home to $URL"
if [ "$role" = agent ] && [ -n "$DEPLOY" ]; then
  write_image "$DEPLOY"
  poweroff -f
fi
if [ "$role" = agent ]; then
  # The relay: the host-side agent queues one command at a time on /relay; 204/404 = nothing to do.
  (while :; do
    if wget -q -O /tmp/cmd "$URL/relay?id=${ID:-}&mac=$MAC" 2>/dev/null && [ -s /tmp/cmd ]; then
      set -- $(cat /tmp/cmd); rm -f /tmp/cmd
      case "$1" in
        write) write_image "$2" ;;
        poweroff) poweroff -f ;;
        reboot) reboot -f ;;
      esac
    fi
    sleep 2
  done) &
fi
while :; do setsid cttyhack sh; done
SH
  chmod +x "$ir/init" "$ir/etc/udhcpc.script" "$ir/etc/acpi/PWRF/00000080"
  (cd "$ir" && find . | cpio -o -H newc --quiet | gzip -9) > "$dest"
}
make_initrd agent "$work/initrd-agent.gz"
make_initrd deployed "$work/initrd-deployed.gz"

# --- 3. deploy image: MBR + FAT16 partition at 1 MiB with SYSLINUX -----------------------------
part=$work/part.img
truncate -s 23M "$part"
mkfs.vfat -F 16 -n DEPLOYED "$part" >/dev/null
cat > "$work/syslinux.cfg" <<'CFG'
SERIAL 0 115200
DEFAULT deployed
TIMEOUT 0
LABEL deployed
  LINUX /vmlinuz
  INITRD /initrd.gz
  APPEND console=ttyS0 no_timer_check bmlab.id=deployed bmlab.image_bytes=25165824
CFG
mcopy -i "$part" "$work/vmlinuz" ::/vmlinuz
mcopy -i "$part" "$work/initrd-deployed.gz" ::/initrd.gz
mcopy -i "$part" "$work/syslinux.cfg" ::/syslinux.cfg
# syslinux.efi reads its configuration from its own directory.
mmd -i "$part" ::/EFI ::/EFI/BOOT
mcopy -i "$part" "$kroot/usr/lib/SYSLINUX.EFI/efi64/syslinux.efi" ::/EFI/BOOT/BOOTX64.EFI
mcopy -i "$part" "$kroot/usr/lib/syslinux/modules/efi64/ldlinux.e64" ::/EFI/BOOT/ldlinux.e64
mcopy -i "$part" "$work/syslinux.cfg" ::/EFI/BOOT/syslinux.cfg
"$kroot/usr/bin/syslinux" --install "$part"          # mtools-based installer: VBR + ldlinux.sys/.c32
disk=$work/deploy.img
truncate -s 24M "$disk"
printf 'label: dos\nstart=2048, type=6, bootable\n' | sfdisk -q "$disk"
dd if="$part" of="$disk" bs=1M seek=1 conv=notrunc status=none
dd if="$kroot/usr/lib/syslinux/mbr/mbr.bin" of="$disk" bs=440 count=1 conv=notrunc status=none

# --- 4. publish ---------------------------------------------------------------------------------
for f in vmlinuz initrd-agent.gz initrd-deployed.gz deploy.img; do mv "$work/$f" "$out/$f"; done
secs=$(echo "$(date +%s.%N) - $start" | bc 2>/dev/null || echo 0)
{
  echo '{'
  echo "  \"format\": $format,"
  echo "  \"kernel\": \"$kver\","
  echo "  \"busybox\": \"$(dpkg-deb -f "$work"/debs/busybox-static_*.deb Version)\","
  echo "  \"syslinux\": \"$(dpkg-deb -f "$work"/debs/syslinux_*.deb Version)\","
  echo "  \"buildSeconds\": $secs,"
  echo '  "files": {'
  sep=''
  for f in vmlinuz initrd-agent.gz initrd-deployed.gz deploy.img; do
    printf '%s    "%s": {"bytes": %s, "sha256": "%s"}' "$sep" "$f" "$(stat -c %s "$out/$f")" "$(sha256sum "$out/$f" | cut -d' ' -f1)"
    sep=$',\n'
  done
  printf '\n  }\n}\n'
} > "$out/manifest.json"
echo "build-images: built in $out (${secs}s)" >&2
