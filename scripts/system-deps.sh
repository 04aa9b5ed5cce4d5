#!/usr/bin/env bash
# Makes sure the Debian packages bmlab's commands and tests use are installed.
# Idempotent: installs with apt-get only what is missing and only when run as root;
# otherwise prints the exact command to run and fails.
#   scripts/system-deps.sh            packages for `npm start` (ipmitool: mock Ironic drives the BMCs with it)
#   scripts/system-deps.sh --test     also the real clients and tools `npm test` checks bmlab against
#   scripts/system-deps.sh --bench    also the anchors `npm run bench` compares against
#   scripts/system-deps.sh --qemu     also QEMU, its iPXE ROMs and OVMF, and the image build tools
#   scripts/system-deps.sh --ironic   also real OpenStack Ironic 21.4 (Debian's ironic-api + ironic-conductor)
#                                     and ironic-inspector 11.1 for `npm run test:ironic`; installed without
#                                     starting services or creating a DB
set -euo pipefail

# command-or-path -> Debian package
declare -A need=(
  [ipmitool]=ipmitool
  # `npm ci` compiles better-sqlite3 and bmlab's UDP addon (node-gyp: make, a C/C++ compiler, python3)
  [make]=make
  [g++]=g++
  [python3]=python3
)
declare -A test_need=(
  [ipmipower]=freeipmi-tools
  [/usr/lib/python3/dist-packages/pyghmi]=python3-pyghmi
  [/usr/bin/baremetal]=python3-ironicclient   # the real Ironic CLI mock-ironic is tested with
  [curl]=curl                 # the TFTP client network-boot's tests run against
  [/usr/lib/python3/dist-packages/sushy]=python3-sushy   # the Redfish client Ironic uses; the Redfish BMC is tested with it
  [openssl]=openssl           # the Redfish BMC's self-signed HTTPS certificate
  [xmllint]=libxml2-utils     # the XML parser the JUnit report is checked with
  [/usr/bin/chromium]=chromium   # the browser the HTML report is opened in (through playwright-core)
  [/usr/sbin/dnsmasq]=dnsmasq-base   # the IPv6 router advertisements of the boot network (tested in a netns)
)
for arg in "$@"; do
  case "$arg" in
    --test) for k in "${!test_need[@]}"; do need[$k]=${test_need[$k]}; done ;;
    --bench) need[ipmi_sim]=openipmi; need[/usr/lib/python3/dist-packages/pyghmi]=python3-pyghmi ;;
    --qemu)
      need[qemu-system-x86_64]=qemu-system-x86
      need[qemu-img]=qemu-utils
      need[/usr/lib/ipxe/qemu/efi-virtio.rom]=ipxe-qemu
      need[/usr/share/OVMF/OVMF_CODE.fd]=ovmf
      need[setpriv]=util-linux
      need[cpio]=cpio
      need[mcopy]=mtools
      need[/usr/sbin/mkfs.vfat]=dosfstools
      need[/usr/sbin/sfdisk]=fdisk
      need[/usr/sbin/dnsmasq]=dnsmasq-base
      ;;
    --ironic)
      need[/usr/bin/ironic]=ironic-conductor
      need[/usr/bin/ironic-api]=ironic-api
      need[/usr/bin/ironic-dbsync]=ironic-api
      need[/usr/bin/ironic-inspector]=ironic-inspector
      ;;
    *) echo "system-deps: unknown option $arg" >&2; exit 2 ;;
  esac
done

missing=()
for probe in "${!need[@]}"; do
  if [[ "$probe" == /* ]]; then
    [[ -e "$probe" ]] || missing+=("${need[$probe]}")
  else
    command -v "$probe" >/dev/null 2>&1 || missing+=("${need[$probe]}")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
if [[ $(id -u) -ne 0 ]]; then
  echo "bmlab needs these Debian packages: ${missing[*]}" >&2
  echo "install them with: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if [[ " ${missing[*]} " == *" ironic-"* ]]; then
  # Ironic's postinsts would set up a DB, RabbitMQ and keystone and start services unless told not to.
  echo 'ironic-common ironic/configure_db boolean false
ironic-common ironic/configure_rabbit boolean false
ironic-common ironic/configure_ksat boolean false
ironic-api ironic/configure_api-endpoint boolean false
ironic-inspector ironic-inspector/configure_db boolean false
ironic-inspector ironic-inspector/configure_ksat boolean false
ironic-inspector ironic-inspector/configure_api-endpoint boolean false' | debconf-set-selections
  [[ -e /usr/sbin/policy-rc.d ]] || printf '#!/bin/sh\nexit 101\n' | install -m 0755 /dev/stdin /usr/sbin/policy-rc.d
fi
apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >&2
