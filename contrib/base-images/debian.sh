#!/bin/sh
# Makes the base image apphub/debian:bookworm with debootstrap: a minimal
# Debian bookworm (--variant=minbase) with python3 and nodejs, so that the
# example apps build FROM it, imported with `apphub image import`.
#
#   contrib/base-images/debian.sh [NAME]      (apphub on PATH, or $APPHUB)
#
# debootstrap runs as root (or under fakeroot/fakechroot as a user with
# DEBOOTSTRAP="fakechroot fakeroot debootstrap"). $MIRROR picks the Debian
# mirror (default http://deb.debian.org/debian).
set -eu
name=${1:-apphub/debian:bookworm}
apphub=${APPHUB:-apphub}
mirror=${MIRROR:-http://deb.debian.org/debian}
suite=${SUITE:-bookworm}
debootstrap=${DEBOOTSTRAP:-debootstrap}
packages=${PACKAGES:-python3,nodejs,ca-certificates}
command -v "${debootstrap%% *}" >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || {
	echo "debian.sh: debootstrap is not installed (apt-get install debootstrap)" >&2
	exit 1
}
PATH=$PATH:/usr/sbin:/sbin
if [ "$(id -u)" != 0 ] && [ "$debootstrap" = debootstrap ]; then
	echo "debian.sh: debootstrap needs root (or DEBOOTSTRAP=\"fakechroot fakeroot debootstrap\")" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
# shellcheck disable=SC2086
$debootstrap --variant=minbase --include="$packages" "$suite" "$root" "$mirror" >"$tmp/log" 2>&1 || {
	tail -n 20 "$tmp/log" >&2
	echo "debian.sh: debootstrap of $suite from $mirror failed" >&2
	exit 1
}
# What an image does not need: the package caches and lists, logs.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* \
	"$root"/var/log/* "$root"/tmp/* "$root"/proc/* "$root"/sys/* "$root"/dev/* 2>/dev/null || true
printf 'nameserver 127.0.0.1\n' >"$root/etc/resolv.conf"
tar --sort=name --numeric-owner --xattrs-exclude='*' -C "$root" -czf "$tmp/rootfs.tar.gz" .
"$apphub" image import "$tmp/rootfs.tar.gz" "$name" --cmd '["bash"]' \
	--env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8
