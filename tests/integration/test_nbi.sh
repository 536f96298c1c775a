#!/bin/bash
# nbi end to end, the way an admin uses it, with independent readers:
#   - wrap Debian's snponly.efi; plistutil (libplist-utils) re-encodes the
#     plist and xmllint reads every key and type back; bsdpd --check (the
#     daemon's own catalog) must accept and list the bundle;
#   - one refusal per wrong boot file: a text file, BIOS undionly.kpxe, an
#     ARM64 build, EFI drivers (subsystem 11, 12), a truncated file;
#   - a fat binary from snponly.efi and an IA-32 image built below, checked
#     byte by byte with od and cmp;
#   - validate on real-world shaped bundles (tests/fixtures/nbi);
#   - info/list JSON through jq, set in XML and binary, --help, nbi.1;
#   - a real write failure (ulimit -f) leaves nothing behind.
# Needs no root and no network.
NBI=${NBI:-build/san/nbi}
BSDPD=${BSDPD:-build/san/bsdpd}
SNPONLY=${SNPONLY:-/usr/lib/ipxe/snponly.efi}
KPXE=${KPXE:-/usr/lib/ipxe/undionly.kpxe}
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
FIX=$TOP/tests/fixtures/nbi

set -u
PASSED=0
FAILED=0
skip() {
	echo "SKIP: $*"
	echo "0 passed, 0 failed, 1 skipped"
	exit 0
}
ok() { PASSED=$((PASSED + 1)); echo "ok - $*"; }
not_ok() { FAILED=$((FAILED + 1)); echo "not ok - $*"; }
# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() {
	desc=$1
	shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

[ -x "$NBI" ] || { echo "FAIL: $NBI is not built (make $NBI)"; exit 1; }
for c in plistutil xmllint jq od cmp; do
	command -v "$c" >/dev/null 2>&1 || skip "needs $c"
done
[ -r "$SNPONLY" ] || skip "needs $SNPONLY (package ipxe)"

WORK=$(mktemp -d /tmp/nbi-test.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/root
mkdir -p "$ROOT"
OUT=$WORK/out.txt

# nbi ARGS...: runs nbi with stdout and stderr in $OUT, returns its status.
nbi() { "$NBI" "$@" >"$OUT" 2>&1; }
said() { grep -qF -- "$1" "$OUT"; }
nothing_left() { [ ! -e "$1" ] && [ -z "$(find "$(dirname "$1")" -maxdepth 1 -name '.*' ! -name . -print -quit)" ]; }

# ---- small binaries, built here ----------------------------------------------
# put FILE OFFSET VALUE BYTES: little-endian VALUE at OFFSET.
put() {
	esc=
	for ((i = 0; i < $4; i++)); do esc="$esc$(printf '\\x%02x' $((($3 >> (8 * i)) & 255)))"; done
	printf "$esc" | dd of="$1" bs=1 seek=$(($2)) conv=notrunc status=none
}
u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
u16() { od -An -tu2 -j "$2" -N2 "$1" | tr -d ' '; }

# mkpe FILE MAGIC MACHINE SUBSYSTEM FILL: a one-section PE image of 1 KiB,
# MZ header, e_lfanew 0x40, COFF and optional header, .text at 0x200.
mkpe() {
	f=$1 magic=$2 machine=$3 subsystem=$4
	if [ "$magic" = 0x20b ]; then opt=240 nrva=108; else opt=224 nrva=92; fi
	head -c 512 /dev/zero >"$f"
	head -c 512 /dev/zero | tr '\0' "\\$(printf %03o "$5")" >>"$f"
	printf 'MZ' | dd of="$f" conv=notrunc status=none
	put "$f" 0x3c 0x40 4
	printf 'PE' | dd of="$f" bs=1 seek=$((0x40)) conv=notrunc status=none
	put "$f" 0x44 "$machine" 2
	put "$f" 0x46 1 2
	put "$f" 0x54 "$opt" 2
	put "$f" 0x56 0x206 2
	put "$f" 0x58 "$magic" 2
	put "$f" $((0x58 + 56)) 0x1200 4
	put "$f" $((0x58 + 60)) 0x200 4
	put "$f" $((0x58 + 68)) "$subsystem" 2
	put "$f" $((0x58 + nrva)) 16 4
	s=$((0x58 + opt))
	printf '.text' | dd of="$f" bs=1 seek=$s conv=notrunc status=none
	put "$f" $((s + 8)) 0x200 4
	put "$f" $((s + 12)) 0x1000 4
	put "$f" $((s + 16)) 0x200 4
	put "$f" $((s + 20)) 0x200 4
	put "$f" $((s + 36)) 0x60000020 4
}

LFANEW=$(u32 "$SNPONLY" 60)

# ---- create from snponly.efi --------------------------------------------------
B=$ROOT/iPXE.nbi
check "create wraps snponly.efi" nbi create --booter "$SNPONLY" -o "$B" --name iPXE --default
check "create reports the image ID" said "image ID   0x01000001"
check "i386/booter is snponly.efi byte for byte" cmp -s "$SNPONLY" "$B/i386/booter"
check "nothing else is left beside the bundle" nothing_left "$ROOT/none"

# Re-encode through binary with plistutil, then read back with xmllint.
plistutil -i "$B/NBImageInfo.plist" -o "$WORK/info.bin" -f bin
plistutil -i "$WORK/info.bin" -o "$WORK/info.xml" -f xml
value_of() {
	xmllint --xpath "/plist/dict/key[.='$1']/following-sibling::*[1]" "$WORK/info.xml" 2>/dev/null |
		tr -d '\n\t'
}
key_is() { [ "$(value_of "$1")" = "$2" ] || { echo "  $1 is '$(value_of "$1")'"; false; }; }
check "plistutil reads a binary re-encoding" [ "$(head -c 8 "$WORK/info.bin")" = bplist00 ]
check "Architectures is <array> of <string>i386" key_is Architectures "<array><string>i386</string></array>"
check "BootFile is <string>booter" key_is BootFile "<string>booter</string>"
check "Description is <string> (BSDPy needs it)" key_is Description "<string>iPXE</string>"
check "DisabledSystemIdentifiers is an empty <array/>" key_is DisabledSystemIdentifiers "<array/>"
check "EnabledSystemIdentifiers is an empty <array/>" key_is EnabledSystemIdentifiers "<array/>"
check "Index is <integer>1" key_is Index "<integer>1</integer>"
check "IsDefault is <true/>" key_is IsDefault "<true/>"
check "IsEnabled is <true/>" key_is IsEnabled "<true/>"
check "IsInstall is <false/>" key_is IsInstall "<false/>"
check "Kind is <integer>1" key_is Kind "<integer>1</integer>"
check "Name is <string>iPXE" key_is Name "<string>iPXE</string>"
check "Type is <string>BootFileOnly" key_is Type "<string>BootFileOnly</string>"
check "there are exactly these 12 keys" \
	[ "$(xmllint --xpath 'count(/plist/dict/key)' "$WORK/info.xml")" = 12 ]
check "the plist is XML, keys sorted as Apple writes them" \
	[ "$(xmllint --xpath '/plist/dict/key/text()' "$B/NBImageInfo.plist" | tr '\n' ' ')" = \
	  "Architectures BootFile Description DisabledSystemIdentifiers EnabledSystemIdentifiers Index IsDefault IsEnabled IsInstall Kind Name Type " ]

if [ -x "$BSDPD" ]; then
	"$BSDPD" --check --root "$ROOT" >"$WORK/check.txt" 2>&1
	check "bsdpd --check accepts the root" [ $? -eq 0 ]
	check "bsdpd --check lists the image, its ID and boot file" grep -Eq \
		"^0x01000001 +1 +1 no +yes +yes +i386 +BootFileOnly +iPXE.nbi/i386/booter +iPXE$" \
		"$WORK/check.txt"
	check "bsdpd --check: 1 image, 0 errors, 0 warnings" grep -q "^1 image, 0 errors, 0 warnings" \
		"$WORK/check.txt"
else
	echo "# bsdpd not built ($BSDPD); the catalog is checked by tests/unit/test_nbi_create.c"
fi
check "nbi validate agrees" nbi validate "$ROOT"
check "validate: 1 bundle, 0 errors, 0 warnings" said "1 bundle, 0 errors, 0 warnings"

# ---- info and list, read with jq ----------------------------------------------
SIZE=$(stat -c %s "$SNPONLY")
"$NBI" info "$B" --json >"$WORK/info.json"
jqi() { jq -e "$1" "$WORK/info.json" >/dev/null; }
check "info --json: ID in hex and decoded" \
	jqi '.id == "0x01000001" and .id_decoded == {install: false, kind: 1, kind_name: "Mac OS X", index: 1, scope: "server-local"}'
check "info --json: booter type and size" \
	jqi ".booters[0].path == \"i386/booter\" and .booters[0].size == $SIZE and .booters[0].what == \"a PE32+ EFI application for x86-64\" and .booters[0].efi_ok"
check "info --json: every key with its type" \
	jqi '.keys.Index == 1 and .key_types.Index == "integer" and .keys.IsDefault == true and .keys.Architectures == ["i386"] and (.keys | length) == 12'
check "info (text) shows the decoded ID" sh -c "'$NBI' info '$B' | grep -q 'image ID    0x01000001: not install, Kind 1 (Mac OS X), Index 1 (server-local)'"

# ---- boot files that are not EFI applications ------------------------------------
refused() { # NAME FILE MESSAGE
	if nbi create --booter "$2" -o "$ROOT/$1.nbi"; then return 1; fi
	said "$3" && nothing_left "$ROOT/$1.nbi" || { cat "$OUT"; false; }
}
printf '#!ipxe\ndhcp\nchain http://192.0.2.1/menu.ipxe\n' >"$WORK/menu.ipxe"
check "a text file is refused and named" \
	refused Text "$WORK/menu.ipxe" 'a text file (first line "#!ipxe"), not an EFI application'
if [ -r "$KPXE" ]; then
	check "BIOS undionly.kpxe is refused and named" \
		refused Kpxe "$KPXE" "a BIOS PXE boot program (.pxe/.kpxe), not an EFI application"
fi
cp "$SNPONLY" "$WORK/arm64.efi"
put "$WORK/arm64.efi" $((LFANEW + 4)) 0xaa64 2
check "an ARM64 EFI application is refused and named" \
	refused Arm "$WORK/arm64.efi" "an EFI application for ARM64 (machine 0xaa64)"
cp "$SNPONLY" "$WORK/driver.efi"
put "$WORK/driver.efi" $((LFANEW + 24 + 68)) 11 2
check "an EFI boot service driver (subsystem 11) is refused and named" \
	refused Drv "$WORK/driver.efi" "an EFI boot service driver (subsystem 11) for x86-64"
put "$WORK/driver.efi" $((LFANEW + 24 + 68)) 12 2
check "an EFI runtime driver (subsystem 12) is refused and named" \
	refused Rt "$WORK/driver.efi" "an EFI runtime driver (subsystem 12) for x86-64"
head -c 100000 "$SNPONLY" >"$WORK/cut.efi"
check "a truncated PE is refused and named" \
	refused Cut "$WORK/cut.efi" "a truncated PE: section .text ends at byte"

# ---- Apple fat binary: snponly.efi + an IA-32 image ---------------------------
mkpe "$WORK/ia32.efi" 0x10b 0x14c 10 0x32
check "the generated IA-32 image is an EFI application" \
	sh -c "'$NBI' create -b '$WORK/ia32.efi' -o '$WORK/probe.nbi' >/dev/null"
FAT=$ROOT/Fat.nbi
check "create --booter-ia32 builds a fat binary" \
	nbi create --booter "$SNPONLY" --booter-ia32 "$WORK/ia32.efi" -o "$FAT"
F=$FAT/i386/booter
N32=$(stat -c %s "$WORK/ia32.efi")
check "fat: magic 0x0ef1fab9, little-endian" [ "$(od -An -tx1 -N4 "$F" | tr -d ' ')" = b9faf10e ]
check "fat: two members" [ "$(u32 "$F" 4)" = 2 ]
check "fat: member 0 is i386 (7), subtype 3, offset 48, its size, align 0" \
	[ "$(u32 "$F" 8) $(u32 "$F" 12) $(u32 "$F" 16) $(u32 "$F" 20) $(u32 "$F" 24)" = "7 3 48 $N32 0" ]
check "fat: member 1 is x86_64 (0x01000007), subtype 3, right after it" \
	[ "$(u32 "$F" 28) $(u32 "$F" 32) $(u32 "$F" 36) $(u32 "$F" 40) $(u32 "$F" 44)" = "16777223 3 $((48 + N32)) $SIZE 0" ]
check "fat: member 0 is the IA-32 input" cmp -s <(tail -c +49 "$F" | head -c "$N32") "$WORK/ia32.efi"
check "fat: member 1 is snponly.efi" cmp -s <(tail -c +$((49 + N32)) "$F") "$SNPONLY"
check "fat: nothing after the members" [ "$(stat -c %s "$F")" = $((48 + N32 + SIZE)) ]
"$NBI" info "$FAT" --json >"$WORK/fat.json"
check "info --json lists the fat members" jq -e \
	".booters[0].fat and (.booters[0].fat_members | map(.arch)) == [\"i386\", \"x86_64\"] and .booters[0].fat_members[1].offset == $((48 + N32))" \
	"$WORK/fat.json" >/dev/null

# ---- index, collisions, --force -------------------------------------------------
check "the next bundle gets the next free index" \
	sh -c "'$NBI' info '$FAT' --json | jq -e '.id == \"0x01000002\"' >/dev/null"
check "an explicit index whose ID is taken is refused" \
	sh -c "! '$NBI' create -b '$SNPONLY' -o '$ROOT/Dup.nbi' --index 1 >'$OUT' 2>&1"
check "... naming the bundle that has it" said "image ID 0x01000001 (Index 1) is already used by $ROOT/iPXE.nbi"
check "... and nothing is left" nothing_left "$ROOT/Dup.nbi"
check "an existing bundle is not replaced without --force" \
	sh -c "! '$NBI' create -b '$SNPONLY' -o '$B' 2>/dev/null"
check "--force replaces it and keeps its index" \
	sh -c "'$NBI' create -b '$SNPONLY' -o '$B' --name 'iPXE 2' --force | grep -q 'Index 1,'"

# ---- a real write failure: the file size limit ----------------------------------
(
	trap '' XFSZ
	ulimit -f 64
	"$NBI" create -b "$SNPONLY" -o "$ROOT/Big.nbi" >"$OUT" 2>&1
)
check "a create that fails mid-write (ulimit -f) fails" said "File too large"
check "... and leaves no target and no temporary directory" nothing_left "$ROOT/Big.nbi"

# ---- validate: real-world shaped bundles -------------------------------------------
V=$WORK/validate
mkdir -p "$V"
bundle() { # DIR NAME PLIST
	mkdir -p "$1/$2.nbi/i386"
	cp "$SNPONLY" "$1/$2.nbi/i386/booter"
	: >"$1/$2.nbi/NetInstall.dmg"
	cp "$3" "$1/$2.nbi/NBImageInfo.plist"
}
bundle "$V" NetInstall "$FIX/siu-netinstall.plist"
check "SIU/AutoNBI NetInstall: valid (exit 0)" nbi validate "$V/NetInstall.nbi"
check "... with the BSDPy blacklist warning for its 77 models" \
	said "DisabledSystemIdentifiers lists 77 models: Apple's server ignores it, but BSDPy (master) hides the image"
check "validate takes several paths and sums up" \
	sh -c "'$NBI' validate '$V/NetInstall.nbi' '$ROOT' | tail -n 1 | grep -q '^3 bundles, 0 errors, 1 warning$'"
bundle "$V" Binary "$FIX/siu-netinstall.plist"
plistutil -i "$FIX/siu-netinstall.plist" -o "$V/Binary.nbi/NBImageInfo.plist" -f bin
check "binary plist: valid (exit 0)" nbi validate "$V/Binary.nbi"
check "... with the BSDPy binary-plist warning" said "a binary plist: BSDPy reads it with Python's plistlib.readPlist"
bundle "$V" NoArch "$FIX/no-architectures.plist"
check "missing Architectures: error (exit 1)" sh -c "! '$NBI' validate '$V/NoArch.nbi' >'$OUT' 2>&1"
check "... says it means ppc and names ppc/booter" \
	sh -c "grep -qF 'Architectures is missing, so it means [\"ppc\"]' '$OUT' && grep -qF 'BootFile ppc/booter is not a regular file' '$OUT'"
bundle "$V" StrIndex "$FIX/string-index.plist"
check "string Index: error (exit 1)" sh -c "! '$NBI' validate '$V/StrIndex.nbi' >'$OUT' 2>&1"
check "... names the fix" said 'Index is the string "1234"; write it as <integer>1234</integer>'
bundle "$V" Broken "$FIX/malformed.plist"
check "malformed XML: error (exit 1)" sh -c "! '$NBI' validate '$V/Broken.nbi' >'$OUT' 2>&1"
check "... with file, line and column" \
	said "Broken.nbi/NBImageInfo.plist: line 10, column 24: Opening and ending tag mismatch"
D=$WORK/dups
mkdir -p "$D"
bundle "$D" A-iPXE "$FIX/ipxe.plist"
bundle "$D" B-iPXE "$FIX/ipxe.plist"
check "duplicate IDs across two bundles: error (exit 1)" sh -c "! '$NBI' validate '$D' >'$OUT' 2>&1"
check "... names both bundles" said "B-iPXE.nbi: image ID 0x01000065 (Index 101) is already used by A-iPXE.nbi"
check "list shows the duplicate as an error" \
	sh -c "'$NBI' list '$D' | grep -Eq '^101 +0x01000065 +iPXE .*error: image ID 0x01000065'"
"$NBI" list "$ROOT" --json >"$WORK/list.json"
check "list --json: one row per bundle with index, ID, name, kind, flags, archs, booter, status" \
	jq -e '[.bundles[] | [.bundle, .index, .id, .name, .kind, .install, .default, .enabled, .architectures, .status, .served]] == [["Fat.nbi", 2, "0x01000002", "Fat", 1, false, false, true, ["i386"], "ok", true], ["iPXE.nbi", 1, "0x01000001", "iPXE 2", 1, false, false, true, ["i386"], "ok", true]]' \
	"$WORK/list.json" >/dev/null

# ---- set ----------------------------------------------------------------------------
check "set Index 7" nbi set "$B" Index 7
check "... plistutil reads <integer>7</integer>" \
	sh -c "plistutil -i '$B/NBImageInfo.plist' -f xml | tr -d '\n\t' | grep -q '<key>Index</key><integer>7</integer>'"
cp "$B/NBImageInfo.plist" "$WORK/before.plist"
check "set Index 0 is refused" sh -c "! '$NBI' set '$B' Index 0 2>'$OUT'"
check "... and the file is untouched" cmp -s "$B/NBImageInfo.plist" "$WORK/before.plist"
check "set IsEnabled maybe is refused" sh -c "! '$NBI' set '$B' IsEnabled maybe 2>/dev/null"
plistutil -i "$B/NBImageInfo.plist" -o "$WORK/bin.plist" -f bin
cp "$WORK/bin.plist" "$B/NBImageInfo.plist"
check "set on a binary plist" nbi set "$B" Name "iPXE (binary)"
check "... keeps it binary" [ "$(head -c 8 "$B/NBImageInfo.plist")" = bplist00 ]
check "... with the new value" \
	sh -c "plistutil -i '$B/NBImageInfo.plist' -f xml | grep -q '<string>iPXE (binary)</string>'"
check "set EnabledSystemIdentifiers takes several models" \
	nbi set "$B" EnabledSystemIdentifiers MacPro6,1 iMac14,2
check "... and bsdpd still serves the root" nbi validate "$ROOT"

# ---- what the TFTP server refuses, and special files ----------------------------
# The catalog applies the file server's rules (lib/beneath.c), so --check
# and validate refuse what TFTP would; a FIFO or device where a plist
# should be is named and never opened (it used to block for ever).  Every
# run is bounded by timeout; the good bundle beside them is still listed.
R2=$WORK/root2
mkdir -p "$R2" "$WORK/outside"
i=10
for b in Good Fifo Zero LinkBoot Private; do
	"$NBI" create --booter "$SNPONLY" -o "$R2/$b.nbi" --name "$b" --index $i >/dev/null
	i=$((i + 1))
done
"$NBI" create --booter "$SNPONLY" -o "$WORK/outside/Away.nbi" --name Away --index 20 >/dev/null
rm "$R2/Fifo.nbi/NBImageInfo.plist" && mkfifo "$R2/Fifo.nbi/NBImageInfo.plist"
ln -sf /dev/zero "$R2/Zero.nbi/NBImageInfo.plist"
ln -sf "$WORK/outside/Away.nbi/i386/booter" "$R2/LinkBoot.nbi/i386/booter"
chmod 0600 "$R2/Private.nbi/i386/booter"
ln -s "$WORK/outside/Away.nbi" "$R2/Away.nbi"
echo "not a bundle" >"$R2/x.nbi"
check "validate finishes on a FIFO plist" sh -c "timeout 30 '$NBI' validate '$R2' >'$OUT' 2>&1; [ \$? -eq 1 ]"
check "... and names the FIFO" said "Fifo.nbi/NBImageInfo.plist: is a FIFO, not a regular file"
check "... and the /dev/zero link as a character device" \
	said "Zero.nbi/NBImageInfo.plist: is a character device, not a regular file"
check "... refuses a bundle linked out of the root" said "Away.nbi: leaves the image root"
check "... refuses a booter linked out of the root" \
	said "LinkBoot.nbi/NBImageInfo.plist: BootFile i386/booter leaves the image root"
check "... refuses a booter not readable by all" \
	said "Private.nbi/NBImageInfo.plist: BootFile i386/booter is not readable by every user"
check "... reports a plain file named x.nbi" said "x.nbi: is a regular file, not a bundle folder"
check "bsdpd --check finishes on the same root" \
	sh -c "timeout 30 '$BSDPD' --check --root '$R2' >'$OUT' 2>&1; [ \$? -eq 1 ]"
check "... lists the good bundle, and only it" \
	sh -c "grep -q 'Good.nbi/i386/booter' '$OUT' && grep -q '^1 image, 5 errors' '$OUT'"
check "... names the FIFO" said "Fifo.nbi/NBImageInfo.plist: is a FIFO"

# ---- JSON stays UTF-8 whatever a binary plist holds ---------------------------------
# An ASCII-typed binary string holding a UTF-8-encoded surrogate (ED A0 80):
# libplist passes the bytes on; the strict decoder (lib/utf8.c) refuses the
# Name and the JSON writer never copies them.  jq alone is lax about
# surrogates, so iconv checks that the output is UTF-8.
R3=$WORK/root3
mkdir -p "$R3"
"$NBI" create --booter "$SNPONLY" -o "$R3/Surr.nbi" --name xQQQy --index 30 >/dev/null
plistutil -i "$R3/Surr.nbi/NBImageInfo.plist" -f bin -o "$WORK/surr.bin"
LC_ALL=C sed 's/QQQ/\xed\xa0\x80/g' "$WORK/surr.bin" >"$R3/Surr.nbi/NBImageInfo.plist"
utf8_json() { jq -e . "$OUT" >/dev/null && iconv -f UTF-8 -t UTF-8 "$OUT" >/dev/null; }
"$NBI" list --json "$R3" >"$OUT" 2>/dev/null
check "list --json on a surrogate in a binary plist is valid UTF-8 JSON" utf8_json
check "... and says the Name is not UTF-8" \
	jq -e '.bundles[0].first_error == "Name is not valid UTF-8"' "$OUT"
"$NBI" info --json "$R3/Surr.nbi" >"$OUT" 2>/dev/null
check "info --json on it is valid UTF-8 JSON" utf8_json

# ---- help and the man page ---------------------------------------------------------
for c in "" create validate info list set; do
	check "nbi ${c:-}${c:+ }--help has examples" sh -c "'$NBI' $c --help | grep -q '^Examples:'"
done
check "nbi help create = nbi create --help" \
	sh -c "[ \"\$('$NBI' help create)\" = \"\$('$NBI' create --help)\" ]"
check "a bad option is a usage error (exit 2)" sh -c "'$NBI' create --bogus 2>/dev/null; [ \$? -eq 2 ]"
if command -v groff >/dev/null 2>&1; then
	check "nbi.1 renders without warnings" \
		sh -c "[ -z \"\$(groff -man -Tutf8 -ww -z '$TOP/nbi/nbi.1' 2>&1)\" ]"
fi
check "nbi.1 documents every command" \
	sh -c "for c in create validate info list set; do grep -q \"^\\.SS $c\" '$TOP/nbi/nbi.1' || exit 1; done"

echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
