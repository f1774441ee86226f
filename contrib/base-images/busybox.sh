#!/bin/sh
# Makes the base image apphub/busybox:latest from Debian's busybox-static:
# a root file system with /bin/busybox and a symlink for each applet, as a
# tarball imported with `apphub image import`.
#
#   contrib/base-images/busybox.sh [NAME]      (apphub on PATH, or $APPHUB)
set -eu
name=${1:-apphub/busybox:latest}
apphub=${APPHUB:-apphub}
busybox=${BUSYBOX:-/bin/busybox}
if ! "$busybox" --list >/dev/null 2>&1; then
	echo "busybox.sh: '$busybox' is not a busybox binary (apt-get install busybox-static)" >&2
	exit 1
fi
case $(ldd "$busybox" 2>&1) in
*"not a dynamic"*|*"statically linked"*) ;;
*) echo "busybox.sh: '$busybox' is not statically linked (apt-get install busybox-static)" >&2
   exit 1 ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
mkdir -p "$root/bin" "$root/sbin" "$root/usr/bin" "$root/usr/sbin" "$root/etc" "$root/tmp" \
	"$root/root" "$root/home" "$root/proc" "$root/sys" "$root/dev" "$root/var" "$root/run"
chmod 1777 "$root/tmp"
chmod 700 "$root/root"
cp "$busybox" "$root/bin/busybox"
chmod 755 "$root/bin/busybox"
# --list-full names each applet with its directory (bin/ls, usr/bin/env, ...).
"$busybox" --list-full | while read -r applet; do
	[ "$applet" = bin/busybox ] && continue
	dir=${applet%/*}
	case $dir in
	bin) target=busybox ;;
	sbin|usr/bin|usr/sbin) target=$(echo "$dir" | sed 's|[^/]*|..|g')/bin/busybox ;;
	*) continue ;;
	esac
	[ -e "$root/$applet" ] || ln -s "$target" "$root/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' \
	>"$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
# Fixed times and owners: the same busybox gives the same layer.
find "$root" -exec touch -h -d @0 {} +
tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 -C "$root" -czf "$tmp/rootfs.tar.gz" .
"$apphub" image import "$tmp/rootfs.tar.gz" "$name" --cmd '["sh"]'
