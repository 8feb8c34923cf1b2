#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# Every package the build, the tests, the fuzzing and the benchmarks need is
# installed by tools/bootstrap.sh. A development machine often has packages
# that a fresh Debian 12 does not (libomp-14-dev was one), and a green run
# there hides the missing install step; this test finds what the project uses
# on this machine, asks dpkg which package provides it, and checks that the
# package is one bootstrap installs, one of their dependencies, or part of a
# minimal Debian (Essential / Priority: required).
#
# What "the project uses" means here:
#   - every dependency('NAME') of every meson.build (its .pc file), and every
#     library and compiler flag those pull into a link (-lX, -fopenmp) for both
#     compilers the project builds with (gcc, and clang-14 for fuzzing);
#   - every cc.find_library() but ONNX Runtime (it comes from npm);
#   - the compilers, the sanitizer and libFuzzer runtimes;
#   - the Python modules the model tooling imports;
#   - every command at a command position in .ci/run and the shell scripts
#     under tests/, fuzz/ and tools/ (here-documents and single-quoted text,
#     which hold jq, awk and Python programs, are not read as commands).
set -u
cd "${PHO_SOURCE_ROOT:-$(dirname "$0")/..}" || exit 1

n=0
failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }

command -v dpkg-query >/dev/null && command -v apt-cache >/dev/null ||
    { echo "1..0 # SKIP not a Debian system"; exit 0; }

mapfile -t PKGS < <(tools/bootstrap.sh --list-packages)
[ ${#PKGS[@]} -gt 5 ] || { echo "not ok 1 - tools/bootstrap.sh --list-packages lists nothing"; echo "1..1"; exit 1; }

# Everything bootstrap leaves installed: its packages, what they depend on, and
# the minimal system a fresh Debian has (mmdebstrap/debootstrap minbase).
CLOSURE=$(
    {
        printf '%s\n' "${PKGS[@]}"
        apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
            --no-replaces --no-enhances "${PKGS[@]}" 2>/dev/null | grep -v '^ ' | tr -d '<>'
        # minbase is Essential + Priority: required + apt (which bootstrap runs).
        echo apt
        # Tab-separated: an empty Essential field must not shift Priority into its place.
        dpkg-query -W -f='${Package}\t${Essential}\t${Priority}\n' |
            awk -F'\t' '$2 == "yes" || $3 == "required" { print $1 }'
    } | sed 's/:.*$//' | sort -u
)
in_closure() { grep -qxF "$1" <<<"$CLOSURE"; }

# What needs checking is collected first and asked of dpkg in one call (one
# call per file would take half a minute).
WHAT=()
FILES=()
declare -A SEEN=()
# need WHAT FILE: FILE must come from a package bootstrap installs.
# The path as used is what counts (a -dev package's libX.so link, /usr/bin/gcc);
# the file it resolves to is asked too, for links no package ships
# (/etc/alternatives).
REAL=()
need() {
    local real
    real=$(realpath -e "$2" 2>/dev/null) || { not_ok "$1: $2 is not installed on this machine"; return; }
    set -- "$1" "$(realpath -ms "$2")" # ".." out, links kept
    [ -z "${SEEN[$2]:-}" ] || return 0
    SEEN[$2]=1
    WHAT+=("$1")
    FILES+=("$2")
    REAL+=("$real")
}
# The other spelling of a path under merged /usr (dpkg knows the one the package ships).
other_spelling() {
    case "$1" in
    /usr/bin/* | /usr/sbin/* | /usr/lib/* | /usr/lib64/*) echo "${1#/usr}" ;;
    /bin/* | /sbin/* | /lib/* | /lib64/*) echo "/usr$1" ;;
    *) echo "$1" ;;
    esac
}
# Libraries: the shared object, else the static archive (glibc's libdl, libpthread).
need_lib() { # need_lib WHAT COMPILER NAME
    local f
    for f in "lib$3.so" "lib$3.a"; do
        f=$("$2" -print-file-name="$f" 2>/dev/null)
        case $f in /*) need "$1" "$f"; return ;; esac
    done
    not_ok "$1: $2 cannot find lib$3"
}
check_owners() {
    local -A OWNER=()
    local line path pkgs i f p found
    while IFS= read -r line; do
        case $line in diversion*) continue ;; esac
        path=${line#*: }
        pkgs=${line%%: *}
        OWNER[$path]="${OWNER[$path]:-} $(echo "$pkgs" | tr ',' ' ' | sed 's/:[a-z0-9]*//g')"
    done < <(
        for f in "${FILES[@]}" "${REAL[@]}"; do printf '%s\n%s\n' "$f" "$(other_spelling "$f")"; done | sort -u |
            xargs -d '\n' dpkg-query -S 2>/dev/null
    )
    for i in "${!FILES[@]}"; do
        f=${FILES[i]}
        p="${OWNER[$f]:-} ${OWNER[$(other_spelling "$f")]:-}"
        [ -n "${p// /}" ] || p="${OWNER[${REAL[i]}]:-} ${OWNER[$(other_spelling "${REAL[i]}")]:-}"
        if [ -z "${p// /}" ]; then
            not_ok "${WHAT[i]}: $f belongs to no Debian package"
            continue
        fi
        found=
        for pk in $p; do in_closure "$pk" && { found=$pk; break; }; done
        if [ -n "$found" ]; then
            ok "${WHAT[i]}: $f ($found)"
        else
            not_ok "${WHAT[i]}: $f comes from '$(echo $p)', which tools/bootstrap.sh does not install"
        fi
    done
}

# ---- libraries of the build ---------------------------------------------------
# The source tree's own files (no git needed: a fresh machine may have none).
src_files() { # src_files NAME-PATTERN
    find . \( -path './build*' -o -path './.deps' -o -path './.cache' -o -path './.git' \) -prune -o \
        -type f -name "$1" -print | sed 's|^\./||' | sort
}
mapfile -t MESON < <(src_files meson.build)
mapfile -t DEPS < <(grep -ohE "dependency\('[^']+'" "${MESON[@]}" | sed "s/dependency('//; s/'//" | sort -u)
COMPILERS=(gcc clang-14)
for d in "${DEPS[@]}"; do
    case $d in threads) continue ;; esac
    if ! pc=$(pkg-config --path "$d" 2>/dev/null); then
        not_ok "dependency('$d'): pkg-config does not know it (which package has $d.pc?)"
        continue
    fi
    need "dependency('$d')" "$pc"
    for flag in $(pkg-config --libs "$d"); do
        case $flag in
        -l*)
            for c in "${COMPILERS[@]}"; do need_lib "$d links $flag ($c)" "$c" "${flag#-l}"; done
            ;;
        -fopenmp)
            need "$d links OpenMP (gcc)" "$(gcc -print-file-name=libgomp.so)"
            # clang links -lomp from its own lib folder (/usr/lib/llvm-14/lib).
            omp=$(clang-14 -print-file-name=libomp.so)
            case $omp in /*) ;; *) omp="$(clang-14 -print-resource-dir)/../../libomp.so" ;; esac
            need "$d links OpenMP (clang-14, the fuzz build)" "$omp"
            ;;
        /*.so | /*.a) need "$d links $flag" "$flag" ;;
        esac
    done
done
for l in $(grep -ohE "find_library\('[^']+'" "${MESON[@]}" | sed "s/find_library('//; s/'//" | sort -u); do
    [ "$l" = onnxruntime ] && continue # from npm, see tools/bootstrap.sh
    need_lib "find_library('$l')" gcc "$l"
done

# ---- compilers and runtimes ------------------------------------------------------
for c in gcc g++ clang-14 clang++-14 meson ninja pkg-config; do
    if p=$(command -v "$c"); then need "build tool $c" "$p"; else not_ok "build tool $c is not installed"; fi
done
need "ASan runtime (gcc)" "$(gcc -print-file-name=libasan.so)"
need "UBSan runtime (gcc)" "$(gcc -print-file-name=libubsan.so)"
rt=$(clang-14 --print-runtime-dir 2>/dev/null)
need "libFuzzer runtime (clang-14)" "$rt/libclang_rt.fuzzer-x86_64.a"
need "ASan runtime (clang-14)" "$rt/libclang_rt.asan-x86_64.a"

# ---- Python modules of the model tooling ---------------------------------------
for m in $(grep -ohE '^(import|from) [a-z_0-9]+' tools/models/*.py tests/models/*.py 2>/dev/null | awk '{ print $2 }' | sort -u); do
    f=$(/usr/bin/python3 -c "import $m, sys; print(getattr($m, '__file__', '') or '')" 2>/dev/null) || continue
    case $f in
    /usr/*) need "python module $m" "$f" ;;
    *) ;; # the tooling's own modules, or built into the interpreter
    esac
done

# ---- commands the scripts run ---------------------------------------------------
mapfile -t SCRIPTS < <({
    echo .ci/run
    src_files '*.sh' | grep -E '^(tests|fuzz|tools)/'
} | grep -vx 'tools/fresh-machine-check.sh' | sort -u) # that one runs on the host and installs its own tool
# Commands the tests start from Python or C rather than from a script.
EXTRA_COMMANDS="node"
words=$(awk '
    # here-document bodies are data (Python, JSON), not commands
    heredoc != "" { if ($0 ~ "^[ \t]*" heredoc "[ \t]*$") heredoc = ""; next }
    /^[ \t]*#/ { next }
    {
        line = $0
        if (match(line, /<<-?[ \t]*["'"'"']?[A-Za-z_]+/)) {
            tag = substr(line, RSTART, RLENGTH); gsub(/[<\-"'"'"' \t]/, "", tag); heredoc = tag
        }
        gsub(/'"'"'[^'"'"']*'"'"'/, " ", line)          # single-quoted: jq/awk/sed programs
        gsub(/(\|\||&&|\$\(|[|;&(`!{}])/, "\n", line)
        n = split(line, seg, "\n")
        for (i = 1; i <= n; i++) {
            s = seg[i]
            gsub(/^[ \t]+/, "", s)
            # words that put a command after them
            while (s ~ /^(then|do|else|elif|if|while|until|time|exec|command|nice|env|sudo|xargs|timeout)[ \t]/ ||
                   s ~ /^[A-Za-z_][A-Za-z_0-9]*=[^ \t]*[ \t]/ || s ~ /^-[-A-Za-z0-9=_]*[ \t]/ || s ~ /^[0-9]+[smh]?[ \t]/) {
                sub(/^[^ \t]+[ \t]+/, "", s)
            }
            if (s ~ /^[A-Za-z_][A-Za-z_0-9]*=/) continue # an assignment, no command
            if (match(s, /^[a-z][a-zA-Z0-9_.+-]*/)) print substr(s, RSTART, RLENGTH)
        }
    }' "${SCRIPTS[@]}" | sort -u)
for w in $words $EXTRA_COMMANDS; do
    [ "$(type -t "$w")" = file ] || continue # keywords, builtins, the scripts' own functions
    p=$(command -v "$w")
    case $p in /*/*) ;; *) continue ;; esac
    case $p in "$PWD"/* | /tmp/*) continue ;; esac # the project's own programs
    # A command whose Debian package bootstrap names (npm: bootstrap installs
    # Debian's npm where no npm is on PATH, as on a fresh machine).
    if printf '%s\n' "${PKGS[@]}" | grep -qxF "$w"; then
        ok "command $w (bootstrap installs the package $w)"
        continue
    fi
    need "command $w" "$p"
done

check_owners
echo "1..$n"
[ "$failed" = 0 ]
