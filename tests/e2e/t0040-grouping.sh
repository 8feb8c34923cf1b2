#!/usr/bin/env bash
# Grouping at the defaults (the auto rule) and with the original tool's flags:
# which rule runs, the report says why each member joined, `explain` agrees,
# --resume keeps the rule. Photos from neardup/ with its own truth file.
. "$(dirname "$0")/lib.sh"
need_testdata
ND=$TD/neardup
[ -f "$ND/groups_truth.csv" ] || skip_all "no neardup set"
# One burst (four Nokia shots within 19 s), one derived group (original, 80 % crop,
# JPEG q35) and the deliberately confusing singletons (same camera, turned away).
files_of() { awk -F, -v g="$1" '$2 == g { print $1 }' "$ND/groups_truth.csv"; }
SRC=$TMP/src
mkdir -p "$SRC"
for f in $(files_of G17) $(files_of G30) $(files_of S35) $(files_of S37) $(files_of S38); do
    cp "$ND/$f" "$SRC/"
done
OUT=$TMP/out
"$BIN" -s "$SRC" -o "$OUT" --faces none -q 2>"$TMP/err"
is "organize at the defaults exits 0" "$?" 0
R=$OUT/reports/latest.json
is "the report names the auto rule" "$(jq -r .settings.grouping "$R")" auto
group_of() { jq -r --arg p "$1" '.photos[] | select(.path == $p) | .group // "none"' "$R"; }
same_group() { # all of the given files in one group
    local first g
    first=$(group_of "$1")
    [ "$first" != none ] || return 1
    for f in "$@"; do g=$(group_of "$f"); [ "$g" = "$first" ] || return 1; done
}
# shellcheck disable=SC2046
check "the four burst shots are one group" same_group $(files_of G17)
# shellcheck disable=SC2046
check "the cropped and re-encoded copies join their original" same_group $(files_of G30)
for f in $(files_of S35) $(files_of S37) $(files_of S38); do
    is "confusing singleton $f stays alone" "$(group_of "$f")" none
done
is "exactly two groups" "$(jq '.groups | length' "$R")" 2
check "every member but the first says how it joined" jq -e '
    [.groups[].photos] | all(.[0].linked == null and
        (.[1:] | all(.linked.reason | IN("copy", "burst", "undated", "same camera", "turned"))))' "$R"
check "a link names its partner, bits and similarity" jq -e '
    [.groups[].photos[1:][].linked] | all((.via | type == "string") and (.hash_bits <= 64)
        and (.similarity >= .needed_similarity))' "$R"
check "metadata.txt says why a member joined" grep -rq "^joined: " "$OUT"/group_*/metadata.txt

# explain agrees with the groups.
set -- $(files_of G30)
"$BIN" explain "$SRC/$1" "$SRC/$2" >"$TMP/ex" 2>"$TMP/err"
is "explain exits 0" "$?" 0
check "explain says a copy pair is grouped" grep -q ": grouped" "$TMP/ex"
"$BIN" explain --json "$SRC/$1" "$SRC/$(files_of S35)" >"$TMP/ex.json" 2>"$TMP/err"
check "explain --json says an unrelated pair is not linked" jq -e '.linked == false and .reason == "not linked"' "$TMP/ex.json"
"$BIN" explain "$SRC/$1" 2>"$TMP/err"
is "explain with one photo is a usage error" "$?" 2
"$BIN" explain "$SRC/$1" "$SRC/nope.jpg" 2>"$TMP/err"
is "explain of a missing photo exits 1" "$?" 1

# A flag of the original tool selects its rule, with its defaults and meaning.
OUT2=$TMP/out-classic
"$BIN" -s "$SRC" -o "$OUT2" --faces none -q -t 5 2>"$TMP/err"
is "organize -t 5 exits 0" "$?" 0
R2=$OUT2/reports/latest.json
is "-t selects the classic rule" "$(jq -r .settings.grouping "$R2")" classic
is "with the original's default minimum group size" "$(jq -r .settings.min_group_size "$R2")" 3
check "classic members carry no link explanation" jq -e '[.groups[].photos[] | has("linked")] | any | not' "$R2"
"$BIN" -s "$SRC" -o "$TMP/out3" --grouping auto -t 5 2>"$TMP/err"
is "--grouping auto with -t is a usage error" "$?" 2
"$BIN" -s "$SRC" -o "$TMP/out3" --grouping fuzzy 2>"$TMP/err"
is "an unknown rule is a usage error" "$?" 2
"$BIN" -o "$OUT2" --resume --faces none -q 2>"$TMP/err"
is "--resume of a classic run exits 0" "$?" 0
is "--resume keeps the classic rule" "$(jq -r .settings.grouping "$R2")" classic
done_testing
