#!/usr/bin/env bash
# Compile check of the MITK tool and its Qt GUI (mitk_module/Modules) against MITK's own headers,
# and a symbol check of the tool against the MITK 2026.06 libraries of PyPI's mitk-python.
#
#   tools/check/mitk.sh MITK_SOURCE_DIR      # or MITK_SOURCE_DIR=... tools/check/mitk.sh
#
# MITK_SOURCE_DIR is a checkout of GitHub's MITK/MITK (v2025.08 is the newest to be had), e.g.
#   git clone https://github.com/MITK/MITK /tmp/mitk-src && git -C /tmp/mitk-src checkout v2025.08
# Without one it prints SKIP and exits 0: no MITK headers are on any registry, and nothing of
# MITK is committed here.
#
# 1. Generates the headers an MITK build tree would generate (mitkConfig.h, mitkVersion.h,
#    Mitk*Exports.h, CppMicroServices' config/export headers, the module init source) from MITK's
#    own templates with `cmake -P tools/check/mitk_headers.cmake`.
# 2. Takes ITK 5.4, VTK 9.6, Eigen, nlohmann-json and Qt 6 (headers and moc) from Debian sid with
#    tools/setup/debian_unpack.sh (per-user cache, nothing installed); Qt 6 and the command running
#    its moc come from tools/check/sid_qt6.sh (shared with slicer_qt.sh: sid's moc needs a newer
#    glibc than the machine's, so it runs under sid's own loader and libc, also unpacked).
# 3. Configures mitk_module/ as MITK's CMakeLists.txt consumes an extension directory
#    (tools/check/mitk_extension.cmake: ModuleList.cmake, mitk_create_module's keywords read from
#    MITK, module dependencies, files.cmake), with the nninteractive package installed from
#    target/debug by tools/install.sh (a stand-in package when the library is not built).
#    Then compiles (-c, one at a time) every source of both modules' files.cmake (moc for
#    MOC_H_FILES) plus MITK's generated module init, with the warning flags and -Werror that
#    MITK gives its modules, into $NNI_MITK_CHECK_DIR (default build/mitk-check).
# 4. Lists both modules' undefined MITK symbols (mitk::, us::, Qmitk) and looks each up in the
#    mitk-python 2026.6 libraries (`nm -D --defined-only`; .venv-mitk from tools/setup/mitk.sh).
#    Qmitk* symbols (MITK's Qt modules SegmentationUI, QtWidgets) are listed as unchecked:
#    mitk-python carries none of MITK's Qt modules.
#    Then links the tool module as MITK does (-Wl,--no-undefined) against all the wheel's
#    libraries (MITK, ITK 5.4.6, VTK 9.5.2) and target/debug/libnninteractive.so.
#    Symbol level only: MITK 2026.06's class layouts differ from v2025.08's headers, so a tool
#    compiled against v2025.08 must not be loaded into 2026.06.
#
# Exit status: 0 when everything compiles and every checkable MITK symbol resolves or is listed
# in tools/check/mitk_known_unresolved.txt (symbol<TAB>reason); 1 on a layout, compile or link
# error or an unresolved, unlisted symbol; 2 on bad usage. A Debian package missing from sid
# gives SKIP (exit 0).
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD

mitk=${1:-${MITK_SOURCE_DIR:-}}
if [ -z "$mitk" ]; then
    echo "SKIP: MITK compile check: no MITK source (MITK headers are on no registry and are never"
    echo "      committed here). Run it with a checkout of GitHub's MITK/MITK:"
    echo "        git clone https://github.com/MITK/MITK /tmp/mitk-src && git -C /tmp/mitk-src checkout v2025.08"
    echo "        tools/check/mitk.sh /tmp/mitk-src"
    exit 0
fi
mitk_abs=$(cd "$mitk" 2>/dev/null && pwd) || {
    echo "mitk_check: no directory $mitk" >&2
    exit 2
}
mitk=$mitk_abs
if [ ! -f "$mitk/Modules/Core/include/mitkImage.h" ] || [ ! -f "$mitk/mitkConfig.h.in" ]; then
    echo "mitk_check: $mitk is not an MITK source tree (no Modules/Core/include/mitkImage.h)" >&2
    exit 2
fi
commit=$(git -C "$mitk" rev-parse HEAD 2>/dev/null || echo "${MITK_COMMIT:-unknown (not a git checkout; set MITK_COMMIT)}")
describe=$(git -C "$mitk" describe --tags 2>/dev/null || echo "?")

work=${NNI_MITK_CHECK_DIR:-$repo/build/mitk-check}
rm -rf "$work"
mkdir -p "$work/gen" "$work/obj" "$work/log"

compiled=0 failed=0 link_failed=0

# --- 2. third-party headers and moc from Debian sid
unpack() { # SUITE NAME PACKAGE...: prints the unpacked directory
    local status=0 out
    out=$(tools/setup/debian_unpack.sh "$@" | tail -n 1) || status=$?
    if [ $status -eq 3 ]; then
        echo "SKIP: MITK compile check: a package is missing from Debian sid (tools/setup/debian_unpack.sh $*)"
        return 3
    elif [ $status -ne 0 ]; then
        echo "mitk_check: tools/setup/debian_unpack.sh $* failed (exit $status)" >&2
        return 1
    fi
    echo "$out"
}
source tools/check/sid_qt6.sh
status=0
deps=$(unpack sid mitk-check libinsighttoolkit5-dev libvtk9-dev libeigen3-dev nlohmann-json3-dev) || status=$?
if [ $status -eq 0 ]; then
    sid_qt6 >/dev/null || status=$?
    if [ $status -eq 3 ]; then
        deps="SKIP: MITK compile check: Qt 6 (qt6-base-dev) is missing from Debian sid"
    fi
fi
if [ $status -eq 3 ]; then
    echo "$deps" # the SKIP line
    exit 0
elif [ $status -ne 0 ]; then
    exit 1
fi
pkgver() { sed -n "s/^package $1 //p" "$deps/packages.txt"; }
qt_ver=$SID_QT6_VERSION itk_ver=$(pkgver libinsighttoolkit5-dev) vtk_ver=$(pkgver libvtk9-dev)
eigen_ver=$(pkgver libeigen3-dev)
itk_inc=$(ls -d "$deps"/usr/include/ITK-5.* | head -n 1)
vtk_inc=$(ls -d "$deps"/usr/include/vtk-9.* | head -n 1)
qt_inc=$SID_QT6_ROOT/usr/include/x86_64-linux-gnu/qt6
moc() { "${SID_QT6_MOC[@]}" "$@"; }

# --- 1. MITK's generated headers
cmake -DMITK_SOURCE_DIR="$mitk" -DOUT="$work/gen" -DMITK_REVISION_ID="$commit" \
    -DEXTRA_MODULES="MitkNNInteractiveNative;MitkNNInteractiveNativeUI" \
    -P tools/check/mitk_headers.cmake >"$work/log/headers.txt" 2>&1 || {
    cat "$work/log/headers.txt"
    echo "mitk_check: generating MITK's headers failed" >&2
    exit 1
}

# --- the extension directory as MITK's CMakeLists.txt consumes it (tools/check/mitk_extension.cmake),
# with the nninteractive package installed from the built library (tools/install.sh)
layout=failed layout_pkg=
if [ -f target/debug/libnninteractive.so ] && tools/install.sh --prefix "$work/nni" >"$work/log/install.txt" 2>&1; then
    layout_pkg="installed from target/debug"
else
    # No built library: a stand-in package with the same imported target.
    layout_pkg="stand-in (no built library)"
    mkdir -p "$work/nni/lib/cmake/nninteractive"
    printf 'add_library(nninteractive::nninteractive INTERFACE IMPORTED)\n' \
        >"$work/nni/lib/cmake/nninteractive/nninteractiveConfig.cmake"
    printf 'set(PACKAGE_VERSION 0.1.0)\nset(PACKAGE_VERSION_COMPATIBLE TRUE)\n' \
        >"$work/nni/lib/cmake/nninteractive/nninteractiveConfigVersion.cmake"
fi
mkdir -p "$work/layout"
printf 'cmake_minimum_required(VERSION 3.18)\nproject(nni_mitk_extension_layout LANGUAGES CXX)\ninclude("%s")\n' \
    "$repo/tools/check/mitk_extension.cmake" >"$work/layout/CMakeLists.txt"
if cmake -S "$work/layout" -B "$work/layout/build" -DMITK_SOURCE_DIR="$mitk" -DEXTENSION_DIR="$repo/mitk_module" \
    -Dnninteractive_DIR="$work/nni/lib/cmake/nninteractive" >"$work/log/layout.txt" 2>&1; then
    layout=ok
else
    failed=$((failed + 1))
    grep -E -A3 'Error|error' "$work/log/layout.txt" >&2 || tail -n 20 "$work/log/layout.txt" >&2
fi

# --- 3. include paths: every header directory of the MITK modules used (tests, command-line
# apps and auto-loaded IO modules aside), as their mitk_create_module INCLUDE_DIRS give them
mitk_modules_tool="Log Core CppMicroServices Multilabel Segmentation ContourModel PlanarFigure
    AlgorithmsExt DataTypesExt SurfaceInterpolation BoundingShape GraphAlgorithms
    SceneSerializationBase DICOMQI DICOM ImageExtraction LegacyGL Annotation MapperExt"
mitk_modules_gui="SegmentationUI QtWidgets QtWidgetsExt FormsUI Forms SceneSerialization"
header_dirs() {
    local m
    for m in "$@"; do
        find "$mitk/Modules/$m" \( -iname 'test*' -o -name cmdapps -o -name autoload -o -name doc \
            -o -name examples -o -name third_party -o -name resource -o -name Documentation \) -prune \
            -o \( -name '*.h' -o -name '*.hpp' -o -name '*.txx' -o -name '*.tpp' \) -printf '%h\n'
    done | sort -u | sed 's/^/-I/'
}
mapfile -t inc_tool < <(header_dirs $mitk_modules_tool)
mapfile -t inc_gui < <(header_dirs $mitk_modules_gui)
third=(-isystem "$itk_inc" -isystem "$vtk_inc" -isystem "$deps/usr/include/eigen3" -isystem "$deps/usr/include"
    -isystem "$qt_inc" -isystem "$qt_inc/QtCore" -isystem "$qt_inc/QtGui" -isystem "$qt_inc/QtWidgets")
# The warning flags MITK's CMakeLists.txt sets and the -Werror mitk_create_module adds (unless
# WARNINGS_NO_ERRORS), with its -Wno-error= exceptions that GCC knows, and hidden visibility.
mitk_warnings=(-Wall -Wextra -Wpointer-arith -Winvalid-pch -Wcast-align -Wwrite-strings -Woverloaded-virtual
    -Wstrict-null-sentinel -Wno-deprecated-copy -Wno-array-bounds -Wno-cast-function-type -Wno-maybe-uninitialized
    -Wno-error=unknown-pragmas -Wno-error=strict-overflow -Wno-error=stringop-overread -Werror
    -Wno-error=class-memaccess -Wno-error=deprecated-copy -Wno-error=cast-function-type
    -Wno-error=deprecated-declarations -Wno-error=type-limits)
common=(g++ -std=c++17 -fPIC -fvisibility=hidden -fvisibility-inlines-hidden -c "${mitk_warnings[@]}" -DQT_CORE_LIB -DQT_GUI_LIB -DQT_WIDGETS_LIB -I"$work/gen")
tool_dir=mitk_module/Modules/NNInteractiveNative
gui_dir=mitk_module/Modules/NNInteractiveNativeUI
tool_flags=("${common[@]}" -DUS_MODULE_NAME=MitkNNInteractiveNative -DMitkNNInteractiveNative_EXPORTS
    -I"$tool_dir/include" -Imitk_module/core -Iadapters/common -Iadapters/itk -Iinclude -Ibindings/cpp "${inc_tool[@]}" "${third[@]}")
gui_flags=("${common[@]}" -DUS_MODULE_NAME=MitkNNInteractiveNativeUI -DMitkNNInteractiveNativeUI_EXPORTS
    -I"$gui_dir/include" -I"$tool_dir/include" "${inc_tool[@]}" "${inc_gui[@]}" "${third[@]}")

declare -a rows=()
compile() { # NAME OBJ FLAGS-ARRAY-NAME SOURCE
    local name=$1 obj=$2 src=$4
    local -n flags=$3
    if "${flags[@]}" "$src" -o "$work/obj/$obj" >"$work/log/$obj.txt" 2>&1; then
        compiled=$((compiled + 1))
        rows+=("compiled  $name")
    else
        failed=$((failed + 1))
        rows+=("FAILED    $name (log: $work/log/$obj.txt)")
        echo "--- compile error: $name" >&2
        grep -E 'error|Error' "$work/log/$obj.txt" | head -n 30 >&2 || tail -n 30 "$work/log/$obj.txt" >&2
    fi
}
echo "mitk_check: compiling against MITK $describe ($commit)"
# The sources mitk_create_module builds: each module's files.cmake (CPP_FILES in src/,
# MOC_H_FILES), plus the module init it generates; H_FILES and RESOURCE_FILES must exist.
cat >"$work/files_list.cmake" <<'CMAKE'
include("${FILES}")
foreach(_entry IN LISTS ${VAR})
  message("${_entry}")
endforeach()
CMAKE
files_of() { cmake -DFILES="$1/files.cmake" -DVAR="$2" -P "$work/files_list.cmake" 2>&1; }
moc_flags=()
prev=
for f in "${gui_flags[@]}"; do
    case $f in
        -I* | -D*) moc_flags+=("$f") ;;
    esac
    [ "$prev" = -isystem ] && moc_flags+=("-I$f")
    prev=$f
done
for module in tool gui; do
    if [ $module = tool ]; then dir=$tool_dir; flags=tool_flags; else dir=$gui_dir; flags=gui_flags; fi
    for f in $(files_of "$dir" H_FILES) $(files_of "$dir" RESOURCE_FILES | sed 's|^|resource/|'); do
        if [ ! -f "$dir/$f" ]; then
            failed=$((failed + 1))
            rows+=("MISSING   $dir/$f (listed in files.cmake)")
        fi
    done
    for h in $(files_of "$dir" MOC_H_FILES); do
        moc_cpp="$work/gen/moc_$(basename "${h%.*}").cpp"
        if moc "${moc_flags[@]}" "$dir/$h" -o "$moc_cpp" >"$work/log/moc_$(basename "$h").txt" 2>&1; then
            rows+=("moc       $dir/$h")
            compile "$(basename "$moc_cpp") (moc of $(basename "$h"))" "${module}_$(basename "$moc_cpp" .cpp).o" $flags "$moc_cpp"
        else
            failed=$((failed + 1))
            rows+=("FAILED    moc $dir/$h")
            cat "$work/log/moc_$(basename "$h").txt" >&2
        fi
    done
    for cpp in $(files_of "$dir" CPP_FILES); do
        compile "$dir/src/$cpp" "${module}_$(basename "${cpp%.*}").o" $flags "$dir/src/$cpp"
    done
    compile "(module init of $(basename "$dir"), generated from MITK's usModuleInit.cpp)" "${module}_us_init.o" $flags "$work/gen/us_init.cpp"
done

# --- 4. the tool's undefined MITK symbols against mitk-python 2026.6
mitk_symbols() { # OBJ... -- OBJ...: undefined MITK symbols (mangled) of the first objects,
    # minus those that any of the objects (the second ones: modules linked to) define
    local -a own=() linked=()
    while [ $# -gt 0 ] && [ "$1" != -- ]; do own+=("$1"); shift; done
    [ $# -gt 0 ] && shift
    linked=("$@")
    nm --defined-only "${own[@]}" "${linked[@]}" 2>/dev/null | awk '{print $NF}' | sort -u >"$work/defined.tmp"
    nm -u "${own[@]}" 2>/dev/null | awk '{print $NF}' | sort -u | comm -23 - "$work/defined.tmp" |
        while read -r sym; do
            if c++filt "$sym" | grep -qE '(^|[^A-Za-z0-9_])((mitk|us)::|Qmitk)'; then echo "$sym"; fi
        done
}
known=tools/check/mitk_known_unresolved.txt
sym_status=skipped unresolved=0 known_count=0 resolved=0 unchecked=0 total=0
declare -a unresolved_rows=()
tool_objs=("$work"/obj/tool_*.o)
gui_objs=("$work"/obj/gui_*.o)
if [ $failed -eq 0 ]; then
    mitk_symbols "${tool_objs[@]}" -- | sed 's/^/tool /' >"$work/undefined.txt"
    mitk_symbols "${gui_objs[@]}" -- "${tool_objs[@]}" | sed 's/^/GUI /' >>"$work/undefined.txt"
    total=$(wc -l <"$work/undefined.txt")
    status=0
    tools/setup/mitk.sh >"$work/log/setup_mitk.txt" 2>&1 || status=$?
    site=$(ls -d .venv-mitk/lib/python3.12/site-packages 2>/dev/null || true)
    if [ $status -eq 0 ] && [ -n "$site" ]; then
        mitk_py=$(.venv-mitk/bin/pip show mitk-python 2>/dev/null | sed -n 's/^Version: //p')
        nm -D --defined-only "$site"/mitk_python.libs/libMitk*.so | awk '{print $NF}' | sort -u >"$work/mitk_2026_defined.txt"
        sym_status=checked
        while read -r module sym; do
            if grep -qxF "$sym" "$work/mitk_2026_defined.txt"; then
                resolved=$((resolved + 1))
                continue
            fi
            name=$(c++filt "$sym")
            if [[ $name =~ (^|[^A-Za-z0-9_])Qmitk ]]; then
                # MITK's Qt modules (SegmentationUI, QtWidgets) are not in mitk-python.
                unchecked=$((unchecked + 1))
                unresolved_rows+=("unchecked  [$module] $name (MITK Qt module: not in mitk-python)")
                continue
            fi
            reason=$(awk -F '\t' -v s="$name" '$1 == s {print $2}' "$known" 2>/dev/null || true)
            if [ -n "$reason" ]; then
                known_count=$((known_count + 1))
                unresolved_rows+=("known      [$module] $name -- $reason")
            else
                unresolved=$((unresolved + 1))
                unresolved_rows+=("UNRESOLVED [$module] $name")
            fi
        done <"$work/undefined.txt"
        # The tool module linked as MITK links modules (-Wl,--no-undefined) against the wheel's
        # libraries (MITK 2026.06, its ITK 5.4.6 and VTK 9.5.2) and the built library.
        link_status="not linked (no target/debug/libnninteractive.so)"
        if [ -f target/debug/libnninteractive.so ]; then
            if g++ -shared -Wl,--no-undefined -Wl,--as-needed -o "$work/libMitkNNInteractiveNative.so" "${tool_objs[@]}" \
                target/debug/libnninteractive.so "$site"/mitk_python.libs/*.so* >"$work/log/link.txt" 2>&1; then
                link_status="linked: libMitkNNInteractiveNative.so with -Wl,--no-undefined against mitk-python's libraries and target/debug/libnninteractive.so ($(readelf -d "$work/libMitkNNInteractiveNative.so" | grep -c NEEDED) NEEDED)"
            else
                link_failed=1
                link_status="LINK FAILED ($work/log/link.txt)"
                grep -o 'undefined reference to .*' "$work/log/link.txt" | c++filt | sort -u | head -n 30 >&2 || tail -n 20 "$work/log/link.txt" >&2
            fi
        fi
    fi
fi

echo
echo "=== MITK compile check: summary"
echo "MITK source   $describe, commit $commit ($mitk)"
echo "headers       generated from MITK's templates: $(ls "$work/gen" | grep -c 'Exports.h$') export headers, mitkConfig.h, mitkVersion.h, us*Config.h"
echo "third party   Debian sid: Qt $qt_ver (moc $(moc --version | sed 's/^moc //')), ITK $itk_ver ($(basename "$itk_inc")), VTK $vtk_ver ($(basename "$vtk_inc")), Eigen $eigen_ver; $(g++ --version | head -n 1)"
echo "              (MITK 2026.06 is built on ITK 5.4.6 and VTK 9.5.2; VTK 9.6 headers are used for compiling only)"
echo "layout        mitk_module as an MITK extension directory (ModuleList.cmake, mitk_create_module keywords,"
echo "              dependencies, files.cmake): $layout (nninteractive package: $layout_pkg)"
sed -n 's/^-- mitk_extension: /                /p' "$work/log/layout.txt"
printf '  %s\n' "${rows[@]}"
echo "compiled      $compiled sources, $failed failed, $(cat "$work"/log/*.o.txt | grep -c 'warning:' || true) warnings (g++ with MITK's module flags, -Werror; ITK, VTK and Qt headers as system headers)"
if [ "$sym_status" = checked ]; then
    echo "symbols       mitk-python $mitk_py ($(ls "$site"/mitk_python.libs/libMitk*.so | wc -l) MITK libraries, $(wc -l <"$work/mitk_2026_defined.txt") defined symbols)"
    echo "              tool and GUI modules: $total undefined MITK symbols ($(grep -c '^tool ' "$work/undefined.txt") tool, $(grep -c '^GUI ' "$work/undefined.txt") GUI):"
    echo "              $resolved resolve in 2026.06, $unchecked unchecked (Qmitk*, MITK's Qt modules are not in mitk-python),"
    echo "              $known_count known unresolved (tools/check/mitk_known_unresolved.txt), $unresolved unresolved"
    if [ ${#unresolved_rows[@]} -gt 0 ]; then printf '  %s\n' "${unresolved_rows[@]}"; fi
    echo "link          tool module $link_status"
    echo "              symbol level only: a tool built against v2025.08 headers must not be loaded into 2026.06 (class layouts differ)"
elif [ $failed -eq 0 ]; then
    echo "symbols       SKIPPED: no mitk-python 2026.6 environment (tools/setup/mitk.sh: $(tail -n 1 "$work/log/setup_mitk.txt"))"
else
    echo "symbols       not checked (compile errors)"
fi
if [ $failed -ne 0 ] || [ $unresolved -ne 0 ] || [ $link_failed -ne 0 ]; then
    echo "RESULT: FAIL"
    exit 1
fi
echo "RESULT: OK"
