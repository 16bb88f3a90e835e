#!/usr/bin/env bash
# Builds the .deb from an already built tree (cpack in BUILD_DIR) and checks
# it: the files it installs, its control fields and library dependencies,
# its maintainer scripts, that the packaged binary runs, the man page
# renders without warnings, the unit passes `systemd-analyze verify`, and
# lintian's verdict when lintian is installed.
#
#   check-deb.sh BUILD_DIR VERSION
set -euo pipefail
build="$1"
version="$2"
fail() {
  echo "check-deb: FAIL: $*" >&2
  exit 1
}

cmake --build "$build" --target isergw isergw_man >"$build/check-deb-build.log" 2>&1 ||
  fail "building isergw failed (see $build/check-deb-build.log)"
rm -rf "$build"/isergw_*.deb "$build/_CPack_Packages"
(cd "$build" && cpack -G DEB >/dev/null) || fail "cpack failed"
deb="$build/isergw_${version}_amd64.deb"
[ -f "$deb" ] || fail "cpack made no $deb"
echo "package: $deb"

contents="$(dpkg-deb -c "$deb")"
for path in ./usr/sbin/isergw ./usr/lib/systemd/system/isergw.service \
  ./usr/lib/modules-load.d/isergw.conf ./usr/share/man/man8/isergw.8.gz; do
  grep -q " $path\$" <<<"$contents" || fail "$path is not in the package"
done
grep -q '^-rwxr-xr-x root/root .* ./usr/sbin/isergw$' <<<"$contents" ||
  fail "/usr/sbin/isergw is not root-owned mode 0755"
! grep -q ' ./usr/local' <<<"$contents" || fail "the package installs under /usr/local"
# Nothing outside /usr (a dirty CPack staging folder once put control files
# and tarballs at the package's root).
stray="$(awk '{print $6}' <<<"$contents" | grep -v -e '^\./$' -e '^\./usr/' || true)"
[ -z "$stray" ] || fail "files outside /usr: $stray"

field() { dpkg-deb -f "$deb" "$1"; }
[ "$(field Package)" = isergw ] || fail "Package: $(field Package)"
[ "$(field Version)" = "$version" ] || fail "Version: $(field Version), project version $version"
[ "$(field Section)" = admin ] || fail "Section: $(field Section)"
[ -n "$(field Maintainer)" ] || fail "no Maintainer"
[ -n "$(field Description)" ] || fail "no Description"
depends="$(field Depends)"
echo "Depends: $depends"
# dpkg-shlibdeps' findings for the libraries the binary links.
for lib in libc6 libstdc++6 libibverbs1 librdmacm1 liburing2 libgflags libgoogle-glog \
  libabsl libisal2 libssl3 init-system-helpers; do
  grep -q "$lib" <<<"$depends" || fail "Depends lacks $lib"
done
info="$(dpkg-deb -I "$deb")"
for script in postinst prerm postrm; do
  grep -q " $script " <<<"$info" || fail "no $script maintainer script"
done

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
dpkg-deb -x "$deb" "$tmp/root"
dpkg-deb -e "$deb" "$tmp/control"
for script in postinst prerm postrm; do
  sh -n "$tmp/control/$script" || fail "$script is not valid sh"
  [ -x "$tmp/control/$script" ] || fail "$script is not executable"
done
grep -q 'deb-systemd-helper enable' "$tmp/control/postinst" || fail "postinst does not enable the unit"
grep -q 'deb-systemd-invoke' "$tmp/control/postinst" || fail "postinst does not start the unit"
grep -q '/run/systemd/system' "$tmp/control/postinst" ||
  fail "postinst does not check for a running systemd"

# Captured, not piped: a sanitizer build may exit non-zero at exit (leak
# report from gflags' --version path) and must still print the version.
out="$("$tmp/root/usr/sbin/isergw" --version 2>&1)" || true
grep -q "isergw version $version" <<<"$out" || fail "the packaged isergw --version: $out"
if file "$tmp/root/usr/sbin/isergw" | grep -q 'not stripped'; then
  fail "the packaged binary is not stripped"
fi
grep -qx 'ublk_drv' "$tmp/root/usr/lib/modules-load.d/isergw.conf" || fail "modules-load: no ublk_drv"
grep -qx '#rdma_rxe' "$tmp/root/usr/lib/modules-load.d/isergw.conf" ||
  fail "modules-load: rdma_rxe must be listed, commented out"

warnings="$(zcat "$tmp/root/usr/share/man/man8/isergw.8.gz" | groff -man -ww -z 2>&1)"
[ -z "$warnings" ] || fail "man page warnings: $warnings"
for verb in discover info copy bench attach detach list status export daemon doctor; do
  zcat "$tmp/root/usr/share/man/man8/isergw.8.gz" | grep -q "^\.B isergw $verb" ||
    fail "the man page's synopsis lacks $verb"
done

unit="$tmp/root/usr/lib/systemd/system/isergw.service"
for line in Type=notify After=network-online.target Wants=network-online.target \
  'ExecStart=/usr/sbin/isergw daemon' KillMode=process Restart=on-failure LimitMEMLOCK=infinity \
  RuntimeDirectory=isergw StateDirectory=isergw ConfigurationDirectory=isergw; do
  grep -q "^$line" "$unit" || fail "unit lacks $line"
done
if command -v systemd-analyze >/dev/null; then
  # The binary is checked where the package would put it: point there.
  sed "s|/usr/sbin/isergw|$tmp/root/usr/sbin/isergw|" "$unit" >"$tmp/isergw.service"
  out="$(systemd-analyze verify --man=no "$tmp/isergw.service" 2>&1)" ||
    fail "systemd-analyze verify: $out"
  [ -z "$out" ] || fail "systemd-analyze verify: $out"
  echo "systemd-analyze verify: clean"
fi

if command -v lintian >/dev/null; then
  # Errors fail; warnings are shown (no copyright file or changelog yet).
  lintian --no-tag-display-limit "$deb" || true
  ! lintian "$deb" 2>/dev/null | grep -q '^E:' || fail "lintian reports errors"
else
  echo "lintian not installed: skipped"
fi
echo "check-deb: ok"
