# shellcheck shell=bash
# Real firmware for the namespace tests: an OVMF machine under QEMU that
# netboots from a lab bridge.  Sourced after lib.sh, by the QEMU tests and
# the demo; it only defines variables and functions.
#
#   lab namespace ($VM_LAB): bridge br0 ($VM_NET.1/24) with the VM's tap,
#       the site DHCP server (dnsmasq, addresses only) and the capture
#   boot namespace ($VM_BOOT): the boot server on a veth into br0 ($VM_NET.2)
#   peer namespace ($VM_PEER): a plain DHCP client on a veth into br0
#
# The topology is the one the boot must survive on a real LAN: a site DHCP
# server that knows nothing about netbooting, and bsdpd beside it as a
# proxyDHCP (docs/ipxe.md F4.3: OVMF's PXE client and Debian's iPXE
# both take a proxy offer next to a plain one).
#
# Assets are cached in $VM_CACHE (build/vm-cache; `make clean` removes it):
# a Debian cloud kernel, fetched with apt-get download and unpacked (nothing
# is installed), and a busybox initramfs whose /init prints
#   BSDPD-VM-MARKER nonce=<bsdpd.nonce from the kernel command line>
# on the console and powers off.  The nonce is the run's, not the image's,
# so a marker from a stale log or another boot cannot pass.

VM_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VM_CACHE=${VM_CACHE:-$VM_TOP/build/vm-cache}
VM_NET=${VM_NET:-198.18.8}
VM_SITE_IP=$VM_NET.1
VM_BOOT_IP=$VM_NET.2
VM_LAB="$LAB_ID-lab"
VM_BOOT="$LAB_ID-boot"
VM_PEER="$LAB_ID-peer"
VM_BOOT_IF="${LAB_ID}b"
VM_PEER_IF="${LAB_ID}p"
VM_TAP="${LAB_ID}t"
OVMF_CODE=${OVMF_CODE:-/usr/share/OVMF/OVMF_CODE_4M.fd}
OVMF_VARS=${OVMF_VARS:-/usr/share/OVMF/OVMF_VARS_4M.fd}
SNPONLY=${SNPONLY:-/usr/lib/ipxe/snponly.efi}
VM_MARKER=BSDPD-VM-MARKER
# One nonce per run, from the kernel's random pool.
VM_NONCE=$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')

# Skips (lab_skip) unless every tool the VM lab needs is here.
vm_require() {
	local c
	for c in qemu-system-x86_64 dnsmasq dumpcap tshark cpio gzip dpkg-deb apt-get \
		apt-cache timeout; do
		command -v "$c" >/dev/null 2>&1 || lab_skip "needs $c"
	done
	[ -r "$OVMF_CODE" ] && [ -r "$OVMF_VARS" ] || lab_skip "needs OVMF (package ovmf)"
	[ -r "$SNPONLY" ] || lab_skip "needs $SNPONLY (package ipxe)"
	[ -c /dev/net/tun ] || lab_skip "needs /dev/net/tun for the VM's tap"
	command -v file >/dev/null 2>&1 || lab_skip "needs file"
	vm_busybox || lab_skip "needs a statically linked busybox (package busybox-static)"
}

# Sets VM_BUSYBOX to a statically linked busybox: the plain busybox
# package is linked against libc, which an initramfs of busybox alone does
# not have.  The two packages conflict, so when the plain one is installed
# the static binary is taken from busybox-static's .deb, unpacked into the
# cache like the kernel (nothing is installed).
vm_busybox() {
	local b tmp
	b=$(readlink -f "$(command -v busybox)" 2>/dev/null)
	if [ -n "$b" ] && LC_ALL=C file -b "$b" | grep -q 'statically linked'; then
		VM_BUSYBOX=$b
		return 0
	fi
	VM_BUSYBOX="$VM_CACHE/busybox-static"
	[ -x "$VM_BUSYBOX" ] && return 0
	mkdir -p "$VM_CACHE"
	tmp=$(mktemp -d "$VM_CACHE/fetch.XXXXXX")
	(cd "$tmp" && apt-get download -q busybox-static >download.log 2>&1) &&
		dpkg-deb -x "$tmp"/busybox-static_*.deb "$tmp/x" &&
		cp "$tmp/x/bin/busybox" "$VM_BUSYBOX.part" && mv "$VM_BUSYBOX.part" "$VM_BUSYBOX"
	rm -rf "$tmp"
	[ -x "$VM_BUSYBOX" ]
}

# ---- assets ------------------------------------------------------------------

# Sets VM_KERNEL to the cached vmlinuz of the kernel that Debian's
# metapackage linux-image-cloud-amd64 depends on today; fetches it once.
vm_kernel() {
	local pkg tmp
	mkdir -p "$VM_CACHE"
	pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-amd64\)$/\1/p' | head -n 1)
	if [ -z "$pkg" ]; then
		# No package lists (apt-get update never ran): a cached kernel still does.
		VM_KERNEL=$(ls "$VM_CACHE"/vmlinuz-*-cloud-amd64 2>/dev/null | tail -n 1)
		[ -n "$VM_KERNEL" ] || { echo "vm: apt-cache knows no linux-image-cloud-amd64" >&2; return 1; }
		return 0
	fi
	VM_KERNEL="$VM_CACHE/vmlinuz-${pkg#linux-image-}"
	[ -s "$VM_KERNEL" ] && return 0
	tmp=$(mktemp -d "$VM_CACHE/fetch.XXXXXX")
	# apt's _apt user cannot write into a private temporary directory;
	# the warning about an unsandboxed download says only that.
	if (cd "$tmp" && apt-get download -q "$pkg" >download.log 2>&1) &&
		dpkg-deb -x "$tmp"/"$pkg"_*.deb "$tmp/x" &&
		cp "$tmp/x/boot/vmlinuz-${pkg#linux-image-}" "$VM_KERNEL.part"; then
		mv "$VM_KERNEL.part" "$VM_KERNEL"
	else
		echo "vm: could not fetch $pkg:" >&2
		cat "$tmp/download.log" >&2 2>/dev/null
		rm -f "$VM_KERNEL.part"
	fi
	rm -rf "$tmp"
	[ -s "$VM_KERNEL" ]
}

# The initramfs's /init.  Runs as PID 1 with nothing but busybox.
vm_init_script() {
	cat <<'INIT'
#!/bin/busybox sh
/bin/busybox mount -t proc proc /proc
/bin/busybox mount -t sysfs sysfs /sys
/bin/busybox mount -t devtmpfs devtmpfs /dev
nonce=none
for word in $(/bin/busybox cat /proc/cmdline); do
	case $word in bsdpd.nonce=*) nonce=${word#bsdpd.nonce=} ;; esac
done
up=$(/bin/busybox cut -d ' ' -f 1 /proc/uptime)
echo "BSDPD-VM-MARKER nonce=$nonce kernel=$(/bin/busybox uname -r) uptime=$up" >/dev/console
/bin/busybox poweroff -f
INIT
}

# Sets VM_INITRD to a cached gzip'd cpio of busybox and /init, named for
# the hash of both so that a change to either builds a new one.
vm_initrd() {
	local bb=$VM_BUSYBOX key root
	key=$( { vm_init_script; cat "$bb"; } | sha256sum | cut -c 1-16)
	VM_INITRD="$VM_CACHE/initrd-$key.img"
	[ -s "$VM_INITRD" ] && return 0
	mkdir -p "$VM_CACHE"
	root=$(mktemp -d "$VM_CACHE/initrd.XXXXXX")
	mkdir -p "$root/bin" "$root/dev" "$root/proc" "$root/sys"
	cp "$bb" "$root/bin/busybox"
	vm_init_script >"$root/init"
	chmod 755 "$root/init"
	# The kernel opens /dev/console for PID 1 before /init can mount devtmpfs.
	mknod "$root/dev/console" c 5 1
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -9) \
		>"$VM_INITRD.part" && mv "$VM_INITRD.part" "$VM_INITRD"
	rm -rf "$root"
	[ -s "$VM_INITRD" ]
}

# Fetches or reuses both assets; skips the test when the kernel cannot be had.
vm_assets() {
	vm_kernel || lab_skip "cannot fetch a Debian cloud kernel (apt-get download; see above)"
	vm_initrd || { echo "FAIL: cannot build the initramfs"; exit 1; }
}

# ---- lab -----------------------------------------------------------------------

vm_cleanup() {
	[ -n "${VM_KEEP_LOGS:-}" ] && [ -d "$WORK/vm" ] &&
		{ rm -rf "$VM_KEEP_LOGS"; mkdir -p "$VM_KEEP_LOGS"; cp -r "$WORK/vm/." "$VM_KEEP_LOGS/"; }
	lab_cleanup
	local ns
	for ns in "$VM_LAB" "$VM_BOOT" "$VM_PEER"; do
		ip netns del "$ns" 2>/dev/null || true
	done
}

# Builds the three namespaces; the veth ends and the tap are made inside
# them, so nothing appears in the root namespace.
vm_lab_up() {
	trap vm_cleanup EXIT
	mkdir -p "$WORK/vm"
	chmod 755 "$WORK" # dnsmasq runs as nobody once its files are open
	ip netns add "$VM_LAB" && ip netns add "$VM_BOOT" && ip netns add "$VM_PEER" ||
		lab_skip "cannot create network namespaces"
	local ns
	for ns in "$VM_LAB" "$VM_BOOT" "$VM_PEER"; do ip -n "$ns" link set lo up; done
	ip -n "$VM_LAB" link add br0 type bridge stp_state 0 forward_delay 0
	ip -n "$VM_LAB" addr add "$VM_SITE_IP/24" brd + dev br0
	# The site router's IPv6 prefix, announced by dnsmasq (see vm_site_dhcp).
	ip -n "$VM_LAB" addr add fd42:b5d9:8::1/64 nodad dev br0
	ip -n "$VM_LAB" link set br0 up
	ip -n "$VM_LAB" tuntap add dev "$VM_TAP" mode tap
	ip -n "$VM_LAB" link set "$VM_TAP" master br0 up
	vm_veth "$VM_BOOT" "$VM_BOOT_IF" && ip -n "$VM_BOOT" addr add "$VM_BOOT_IP/24" brd + dev "$VM_BOOT_IF"
	vm_veth "$VM_PEER" "$VM_PEER_IF"
}

# vm_veth NS IF: a veth from br0 to IF in namespace NS, both ends up.
vm_veth() {
	ip -n "$VM_LAB" link add "${2}x" type veth peer name "$2" netns "$1" || return 1
	ip -n "$VM_LAB" link set "${2}x" master br0 up
	ip -n "$1" link set "$2" up
}

# vm_site_dhcp [DNSMASQ-OPTION...]: the site's DHCP server on br0, with no
# boot options of its own unless the caller adds them.  Two settings are a
# site's, not a boot server's, and without them each boot waits on timers:
#   --enable-ra (ra-only, M=O=0): iPXE's "Configuring net0" waits for IPv6
#     autoconfiguration too; with no router advertisement it gives up only
#     after ~13-16 s.  On a real LAN the site router sends RAs; bsdpd must
#     not, as a rogue RA would steer every host's IPv6.
#   --no-ping: dnsmasq pings an address (3 s) before offering it; a lab where
#     nothing else holds addresses has no conflict to find.
vm_site_dhcp() {
	lab_spawn "$VM_LAB" "$WORK/vm/site-dhcp.log" dnsmasq --keep-in-foreground --port=0 \
		--no-resolv --no-hosts --conf-file=/dev/null --interface=br0 --bind-interfaces \
		--dhcp-range="$VM_NET.100,$VM_NET.199,255.255.255.0,10m" \
		--enable-ra --dhcp-range=::,constructor:br0,ra-only,64,10m --no-ping \
		--dhcp-leasefile="$WORK/vm/site.leases" --pid-file= --log-dhcp \
		--log-facility=- "$@"
	VM_SITE_PID=$LAST_PID
	wait_for_line "$WORK/vm/site-dhcp.log" 10 "DHCP, IP range" ||
		{ cat "$WORK/vm/site-dhcp.log"; echo "FAIL: the site DHCP server did not start"; exit 1; }
}

# vm_plain_client: busybox udhcpc, an ordinary DHCP client with no PXE
# markers, asks for a lease from the peer namespace.  Its MAC is printed.
vm_plain_client() {
	ip netns exec "$VM_PEER" timeout 10 "$VM_BUSYBOX" udhcpc -f -q -n -t 3 -T 1 -i "$VM_PEER_IF" \
		-s /bin/true >"$WORK/vm/udhcpc.log" 2>&1 || true
	ip -n "$VM_PEER" -o link show "$VM_PEER_IF" | sed -n 's/.* link\/ether \([^ ]*\) .*/\1/p'
}

# vm_capture_start NAME / vm_capture_stop: everything on br0 into
# $WORK/vm/NAME.pcap.
vm_capture_start() {
	VM_PCAP="$WORK/vm/$1.pcap"
	lab_spawn "$VM_LAB" "$WORK/vm/$1.dumpcap.log" dumpcap -q -i br0 -w "$VM_PCAP"
	VM_CAPTURE_PID=$LAST_PID
	wait_for_line "$WORK/vm/$1.dumpcap.log" 10 "Capturing on" ||
		{ cat "$WORK/vm/$1.dumpcap.log"; echo "FAIL: dumpcap did not start"; exit 1; }
}

vm_capture_stop() {
	sleep 0.3 # the last replies are still in flight when the marker shows
	lab_stop "$VM_CAPTURE_PID"
}

# ---- the machine ----------------------------------------------------------------

# Prints the QEMU accelerator: KVM only when /dev/kvm opens and the CPU
# offers hardware virtualisation.  A paravirtual KVM (kvm-pvm) has a
# /dev/kvm but runs no firmware, and shows no vmx/svm flag.
vm_accel() {
	if [ -n "${VM_ACCEL:-}" ]; then echo "$VM_ACCEL"; return; fi
	if { exec 9<>/dev/kvm; } 2>/dev/null && grep -qE '^flags.*\b(vmx|svm)\b' /proc/cpuinfo; then
		exec 9>&-
		echo kvm
	else
		echo tcg
	fi
}

# Reads lines from standard input and writes them with the epoch time at
# which each arrived, in seconds with microseconds.
vm_stamp() {
	local line
	while IFS= read -r line || [ -n "$line" ]; do
		printf '%s %s\n' "$EPOCHREALTIME" "${line//$'\r'/}"
	done
}

# vm_boot NAME MAC LIMIT [pxe|http] [UNTIL]: boots an OVMF machine with
# MAC on br0 and waits until its console shows the marker with this run's
# nonce, or a line matching the extended regular expression UNTIL, or LIMIT
# seconds pass; then the machine is stopped.  "http" hides the PXE boot
# entries, so UEFI HTTP Boot runs first (with PXE first and unanswered, OVMF
# tries PXE for ~1 minute).  Leaves $WORK/vm/NAME.serial (lines stamped
# with the epoch time) and NAME.t0; returns 0 when the marker appeared.
vm_boot() {
	local name=$1 mac=$2 limit=$3 mode=${4:-pxe} dir="$WORK/vm" accel cpu i qpid spid
	local until="$VM_MARKER nonce=$VM_NONCE "
	[ -n "${5:-}" ] && until="$until|$5"
	local -a fw=(-fw_cfg name=opt/org.tianocore/IPv6PXESupport,string=n)
	[ "$mode" = http ] && fw+=(-fw_cfg name=opt/org.tianocore/IPv4PXESupport,string=n)
	accel=$(vm_accel)
	cpu=max
	[ "$accel" = kvm ] && cpu=host
	cp "$OVMF_VARS" "$dir/$name.vars.fd"
	rm -f "$dir/$name.fifo"
	mkfifo "$dir/$name.fifo"
	vm_stamp <"$dir/$name.fifo" >"$dir/$name.serial" &
	spid=$!
	LAB_PIDS="$LAB_PIDS $spid"
	echo "$EPOCHREALTIME" >"$dir/$name.t0"
	ip netns exec "$VM_LAB" qemu-system-x86_64 -machine "q35,accel=$accel" -cpu "$cpu" \
		-m 1024 -smp 1 -nodefaults -display none -monitor none -no-reboot \
		-drive "if=pflash,format=raw,unit=0,readonly=on,file=$OVMF_CODE" \
		-drive "if=pflash,format=raw,unit=1,file=$dir/$name.vars.fd" \
		-netdev "tap,id=n0,ifname=$VM_TAP,script=no,downscript=no" \
		-device "virtio-net-pci,netdev=n0,mac=$mac,romfile=,bootindex=1" \
		"${fw[@]}" -serial stdio >"$dir/$name.fifo" 2>"$dir/$name.qemu.log" </dev/null &
	qpid=$!
	LAB_PIDS="$LAB_PIDS $qpid"
	i=0
	while ! grep -aqE "$until" "$dir/$name.serial" 2>/dev/null; do
		kill -0 "$qpid" 2>/dev/null || break
		i=$((i + 1))
		[ "$i" -le $((limit * 10)) ] || break
		sleep 0.1
	done
	lab_stop "$qpid"
	wait "$spid" 2>/dev/null || true
	grep -aq "$VM_MARKER nonce=$VM_NONCE " "$dir/$name.serial"
}

# ---- timing ---------------------------------------------------------------------

# vm_pcap_first PCAP FILTER: epoch time of the first packet that matches.
vm_pcap_first() {
	tshark -r "$1" -Y "$2" -T fields -e frame.time_epoch 2>/dev/null | head -n 1
}

# vm_pcap_last PCAP FILTER: epoch time of the last packet that matches.
vm_pcap_last() {
	tshark -r "$1" -Y "$2" -T fields -e frame.time_epoch 2>/dev/null | tail -n 1
}

# vm_serial_first NAME PATTERN: epoch time of the first console line
# matching the extended regular expression.
vm_serial_first() {
	grep -aE -m 1 -- "$2" "$WORK/vm/$1.serial" 2>/dev/null | cut -d ' ' -f 1
}

# vm_stage_times NAME MAC: one "label seconds-after-QEMU-start" line per
# stage of the boot of NAME, from its capture and its console; "-" when a
# stage did not happen (an HTTP Boot has no TFTP, a failed boot stops).
# Firmware and iPXE are told apart as in the facts: OVMF's PXE and HTTP
# clients announce UNDI 3.0 (…:003000), iPXE UNDI 3.10 and option 175.
vm_stage_times() {
	local name=$1 mac=$2 pcap="$WORK/vm/$1.pcap" t0 m
	t0=$(cat "$WORK/vm/$name.t0")
	m="dhcp.hw.mac_addr == $mac"
	# !icmp: an ICMP error quotes the datagram it answers.
	tftp="!icmp && tftp.opcode"
	get="ip.dst == $VM_BOOT_IP && http.request.method == \"GET\""
	{
		echo "firmware-DHCPDISCOVER $(vm_pcap_first "$pcap" \
			"$m && dhcp.option.dhcp == 1 && dhcp.option.vendor_class_id contains \"UNDI:003000\"")"
		echo "proxy-offer $(vm_pcap_first "$pcap" \
			"$m && ip.src == $VM_BOOT_IP && dhcp.option.dhcp == 2")"
		echo "proxy-ack-4011 $(vm_pcap_first "$pcap" \
			"$m && ip.src == $VM_BOOT_IP && udp.srcport == 4011 && dhcp.option.dhcp == 5")"
		echo "TFTP-booter-RRQ $(vm_pcap_first "$pcap" "$tftp == 1 && ip.dst == $VM_BOOT_IP")"
		echo "TFTP-booter-done $(vm_pcap_last "$pcap" "$tftp == 3 && ip.src == $VM_BOOT_IP")"
		echo "HTTP-booter-GET $(vm_pcap_first "$pcap" "$get && http.user_agent contains \"UefiHttpBoot\"")"
		echo "iPXE-DHCPDISCOVER $(vm_pcap_first "$pcap" \
			"$m && dhcp.option.dhcp == 1 && dhcp.option.vendor_class_id contains \"UNDI:003010\"")"
		echo "GET-boot.ipxe $(vm_pcap_first "$pcap" "$get && http.request.uri contains \"boot.ipxe\"")"
		echo "GET-kernel $(vm_pcap_first "$pcap" "$get && http.request.uri contains \"vmlinuz\"")"
		echo "GET-initrd $(vm_pcap_first "$pcap" "$get && http.request.uri contains \"initrd.img\"")"
		echo "kernel-running $(vm_serial_first "$name" "Linux version ")"
		echo "marker $(vm_serial_first "$name" "$VM_MARKER nonce=$VM_NONCE ")"
	} | awk -v t0="$t0" '{ if ($2 == "") print $1, "-"; else printf "%s %.3f\n", $1, $2 - t0 }'
}

# vm_report NAME MAC: the stage table of one boot, for a person.
vm_report() {
	printf '   %-22s %s\n' stage "s after QEMU start"
	vm_stage_times "$1" "$2" | while read -r label t; do
		printf '   %-22s %s\n' "$label" "$t"
	done
}
