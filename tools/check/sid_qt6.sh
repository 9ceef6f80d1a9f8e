# Sourced by tools/check/mitk.sh and tools/check/slicer_qt.sh: Qt 6 from Debian sid, unpacked once
# into the per-user cache (tools/setup/debian_unpack.sh), and the command that runs its moc here.
#
#   sid_qt6    sets SID_QT6_ROOT (qt6-base-dev and qt6-base-dev-tools unpacked), SID_QT6_VERSION
#              and the array SID_QT6_MOC: sid's moc, run under sid's own dynamic loader, C and C++
#              runtime (also unpacked) where the machine's C library is older than the one it was
#              built for. Returns debian_unpack.sh's status (3: a package is not in sid).

sid_qt6() {
    local unpack
    unpack="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/tools/setup/debian_unpack.sh"
    SID_QT6_ROOT=$("$unpack" sid qt6 qt6-base-dev qt6-base-dev-tools | tail -n 1) || return
    SID_QT6_VERSION=$(sed -n 's/^package qt6-base-dev //p' "$SID_QT6_ROOT/packages.txt")
    local moc=$SID_QT6_ROOT/usr/lib/qt6/libexec/moc runtime
    SID_QT6_MOC=("$moc")
    if ! "$moc" -v >/dev/null 2>&1; then
        runtime=$("$unpack" sid qt6-moc-runtime libc6 libstdc++6 libgcc-s1 libpcre2-16-0 | tail -n 1) || return
        SID_QT6_MOC=("$runtime/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
            --library-path "$runtime/usr/lib/x86_64-linux-gnu" "$moc")
    fi
}
