#!/usr/bin/env bash
# Slicer Qt compile check: moc's and compiles (g++ -c, real objects) the Qt parts of the Slicer
# loadable module (slicer_module/qSlicerNNInteractiveModule.{h,cxx},
# slicer_module/qSlicerNNInteractiveModuleWidget.{h,cxx}, their moc output) against Slicer's and
# CTK's real headers, with Qt 5.15 and with Qt 6, and fails on any compile error.
#
#   tools/check/slicer_qt.sh SLICER_SOURCE_DIR CTK_SOURCE_DIR [VTKADDON_SOURCE_DIR]
#
# What it needs:
#  - SLICER_SOURCE_DIR: a Slicer source tree (repository Slicer/Slicer; the module targets
#    Slicer 5.13, its main branch). CTK_SOURCE_DIR: CTK's source (repository commontk/CTK) at the
#    commit that Slicer pins in SuperBuild/External_CTK.cmake. VTKADDON_SOURCE_DIR (optional):
#    vtkAddon's source (repository Slicer/vtkAddon) at the commit Slicer pins in SuperBuild.cmake;
#    without it, the vtkAddon headers of the slicer-core-sdk wheel in .venv-slicer
#    (tools/setup/slicer_sdk.sh installs it), built from Slicer 5.13 with its pinned vtkAddon.
#    Each may also be given in the environment variable of that name. Nothing from these projects
#    is in this repository: without SLICER_SOURCE_DIR and CTK_SOURCE_DIR the check prints SKIP,
#    the reason and the command to run, and exits 0.
#  - Debian packages, downloaded and unpacked (not installed) into the per-user cache by
#    tools/setup/debian_unpack.sh: Qt 5.15 (bookworm's qtbase5-dev, qtbase5-dev-tools), Qt 6 (sid's
#    qt6-base-dev, qt6-base-dev-tools, and sid's libc6, libstdc++6, libgcc-s1, libpcre2-16-0 to run
#    its moc where the machine's C library is older), VTK 9.6.2's headers (sid's libvtk9-dev, the
#    VTK that Slicer 5.13 builds with) and ITK 5.4's (sid's libinsighttoolkit5-dev 5.4.7, the
#    version of Slicer's ITK fork; MRML's volume node includes ITK). Network on the first run only.
#  - g++ (C++17) and cmake.
# How: Slicer's and CTK's CMake generate export and configure headers for their libraries; this
# check writes the ones the module's includes reach into build/slicer_qt/qtN/generated, with
# `cmake -P tools/check/slicer_qt_configure.cmake`, from the projects' own .in templates where
# they have one (a one-line export macro where CMake's generate_export_header writes it), with
# the options of a default Slicer build.
# Then moc on each module header (with that Qt's moc) and g++ -c on each .cxx and moc output,
# with Slicer, CTK, vtkAddon, VTK, ITK and Qt headers as system headers, so that the warnings shown
# (-Wall -Wextra) are the module's own. Environment: SLICER_QT_VERSIONS (default "5 6"),
# SLICER_COMMIT / CTK_COMMIT / VTKADDON_COMMIT (named in the summary when a source dir is not a
# git checkout), CXX (default g++), NNI_BUILD_DIR (default: build/ in the repository).
# Exit status: 0 all compiled (or SKIP), 1 a compile error, 2 usage or a missing dependency.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
slicer=${1:-${SLICER_SOURCE_DIR:-}}
ctk=${2:-${CTK_SOURCE_DIR:-}}
vtkaddon=${3:-${VTKADDON_SOURCE_DIR:-}}
qt_versions=${SLICER_QT_VERSIONS:-5 6}
cxx=${CXX:-g++}
build=${NNI_BUILD_DIR:-$repo/build}/slicer_qt

how_to_run="tools/check/slicer_qt.sh SLICER_SOURCE_DIR CTK_SOURCE_DIR [VTKADDON_SOURCE_DIR]
  SLICER_SOURCE_DIR: a checkout of Slicer's repository (Slicer/Slicer, main: Slicer 5.13).
  CTK_SOURCE_DIR: a checkout of CTK (commontk/CTK) at the commit Slicer pins, which is
    sed -n '/_GIT_TAG/{n;s/[^0-9a-f]//gp;q}' SLICER_SOURCE_DIR/SuperBuild/External_CTK.cmake
  VTKADDON_SOURCE_DIR (optional): vtkAddon (Slicer/vtkAddon) at the commit Slicer pins, which is
    sed -n '/Slicer_Remote_Add(vtkAddon/,/)/s/.*GIT_TAG *\\([0-9a-f]*\\).*/\\1/p' SLICER_SOURCE_DIR/SuperBuild.cmake
    without it: the vtkAddon headers of the slicer-core-sdk wheel (tools/setup/slicer_sdk.sh)."

skip() {
    echo "SKIP: slicer_qt: $1"
    echo "  to run it: $how_to_run"
    exit 0
}
die() {
    echo "slicer_qt: $*" >&2
    exit 2
}

if [ -z "$slicer" ] && [ -z "$ctk" ]; then
    skip "no Slicer or CTK source (SLICER_SOURCE_DIR, CTK_SOURCE_DIR unset): Slicer's Qt headers (qSlicerBaseQTCore, qSlicerBaseQTGUI, qMRMLWidgets) and CTK's are in no package registry, only in their source repositories"
fi
[ -n "$slicer" ] && [ -n "$ctk" ] || die "usage: $how_to_run"
slicer=$(cd "$slicer" && pwd) || die "no such directory: $slicer"
ctk=$(cd "$ctk" && pwd) || die "no such directory: $ctk"
[ -f "$slicer/Base/QTGUI/qSlicerAbstractModuleWidget.h" ] ||
    die "$slicer is not a Slicer source tree (no Base/QTGUI/qSlicerAbstractModuleWidget.h)"
[ -f "$ctk/Libs/Core/ctkPimpl.h" ] || die "$ctk is not a CTK source tree (no Libs/Core/ctkPimpl.h)"

vtkaddon_from=source
if [ -z "$vtkaddon" ]; then
    vtkaddon_from=wheel
    vtkaddon=$(ls -d "$repo"/.venv-slicer/lib/python3*/site-packages/slicer_core_sdk/content/third_party/include/vtkAddon 2>/dev/null | head -n 1 || true)
    [ -n "$vtkaddon" ] ||
        skip "no vtkAddon headers (Slicer's MRML headers include them): pass VTKADDON_SOURCE_DIR (Slicer/vtkAddon at the commit in Slicer's SuperBuild.cmake) or run tools/setup/slicer_sdk.sh for the slicer-core-sdk wheel's"
else
    vtkaddon=$(cd "$vtkaddon" && pwd) || die "no such directory: $vtkaddon"
fi
[ -f "$vtkaddon/vtkLoggingMacros.h" ] || die "$vtkaddon has no vtkLoggingMacros.h (not vtkAddon)"
command -v "$cxx" >/dev/null || die "no C++ compiler ($cxx)"
command -v cmake >/dev/null || die "no cmake"

# The files compiled: every source that slicer_module/CMakeLists.txt lists in MODULE_SRCS (the
# module's Qt library; its logic, under Logic/, is built and run by tools/test/slicer_sdk.sh).
module_name=$(sed -n 's/^set(MODULE_NAME \([A-Za-z0-9_]*\))$/\1/p' "$repo/slicer_module/CMakeLists.txt")
module_srcs=$(sed -n '/^set(MODULE_SRCS$/,/^ *)$/p' "$repo/slicer_module/CMakeLists.txt" |
    sed -n 's/^ *\([^ ()]*\.\(h\|cxx\)\)$/\1/p' | sed "s/\${MODULE_NAME}/$module_name/g")
headers=() sources=()
for f in $module_srcs; do
    [ -f "$repo/slicer_module/$f" ] || { echo "slicer_qt: slicer_module/CMakeLists.txt lists $f, which does not exist" >&2; exit 2; }
    case $f in
    *.h) grep -q '^ *Q_OBJECT' "$repo/slicer_module/$f" && headers+=("$f") ;; # moc'd as AUTOMOC would
    *.cxx) sources+=("$f") ;;
    esac
done
[ ${#sources[@]} -gt 0 ] || { echo "slicer_qt: no MODULE_SRCS found in slicer_module/CMakeLists.txt" >&2; exit 2; }

# Commits: git where the source is a checkout, else the *_COMMIT variables.
commit_of() { # DIR VARIABLE
    if [ "$(git -C "$1" rev-parse --show-toplevel 2>/dev/null)" = "$1" ]; then
        git -C "$1" rev-parse HEAD
    else
        echo "${!2:-unknown (not a git checkout; set $2)}"
    fi
}
slicer_commit=$(commit_of "$slicer" SLICER_COMMIT)
ctk_commit=$(commit_of "$ctk" CTK_COMMIT)
ctk_pin=$(sed -n '/Slicer_${proj}_GIT_TAG/{n;s/[^0-9a-f]//gp;q}' "$slicer/SuperBuild/External_CTK.cmake" 2>/dev/null || true)
vtkaddon_pin=$(sed -n '/Slicer_Remote_Add(vtkAddon/,/)/s/.*GIT_TAG *\([0-9a-f]*\).*/\1/p' "$slicer/SuperBuild.cmake" 2>/dev/null || true)
if [ "$vtkaddon_from" = source ]; then
    vtkaddon_desc="source $(commit_of "$vtkaddon" VTKADDON_COMMIT)"
else
    wheel_version=$(cat "$vtkaddon"/../../../../../slicer_core_sdk-*.dist-info/METADATA 2>/dev/null | sed -n 's/^Version: //p' | head -n 1 || true)
    vtkaddon_desc="slicer-core-sdk ${wheel_version:-?} wheel's headers ($vtkaddon)"
fi

# Dependencies from Debian, unpacked into the per-user cache.
unpack() { # SUITE NAME PACKAGE... -> directory, or empty when a package is not in the suite
    "$repo/tools/setup/debian_unpack.sh" "$@" | tail -n 1
}
# VTK 9.6.2 (Slicer 5.13's), the same cache as tools/setup/slicer_sdk.sh; sid's newest otherwise.
vtk_root=$(unpack sid vtk-9.6.2 "libvtk9-dev=9.6.2*") || vtk_root=$(unpack sid vtk-newest libvtk9-dev) ||
    die "could not get libvtk9-dev from Debian sid"
vtk_inc=$(ls -d "$vtk_root"/usr/include/vtk-9.* | head -n 1)
vtk_version=$(sed -n 's/^package libvtk9-dev //p' "$vtk_root/packages.txt")
# ITK 5.4 (Slicer 5.13 builds its ITK fork of 5.4.7): MRML's volume node includes ITK headers.
itk_root=$(unpack sid itk-5.4 "libinsighttoolkit5-dev=5.4.*") || itk_root=$(unpack sid itk-newest libinsighttoolkit5-dev) ||
    die "could not get libinsighttoolkit5-dev from Debian sid"
itk_inc=$(ls -d "$itk_root"/usr/include/ITK-5.* | head -n 1)
itk_version=$(sed -n 's/^package libinsighttoolkit5-dev //p' "$itk_root/packages.txt")

source "$repo/tools/check/sid_qt6.sh"
declare -A qt_root qt_inc qt_version result
declare -a qt5_moc
for major in $qt_versions; do
    case $major in
    5)
        root=$(unpack bookworm slicer-qt5 qtbase5-dev qtbase5-dev-tools) || die "no Qt 5 from Debian bookworm"
        qt5_moc=("$root/usr/lib/qt5/bin/moc")
        qt_inc[5]="$root/usr/include/x86_64-linux-gnu/qt5"
        ;;
    6)
        # sid's Qt 6, its moc run under sid's own runtime where the machine's is older
        # (tools/check/sid_qt6.sh, shared with mitk.sh).
        if ! sid_qt6 >/dev/null; then
            result[6]="not run: Qt 6 (qt6-base-dev and its moc) could not be had from Debian sid"
            continue
        fi
        root=$SID_QT6_ROOT
        qt_inc[6]="$root/usr/include/x86_64-linux-gnu/qt6"
        ;;
    *) die "SLICER_QT_VERSIONS: $major is not 5 or 6" ;;
    esac
    qt_root[$major]=$root
    qt_version[$major]=$(sed -n 's/^package qtbase5-dev \(.*\)/\1/p; s/^package qt6-base-dev \(.*\)/\1/p' "$root/packages.txt")
done

# Include directories: where the module's includes lead in Slicer, CTK and vtkAddon.
# (Slicer < 5.13 had qMRMLSegmentSelectorWidget in its Segmentations module's Widgets.)
slicer_dirs=(Base/QTCore Base/QTGUI Base/Logic Libs/MRML/Core Libs/MRML/Logic Libs/MRML/Widgets
    Libs/vtkSegmentationCore Modules/Loadable/Segmentations/Widgets)
ctk_dirs=(Libs/Core Libs/Widgets Libs/Visualization/VTK/Core)

status=0
for major in $qt_versions; do
    [ -n "${qt_root[$major]:-}" ] || continue
    out="$build/qt$major"
    rm -rf "$out"
    mkdir -p "$out/generated" "$out/moc" "$out/obj"
    cmake -DOUT="$out/generated" -DSLICER="$slicer" -DCTK="$ctk" \
        -DVTKADDON="$([ "$vtkaddon_from" = source ] && echo "$vtkaddon")" -DQT_MAJOR="$major" \
        -P "$repo/tools/check/slicer_qt_configure.cmake"

    qi=${qt_inc[$major]}
    defines=(-DQT_CORE_LIB -DQT_GUI_LIB -DQT_WIDGETS_LIB -DQT_PLUGIN -DQT_SHARED -DSlicer_HAVE_QT$major)
    includes=(-I"$repo/slicer_module" -I"$repo/slicer_module/Logic" -I"$out/generated" -I"$out/moc")
    for d in "${slicer_dirs[@]}"; do includes+=(-isystem "$slicer/$d"); done
    for d in "${ctk_dirs[@]}"; do includes+=(-isystem "$ctk/$d"); done
    includes+=(-isystem "$vtkaddon" -isystem "$vtk_inc" -isystem "$itk_inc" -isystem "$qi")
    for m in QtCore QtGui QtWidgets QtXml; do
        [ -d "$qi/$m" ] && includes+=(-isystem "$qi/$m")
    done
    moc_includes=()
    for i in "${includes[@]}"; do [ "$i" = -isystem ] || moc_includes+=(-I"${i#-I}"); done
    flags=(-std=c++17 -fPIC -O0 -Wall -Wextra)

    if [ "$major" = 6 ]; then run_moc=("${SID_QT6_MOC[@]}"); else run_moc=("${qt5_moc[@]}"); fi
    echo "== Qt ${qt_version[$major]}: moc ($("${run_moc[@]}" -v 2>&1)), $cxx -c"
    failed=0
    units=()
    for h in "${headers[@]}"; do
        moc_out="$out/moc/moc_${h%.h}.cpp"
        # moc reads the included headers (Q_DECLARE_INTERFACE of qSlicerLoadableModule): same paths.
        if "${run_moc[@]}" "${defines[@]}" "${moc_includes[@]}" -o "$moc_out" "$repo/slicer_module/$h"; then
            units+=("$moc_out")
        else
            echo "FAIL: moc $h (Qt $major)"
            failed=1
        fi
    done
    for s in "${sources[@]}"; do units+=("$repo/slicer_module/$s"); done
    for unit in "${units[@]}"; do
        name=$(basename "$unit")
        obj="$out/obj/${name%.*}.o"
        log="$out/obj/${name%.*}.log"
        if "$cxx" "${flags[@]}" "${defines[@]}" "${includes[@]}" -MD -MF "${obj%.o}.d" -c "$unit" -o "$obj" >"$log" 2>&1; then
            warnings=$(grep -c 'warning:' "$log" || true)
            echo "ok: $name -> ${obj#"$repo"/} ($warnings warnings)"
            [ "$warnings" = 0 ] || cat "$log"
        else
            echo "FAIL: $name (Qt $major):"
            cat "$log"
            failed=1
        fi
    done
    # The headers the objects were compiled against, from the compiler's dependency files.
    deps=$(cat "$out"/obj/*.d 2>/dev/null | tr ' \\' '\n\n' | grep -v -e ':$' -e '^$' | sort -u || true)
    count() { grep -c "^$1/" <<<"$deps" || true; }
    headers_read="headers read: $(count "$slicer") Slicer, $(count "$ctk") CTK, $(count "$vtkaddon") vtkAddon, $(count "$vtk_inc") VTK, $(count "$itk_inc") ITK, $(count "${qt_root[$major]}") Qt, $(count "$out/generated") generated"
    if [ "$failed" = 0 ]; then
        result[$major]="PASS: ${#units[@]} objects (${#headers[@]} moc outputs, ${#sources[@]} sources); $headers_read"
    else
        result[$major]="FAIL (the errors are above)"
        status=1
    fi
done

pin_note() { # COMMIT PIN
    case $1 in
    "$2") echo ", the same" ;;
    unknown*) echo ", not checked" ;;
    *) echo ": NOT the pinned commit" ;;
    esac
}
echo
echo "== slicer_qt summary"
echo "Slicer:   $slicer_commit ($slicer)"
echo "CTK:      $ctk_commit ($ctk); Slicer pins ${ctk_pin:-?}$(pin_note "$ctk_commit" "$ctk_pin")"
echo "vtkAddon: $vtkaddon_desc; Slicer pins ${vtkaddon_pin:-?}$([ "$vtkaddon_from" = source ] && pin_note "$(commit_of "$vtkaddon" VTKADDON_COMMIT)" "$vtkaddon_pin")"
echo "ITK:      $itk_version (Debian sid libinsighttoolkit5-dev, headers $itk_inc)"
echo "VTK:      $vtk_version (Debian sid libvtk9-dev, headers $vtk_inc)"
echo "Compiler: $("$cxx" --version | head -n 1)"
echo "Files:    ${headers[*]} (moc), ${sources[*]}"
for major in $qt_versions; do
    echo "Qt $major:     ${qt_version[$major]:+Qt ${qt_version[$major]} (Debian $([ "$major" = 5 ] && echo bookworm || echo sid)): }${result[$major]:-not run}"
done
exit $status
