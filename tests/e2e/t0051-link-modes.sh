#!/usr/bin/env bash
# --link (docs/output.md): group files in OUT as copies, reflinks, hard links or
# relative symbolic links; switching modes converts the tree; the user's files
# in OUT are still theirs; a kill -9 while writing re-runs to the same tree.
. "$(dirname "$0")/lib.sh"
need_testdata

SRC="$TMP/src"
mkdir -p "$SRC"
cp -a "$TD/bursts" "$SRC/"
chmod -R u+w "$SRC"
before=$(tree_sums "$SRC")
ARGS=(-s "$SRC" --min-group-size 2 --faces none --threads 2 -q)

# Type, path and, for links, target; for regular files their content hash: what a tree is.
listing() {
    (cd "$1" && find . -path ./reports -prune -o -path ./.photo-organizer -prune -o \
        \( -type f -o -type l \) -printf '%y %p %l\n' | sort |
        while read -r kind path target; do
            if [ "$kind" = f ]; then echo "f $path $(sha256sum <"$path" | cut -c1-16)"
            else echo "l $path $target"; fi
        done)
}
# Every group file of OUT with the source it came from (from the report).
pairs() { jq -r '.groups[] | .dir as $d | .photos[] | .is_best as $b | .files[] |
    "\($d)/originals/\(.filename)\t\(.source)", (if $b then "\($d)/best_\(.filename)\t\(.source)" else empty end)' \
    "$1/reports/latest.json"; }
# check_tree OUT MODE: every group file is what MODE makes.
check_tree() {
    local out=$1 mode=$2 bad=0 n=0
    while IFS=$'\t' read -r rel src; do
        n=$((n + 1))
        local f="$out/$rel" s="$SRC/$src"
        case $mode in
        hardlink) [ -f "$f" ] && [ ! -L "$f" ] && [ "$(stat -c %d:%i "$f")" = "$(stat -c %d:%i "$s")" ] || bad=$((bad + 1)) ;;
        symlink) [ -L "$f" ] && [ "$(readlink "$f" | cut -c1)" != / ] &&
            [ "$(realpath "$f")" = "$(realpath "$s")" ] || bad=$((bad + 1)) ;;
        copy) [ -f "$f" ] && [ ! -L "$f" ] && [ "$(stat -c %d:%i "$f")" != "$(stat -c %d:%i "$s")" ] &&
            cmp -s "$f" "$s" || bad=$((bad + 1)) ;;
        esac
    done < <(pairs "$out")
    if [ "$n" -gt 0 ] && [ "$bad" = 0 ]; then ok "--link $mode: all $n group files are ${mode}s of their sources"
    else not_ok "--link $mode: $bad of $n group files are not ${mode}s of their sources"; fi
}

for mode in copy hardlink symlink; do
    OUT="$TMP/$mode"
    "$BIN" organize "${ARGS[@]}" -o "$OUT" --link "$mode" 2>/dev/null
    check_tree "$OUT" "$mode"
    is "--link $mode: the catalog records the mode" \
        "$(sqlite3 "$OUT/.photo-organizer/catalog.db" "SELECT DISTINCT mode FROM outputs WHERE rel NOT LIKE '%metadata.txt'")" "$mode"
    is "--link $mode: the report counts what was made" \
        "$(jq ".run.files_linked.$mode // (.run.files_written - (.groups | length))" "$OUT/reports/latest.json")" \
        "$(pairs "$OUT" | wc -l)"
    "$BIN" organize "${ARGS[@]}" -o "$OUT" --link "$mode" 2>/dev/null
    is "--link $mode: a re-run writes nothing" "$(jq .run.files_written "$OUT/reports/latest.json")" 0
    listing "$OUT" >"$TMP/$mode.listing"
done
is "sources untouched" "$(tree_sums "$SRC")" "$before"

# auto: a reflink where the filesystem can clone, else a copy; editing it never reaches the source.
OUT="$TMP/auto"
"$BIN" organize "${ARGS[@]}" -o "$OUT" 2>/dev/null
is "the default is --link auto" "$(jq -r .settings.link "$OUT/reports/latest.json")" auto
echo test >"$TMP/clone-a"
if cp --reflink=always "$TMP/clone-a" "$TMP/clone-b" 2>/dev/null; then
    is "auto on a filesystem that clones: reflinks" \
        "$(jq .run.files_linked.reflink "$OUT/reports/latest.json")" "$(pairs "$OUT" | wc -l)"
    "$BIN" organize "${ARGS[@]}" -o "$TMP/reflink" --link reflink 2>/dev/null
    is "--link reflink: reflinks" "$(jq .run.files_linked.reflink "$TMP/reflink/reports/latest.json")" \
        "$(pairs "$TMP/reflink" | wc -l)"
else
    is "auto on a filesystem that cannot clone: copies" \
        "$(jq .run.files_linked.reflink "$OUT/reports/latest.json")" 0
    check_tree "$OUT" copy
    "$BIN" organize "${ARGS[@]}" -o "$TMP/reflink" --link reflink 2>"$TMP/reflink.err"
    is "--link reflink where it cannot: exit 1" "$?" 1
    check "... saying what to do instead" grep -q "use --link auto or copy" "$TMP/reflink.err"
    is "... an error entry per group, nothing half-made" \
        "$(jq '[.errors[] | select(.code == "EUNSUPPORTED")] | length' "$TMP/reflink/reports/latest.json")" \
        "$(jq '.groups | length' "$TMP/reflink/reports/latest.json")"
fi
first=$(pairs "$OUT" | head -1)
echo "edited" >>"$OUT/${first%%$'\t'*}"
is "editing an auto output leaves the source alone" "$(tree_sums "$SRC")" "$before"

# Switching modes converts the tree in place; nothing is mistaken for the user's.
OUT="$TMP/switch"
for mode in copy hardlink symlink copy symlink hardlink; do
    "$BIN" organize "${ARGS[@]}" -o "$OUT" --link "$mode" 2>/dev/null
    check_tree "$OUT" "$mode"
done
is "switching modes: nothing kept aside as the user's" \
    "$(find "$OUT" -path "$OUT/.photo-organizer" -prune -o -name '*.photo-organizer*' -print | wc -l)" 0
is "--resume keeps the last run's mode" \
    "$("$BIN" -o "$OUT" --resume -q 2>/dev/null; jq -r .settings.link "$OUT/reports/latest.json")" hardlink

# The user's file where a link was: kept, ours beside it.
OUT="$TMP/symlink"
victim=$(pairs "$OUT" | head -1 | cut -f1)
rm "$OUT/$victim"
echo "my own notes" >"$OUT/$victim"
"$BIN" organize "${ARGS[@]}" -o "$OUT" --link symlink 2>/dev/null
is "a user's file in place of a link is kept" "$(cat "$OUT/$victim")" "my own notes"
is "... and is listed as kept in the report" \
    "$(jq '.user_files_kept | length' "$OUT/reports/latest.json")" 1
is "sources untouched" "$(tree_sums "$SRC")" "$before"

# kill -9 while writing, in each mode: the re-run ends with the same tree.
for mode in copy hardlink symlink; do
    K="$TMP/k-$mode"
    for n in 1 2; do
        "$BIN" organize "${ARGS[@]}" -o "$K" --link "$mode" 2>/dev/null &
        pid=$!
        for _ in $(seq 2000); do [ -d "$K/group_0002" ] && break; sleep 0.005; done
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    "$BIN" organize "${ARGS[@]}" -o "$K" --link "$mode" 2>/dev/null
    listing "$K" >"$TMP/k.listing"
    check "--link $mode: killed while writing, run again: the same tree" cmp -s "$TMP/$mode.listing" "$TMP/k.listing"
    check "--link $mode: killed while writing: no temporary file left" bash -c "! find '$K' -name '.pho-tmp.*' | grep -q ."
done

"$BIN" organize "${ARGS[@]}" -o "$TMP/bad" --link sideways 2>"$TMP/bad.err"
is "--link with an unknown mode: usage error" "$?" 2
check "... naming the modes" grep -q "auto, copy, reflink, hardlink or symlink" "$TMP/bad.err"

done_testing
