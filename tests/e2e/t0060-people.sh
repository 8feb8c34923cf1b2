#!/usr/bin/env bash
# People (docs/people.md) on the labelled faces of ../shared/testdata: the
# persons found with the default backend against labels.csv (pairwise precision
# and F1 over the one-person photos; group photos' faces only ever in persons
# the photo's label names); two faces of one photo never one person; adding
# photos and running again gives the persons of one run over all; the user's
# decisions (name, merge, move, not, hide) survive later runs and --force-fresh;
# a kill -9 while organizing loses nothing.
. "$(dirname "$0")/lib.sh"
need_testdata
MODELS=${PHO_MODELS_DIR:-}
[ -n "$MODELS" ] && [ -f "$MODELS/blazeface_full_range.onnx" ] || skip_all "face models not installed"

ARGS=(--faces all --threads 2 --models-dir "$MODELS" -q)
# The labels of the faces/ photos: path below faces/, then the names (;-separated).
tr -d '\r' <"$TD/labels.csv" | awk -F, 'NR > 1 && $1 ~ /^faces\// { sub(/^faces\//, "", $1); print $1 "\t" $3 }' >"$TMP/labels.tsv"
labels_json=$(jq -R -s 'split("\n") | map(select(length > 0) | split("\t") | {(.[0]): (.[1] // "" | split(";"))}) | add' "$TMP/labels.tsv")
# Persons as sets of faces ("photo#n"), one line each, sorted: what two runs compare.
partition() {
    jq -r '[.photos[] | .path as $p | (.faces // []) | to_entries[] | select(.value.person != null)
        | {person: .value.person, face: "\($p)#\(.key)"}] | group_by(.person)
        | map(map(.face) | sort | join(" ")) | sort[]' "$1"
}

OUT="$TMP/out"
"$BIN" organize -s "$TD/faces" -o "$OUT" "${ARGS[@]}" 2>/dev/null
R="$OUT/reports/latest.json"
check "the report has a people section (schema version 2)" jq -e '.version == 2 and (.people | length) > 0' "$R"

# Pairwise over the photos of one face and one labelled person.
read -r tp fp fn < <(jq -r --argjson L "$labels_json" '
    [.photos[] | select(($L[.path] // []) | length == 1) | select((.faces // []) | length == 1)
     | {name: $L[.path][0], person: .faces[0].person}] as $f
    | [range(0; $f | length) as $i | range($i + 1; $f | length) as $j | [$f[$i], $f[$j]]
       | {same: (.[0].name == .[1].name), said: (.[0].person != null and .[0].person == .[1].person)}]
    | [(map(select(.same and .said)) | length), (map(select(.said and (.same | not))) | length),
       (map(select(.same and (.said | not))) | length)] | @tsv' "$R")
P=$(echo "$tp $fp" | awk '{ printf "%.3f", ($1 + $2) ? $1 / ($1 + $2) : 0 }')
Rc=$(echo "$tp $fn" | awk '{ printf "%.3f", ($1 + $2) ? $1 / ($1 + $2) : 0 }')
F1=$(echo "$P $Rc" | awk '{ printf "%.3f", ($1 + $2) ? 2 * $1 * $2 / ($1 + $2) : 0 }')
echo "# pairwise over one-person photos: tp $tp fp $fp fn $fn precision $P recall $Rc F1 $F1"
check "pairwise precision $P >= 0.98" awk "BEGIN { exit !($P >= 0.98) }"
check "pairwise F1 $F1 >= 0.95" awk "BEGIN { exit !($F1 >= 0.95) }"

# A person's name, by majority of its one-person photos; a group photo's faces may only be
# persons its label names.
wrong=$(jq -r --argjson L "$labels_json" '
    ([.photos[] | select(($L[.path] // []) | length == 1) | select((.faces // []) | length == 1)
      | select(.faces[0].person != null) | {p: .faces[0].person, n: $L[.path][0]}]
     | group_by(.p) | map({key: (.[0].p | tostring), value: (group_by(.n) | max_by(length) | .[0].n)})
     | from_entries) as $name
    | [.photos[] | select(($L[.path] // []) | length > 1) | .path as $path
       | .faces[] | select(.person != null) | $name[.person | tostring] as $n
       | select($n != null and ($L[$path] | index($n)) == null)] | length' "$R")
is "group photos: no face is a person the photo's label does not name" "$wrong" 0
is "two faces of one photo are never one person" \
    "$(jq '[.photos[] | [(.faces // [])[] | .person | select(. != null)] | (length - (unique | length))] | add' "$R")" 0
is "every person in the report counts its faces" \
    "$(jq '[.people[].faces] | add' "$R")" "$(jq '[.photos[].faces // [] | .[] | select(.person != null)] | length' "$R")"
partition "$R" >"$TMP/one-run"

# Incremental: half the photos first, then all of them.
SRC="$TMP/src"
mkdir -p "$SRC"
cp -a "$TD/faces/identity" "$TD/faces/eyes" "$SRC/"
"$BIN" organize -s "$SRC" -o "$TMP/inc" "${ARGS[@]}" 2>/dev/null
first=$(jq '[.people[].id] | sort' "$TMP/inc/reports/latest.json")
cp -a "$TD/faces/portraits" "$TD/faces/groups" "$TD/faces/expression" "$SRC/"
"$BIN" organize -s "$SRC" -o "$TMP/inc" "${ARGS[@]}" 2>/dev/null
is "incremental: the same persons as one run over all" "$(partition "$TMP/inc/reports/latest.json")" "$(cat "$TMP/one-run")"
is "incremental: the first run's persons keep their ids" \
    "$(jq --argjson f "$first" '[.people[].id | select(. as $i | $f | index($i))] | sort' "$TMP/inc/reports/latest.json")" "$first"

# A photo gone from the library: its faces leave their persons.
rm "$SRC/identity/musk_3.jpg"
"$BIN" organize -s "$SRC" -o "$TMP/inc" "${ARGS[@]}" 2>/dev/null
is "a deleted photo's face leaves its person (people list agrees with the report)" \
    "$("$BIN" people -o "$TMP/inc" --json list | jq '[.people[].faces] | add')" \
    "$(jq '[.people[].faces] | add' "$TMP/inc/reports/latest.json")"

# The user's decisions.
PEOPLE=("$BIN" people -o "$OUT")
obama=$(jq -r '.photos[] | select(.path == "portraits/obama.jpg") | .faces[0].person' "$R")
biden=$(jq -r '.photos[] | select(.path == "portraits/biden.jpg") | .faces[0].person' "$R")
musk=$(jq -r '.photos[] | select(.path == "identity/musk_1.jpg") | .faces[0].person' "$R")
check "people list shows every person" bash -c "'$BIN' people -o '$OUT' list | grep -q '^ *$obama '"
check "people name: any UTF-8" "${PEOPLE[@]}" name "$obama" "Barack Obama — 44ᵗʰ"
check "people move: a face into a person" "${PEOPLE[@]}" move "portraits/tom_hanks_1.png#0" "$musk"
check "people not: a face out of a person" "${PEOPLE[@]}" not "identity/musk_3.jpg#0" "$musk"
check "people merge" "${PEOPLE[@]}" merge "$obama" "$biden"
check "people hide" "${PEOPLE[@]}" hide "$musk"
"${PEOPLE[@]}" --json list >"$TMP/list.json"
is "the name reads back" "$(jq -r --argjson o "$obama" '.people[] | select(.id == $o) | .name' "$TMP/list.json")" "Barack Obama — 44ᵗʰ"
is "a merged person is gone from the list" "$(jq --argjson b "$biden" '[.people[] | select(.id == $b)] | length' "$TMP/list.json")" 0
check "show of a merged person shows the person it joined" bash -c \
    "'$BIN' people -o '$OUT' --json show $biden | jq -e '.id == $obama'"
decisions() { # person of a face, by photo
    jq -r '.photos[] | select(.path == "portraits/tom_hanks_1.png" or .path == "identity/musk_3.jpg"
        or .path == "portraits/biden.jpg") | "\(.path) \(.faces[0].person)"' "$1"
}
for how in again --force-fresh; do
    extra=()
    [ "$how" = --force-fresh ] && extra=(--force-fresh)
    "$BIN" organize -s "$TD/faces" -o "$OUT" "${ARGS[@]}" "${extra[@]}" 2>/dev/null
    is "run $how: the decisions hold" "$(decisions "$R" | tr '\n' ' ')" \
        "identity/musk_3.jpg null portraits/biden.jpg $obama portraits/tom_hanks_1.png $musk "
    is "run $how: the name and the hidden flag hold" \
        "$(jq -r --argjson o "$obama" --argjson m "$musk" '[(.people[] | select(.id == $o) | .name), (.people[] | select(.id == $m) | .hidden)] | @tsv' "$R")" \
        "Barack Obama — 44ᵗʰ	true"
done
"$BIN" organize -s "$TD/faces" -o "$OUT" "${ARGS[@]}" --force-fresh 2>/dev/null &
sleep 1
check "people: a change waits for no run: busy while one organizes" bash -c \
    "'$BIN' people -o '$OUT' name $obama X 2>/dev/null; [ \$? = 3 ]"
wait
check "people: usage errors exit 2" bash -c "'$BIN' people -o '$OUT' move nohash 3 2>/dev/null; [ \$? = 2 ]"
check "people: an unknown person is one line, exit 1" bash -c \
    "'$BIN' people -o '$OUT' name 999999 X 2>&1 >/dev/null | grep -q 'no person 999999'"

# People folders: each person's photos and face; a name moves the folder; hidden: none.
check "--people-folders without --faces all is a usage error" bash -c \
    "'$BIN' organize -s '$TD/faces' -o '$TMP/pf0' --people-folders -q 2>/dev/null; [ \$? = 2 ]"
PF="$TMP/pf"
"$BIN" organize -s "$TD/faces" -o "$PF" "${ARGS[@]}" --people-folders 2>/dev/null
RP="$PF/reports/latest.json"
bad=0
while IFS=$'\t' read -r id photos; do
    dir=$(printf 'person_%04d' "$id")
    [ "$(find "$PF/people/$dir" -type f | wc -l)" = "$photos" ] && vipsheader "$PF/people/$dir.jpg" >/dev/null 2>&1 ||
        bad=$((bad + 1))
done < <(jq -r '.people[] | [.id, .photos] | @tsv' "$RP")
is "people folders: every person's photos, and a picture of their face" "$bad" 0
p1=$(jq -r '.people[0].id' "$RP")
p2=$(jq -r '.people[1].id' "$RP")
"$BIN" people -o "$PF" name "$p1" "Ada Lovelace" >/dev/null
"$BIN" people -o "$PF" hide "$p2" >/dev/null
"$BIN" organize -s "$TD/faces" -o "$PF" "${ARGS[@]}" --people-folders 2>/dev/null
check "people folders: a named person's folder has the name" [ -d "$PF/people/Ada Lovelace" ]
check "people folders: the old folder is gone" [ ! -e "$PF/people/$(printf 'person_%04d' "$p1")" ]
check "people folders: a hidden person has none" [ ! -e "$PF/people/$(printf 'person_%04d' "$p2")" ]
"$BIN" organize -s "$TD/faces" -o "$PF" "${ARGS[@]}" --people-folders 2>/dev/null
is "people folders: a re-run writes nothing" "$(jq .run.files_written "$RP")" 0

# kill -9 while organizing (the people stage is one transaction): nothing lost.
K="$TMP/kill"
for delay in 1 2 3 4; do
    "$BIN" organize -s "$TD/faces" -o "$K" "${ARGS[@]}" >/dev/null 2>&1 &
    pid=$!
    sleep "$delay"
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
done
"$BIN" organize -s "$TD/faces" -o "$K" "${ARGS[@]}" 2>/dev/null
is "killed while organizing, run again: the persons of an uninterrupted run" \
    "$(partition "$K/reports/latest.json")" "$(cat "$TMP/one-run")"
check "killed while organizing: the catalog is whole" bash -c \
    "[ \"\$(sqlite3 '$K/.photo-organizer/catalog.db' 'PRAGMA integrity_check')\" = ok ]"

done_testing
