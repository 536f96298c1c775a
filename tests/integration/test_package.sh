#!/bin/bash
# The Debian package (issue 11, item 3): dpkg-buildpackage -us -uc -b in a
# temporary copy of the tree, lintian with no error, dpkg -i on this
# machine, then what the install must and must not do: the system user
# bsdpd and /var/lib/bsdpd exist, nothing is started (the unit waits for
# /etc/bsdpd.conf), and the installed bsdpd checks a configuration from
# the installed paths.  dpkg --purge at the end, and the user is removed
# again when this test made it.  Root only: it installs a package.
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
LAB_PREFIX=bk
# shellcheck source=lib.sh
. "$HERE/lib.sh"

for t in dpkg-buildpackage dh lintian dpkg; do
	command -v "$t" >/dev/null 2>&1 || lab_skip "needs $t (tools/setup-deps)"
done
dpkg-query -W -f='${Status}' bsdpd 2>/dev/null | grep -q "ok installed" &&
	lab_skip "the bsdpd package is installed here; not replacing it"
[ -e /etc/bsdpd.conf ] && lab_skip "/etc/bsdpd.conf exists; the service could start"
[ -e /var/lib/bsdpd ] && lab_skip "/var/lib/bsdpd exists; purging the package would remove it"
dpkg-checkbuilddeps "$TOP/debian/control" 2>/dev/null ||
	lab_skip "build dependencies missing: $(dpkg-checkbuilddeps "$TOP/debian/control" 2>&1)"

HAD_USER=
id bsdpd >/dev/null 2>&1 && HAD_USER=1
INSTALLED=
pkg_cleanup() {
	if [ -n "$INSTALLED" ]; then
		dpkg --purge bsdpd >"$WORK/purge.log" 2>&1 || cat "$WORK/purge.log"
	fi
	if [ -z "$HAD_USER" ] && id bsdpd >/dev/null 2>&1; then
		deluser --system --quiet bsdpd >/dev/null 2>&1 || true
	fi
}
trap 'pkg_cleanup; lab_cleanup' EXIT

# ---- build ---------------------------------------------------------------
SRC=$WORK/src/bsdpd-0.1.0
mkdir -p "$SRC"
(cd "$TOP" && tar --exclude=./build --exclude=./.git -cf - .) | tar -xf - -C "$SRC"
rc=0
(cd "$SRC" && DEB_BUILD_OPTIONS="parallel=2 nocheck" dpkg-buildpackage -us -uc -b) \
	>"$WORK/build.log" 2>&1 || rc=$?
DEB=$WORK/src/bsdpd_0.1.0_amd64.deb
[ "$(dpkg --print-architecture)" = amd64 ] || DEB=$(ls "$WORK"/src/bsdpd_0.1.0_*.deb | grep -v dbgsym)
check "dpkg-buildpackage -us -uc -b builds the package" [ "$rc" -eq 0 -a -f "$DEB" ]
[ "$rc" -eq 0 ] || { tail -n 30 "$WORK/build.log"; lab_done; exit 1; }

lintian --no-tag-display-limit "$WORK"/src/bsdpd_0.1.0_*.changes >"$WORK/lintian.log" 2>&1 || true
check "lintian reports no error ($(grep -c '^W:' "$WORK/lintian.log") warnings)" \
	sh -c "! grep -q '^E:' '$WORK/lintian.log'"
grep -E '^[EW]:' "$WORK/lintian.log" || true

dpkg -c "$DEB" >"$WORK/contents"
for f in usr/sbin/bsdpd usr/bin/bsdpc usr/bin/bsdpctl usr/bin/nbi lib/systemd/system/bsdpd.service \
	usr/share/man/man8/bsdpd.8.gz usr/share/man/man1/bsdpc.1.gz usr/share/man/man1/bsdpctl.1.gz \
	usr/share/man/man1/nbi.1.gz usr/share/doc/bsdpd/examples/bsdpd.conf; do
	check "the package holds /$f" grep -q " \./$f\$" "$WORK/contents"
done
check "the package ships no /etc/bsdpd.conf (nothing starts until the admin writes it)" \
	sh -c "! grep -q ' \./etc/bsdpd.conf' '$WORK/contents'"

# ---- install -------------------------------------------------------------
# The processes running /usr/sbin/bsdpd (other tests run their own bsdpd
# builds; only the installed one counts here).
installed_running() {
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/exe" 2>/dev/null)" = /usr/sbin/bsdpd ] && echo "${p#/proc/}"
	done
}
rc=0
dpkg -i "$DEB" >"$WORK/install.log" 2>&1 || rc=$?
INSTALLED=1
check "dpkg -i installs it" [ "$rc" -eq 0 ]
[ "$rc" -eq 0 ] || cat "$WORK/install.log"
check "the system user bsdpd exists" sh -c "id -u bsdpd >/dev/null && [ \$(id -u bsdpd) -lt 1000 ]"
check "bsdpd's shell is nologin" sh -c "getent passwd bsdpd | grep -q ':/usr/sbin/nologin$'"
check "/var/lib/bsdpd is bsdpd's, mode 0750" \
	sh -c "[ \"\$(stat -c %U:%a /var/lib/bsdpd)\" = bsdpd:750 ]"
none_running() { [ -z "$(installed_running)" ]; }
check "nothing was started" none_running
if [ "$(ps -p 1 -o comm=)" = systemd ]; then
	check "the unit is not active" sh -c "! systemctl is-active --quiet bsdpd"
else
	echo "SKIP: systemd is not PID 1: the unit's state after install"
fi
if command -v systemd-analyze >/dev/null 2>&1; then
	systemd-analyze verify --man=no /lib/systemd/system/bsdpd.service >"$WORK/verify.log" 2>&1 ||
		true
	check "the installed unit passes systemd-analyze verify" [ ! -s "$WORK/verify.log" ]
	cat "$WORK/verify.log"
fi
for page in /usr/share/man/man8/bsdpd.8.gz /usr/share/man/man1/bsdpc.1.gz \
	/usr/share/man/man1/bsdpctl.1.gz; do
	check "$page renders without warnings" \
		sh -c "[ -z \"\$(zcat '$page' | groff -man -Tutf8 -ww -z 2>&1)\" ]"
done

# ---- bsdpd --check from the installed paths -----------------------------
ROOT=$WORK/srv
mkdir -p "$ROOT"
make_bundle "$ROOT" iPXE 101 "<key>IsDefault</key><true/>"
chmod -R a+rX "$WORK"
sed "s|^root=.*|root=$ROOT|" /usr/share/doc/bsdpd/examples/bsdpd.conf >"$WORK/bsdpd.conf"
chmod 644 "$WORK/bsdpd.conf"
rc=0
runuser -u bsdpd -- /usr/sbin/bsdpd --check --conf "$WORK/bsdpd.conf" >"$WORK/check.log" 2>&1 ||
	rc=$?
check "the installed bsdpd --check passes on the example config, as user bsdpd" [ "$rc" -eq 0 ]
check "--check read the example" grep -q "^conf $WORK/bsdpd.conf: 2 options" "$WORK/check.log"
check "--check sees the image" grep -q "^1 image, 0 errors" "$WORK/check.log"
[ "$rc" -eq 0 ] || cat "$WORK/check.log"
check "/usr/bin/bsdpctl, /usr/bin/bsdpc and /usr/bin/nbi run" \
	sh -c "/usr/bin/bsdpctl --help >/dev/null && /usr/bin/bsdpc --help >/dev/null && /usr/bin/nbi --help >/dev/null"

# ---- purge ---------------------------------------------------------------
rc=0
dpkg --purge bsdpd >"$WORK/purge.log" 2>&1 || rc=$?
INSTALLED=
check "dpkg --purge removes it" sh -c "[ $rc -eq 0 ] && [ ! -e /usr/sbin/bsdpd ]"
check "purging removed /var/lib/bsdpd" [ ! -e /var/lib/bsdpd ]

lab_done
