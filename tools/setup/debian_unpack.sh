#!/usr/bin/env bash
# Unpacks Debian packages from any suite into a per-user cache, without installing them (no root,
# the system's own packages untouched): headers and tools that the machine's Debian release lacks,
# such as VTK 9.6.2 or Qt 6.11 from sid.
#
#   tools/setup/debian_unpack.sh SUITE NAME PACKAGE[=VERSION]...
#
# Downloads each package (without dependencies: name every one you need) from deb.debian.org's
# SUITE with `apt-get download`, through an apt configuration of its own, and unpacks them with
# `dpkg-deb -x` into $NNI_CACHE_DIR/debian/SUITE-NAME (default cache:
# ~/.cache/nninteractive-native). The last line printed is that directory. A second run with the
# same packages reuses it (packages.txt there lists what it holds), without asking the network.
# Exit status 3 when a package or version is not in the suite (the caller says SKIP or falls back).
set -euo pipefail

if [ $# -lt 3 ]; then
    echo "usage: $0 SUITE NAME PACKAGE[=VERSION]..." >&2
    exit 2
fi
suite=$1 name=$2
shift 2
cache=${NNI_CACHE_DIR:-$HOME/.cache/nninteractive-native}
root="$cache/debian/$suite-$name"
wanted=$(printf '%s\n' "$@")

if [ -f "$root/packages.txt" ] && [ "$(sed -n 's/^request //p' "$root/packages.txt")" = "$(echo $wanted)" ]; then
    echo "debian_unpack: using $root ($(grep -c '^package ' "$root/packages.txt") packages)" >&2
    echo "$root"
    exit 0
fi

apt_dir="$cache/debian/apt-$suite"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian $suite main" \
    >"$apt_dir/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$apt_dir/sources.list" -o Dir::Etc::SourceParts=/dev/null
    -o "Dir::State::Lists=$apt_dir/lists" -o "Dir::Cache=$apt_dir/cache"
    -o Dir::State::Status=/dev/null -o Debug::NoLocking=1 -o APT::Sandbox::User=root)
echo "debian_unpack: reading Debian $suite's package lists" >&2
apt-get -qq "${apt_opts[@]}" update >&2

download=$(mktemp -d)
trap 'rm -rf "$download"' EXIT
for spec in "$@"; do
    pkg=${spec%%=*}
    version=$(apt-cache "${apt_opts[@]}" policy "$pkg" 2>/dev/null | sed -n 's/^  Candidate: //p')
    if [ -z "$version" ] || [ "$version" = "(none)" ]; then
        echo "debian_unpack: $pkg is not in Debian $suite" >&2
        exit 3
    fi
    if [ "$spec" != "$pkg" ] && [[ "$version" != ${spec#*=} ]]; then
        echo "debian_unpack: Debian $suite has $pkg $version, not ${spec#*=}" >&2
        exit 3
    fi
    (cd "$download" && apt-get -qq "${apt_opts[@]}" download "$pkg=$version" >&2)
done

rm -rf "$root.tmp"
mkdir -p "$root.tmp"
{
    echo "suite $suite"
    echo "request $(echo $wanted)"
    for deb in "$download"/*.deb; do
        dpkg-deb -x "$deb" "$root.tmp"
        echo "package $(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)"
    done
} >"$root.tmp/packages.txt"
rm -rf "$root"
mv "$root.tmp" "$root"
echo "debian_unpack: unpacked into $root:" >&2
sed -n 's/^package /  /p' "$root/packages.txt" >&2
echo "$root"
