#!/usr/bin/env bash
# The organizer over the labelled test photos: output layout, report, errors,
# labelled groups, unchanged sources, and an idempotent second run.
. "$(dirname "$0")/lib.sh"
need_testdata

SRC="$TMP/src"
labelled_tree "$SRC"
tree_sums "$SRC" >"$TMP/before"
OUT="$TMP/out"

"$BIN" -s "$SRC" -o "$OUT" --min-group-size 2 -q >"$TMP/stdout" 2>"$TMP/stderr"
is "a run with unreadable files exits 1" "$?" 1
# Unreadable: four files under corrupt/ and three RAW stubs (no pixel data).
is "one stderr line per unreadable file (the bad-RST JPEG is recoverable and organized)" "$(wc -l <"$TMP/stderr")" 7
tree_sums "$SRC" >"$TMP/after"
check "the source folder is byte-for-byte unchanged" cmp -s "$TMP/before" "$TMP/after"

R="$OUT/reports/latest.json"
check "latest.json is a symbolic link" test -L "$R"
check "the report is valid JSON with schema and version" jq -e '.schema == "photo-organizer/report" and .version == 2' "$R"
is "report lists every scanned photo" "$(jq '.photos | length' "$R")" "$(labelled_count)"
is "report lists the 7 unreadable files under errors" "$(jq '.errors | length' "$R")" 7
check "every error has a code and a reason" jq -e '[.errors[] | select(.code and (.reason | length > 10))] | length == 7' "$R"
ng=$(jq '.groups | length' "$R")
check "some groups were found" test "$ng" -ge 3

# Layout of every group.
bad=0
for g in $(jq -r '.groups[].dir' "$R"); do
    n=$(jq --arg d "$g" '.groups[] | select(.dir == $d) | .photo_count' "$R")
    best=$(jq -r --arg d "$g" '.groups[] | select(.dir == $d) | .best_photo.filename' "$R")
    [ "$(ls "$OUT/$g/originals" | wc -l)" = "$n" ] || bad=1
    [ -f "$OUT/$g/best_$best" ] || bad=1
    cmp -s "$OUT/$g/best_$best" "$OUT/$g/originals/$best" || bad=1
    grep -q "^Photo Group - $n images" "$OUT/$g/metadata.txt" || bad=1
done
is "each group has originals/, best_<name> (identical to its original) and metadata.txt" "$bad" 0
check "copies keep the original's bytes" bash -c "
    f=\$(jq -r '.groups[0].photos[0].id' '$R'); n=\$(jq -r '.groups[0].photos[0].filename' '$R');
    cmp -s '$SRC'/\"\$f\" '$OUT'/group_0001/originals/\"\$n\""
check "no temporary files are left" bash -c "! find '$OUT' -name '.pho-tmp.*' | grep -q ."

# Labelled near-duplicates: pairwise precision and recall.
jq -r '.photos[] | select(.group != null) | "\(.path),\(.group)"' "$R" | sort >"$TMP/got"
# labels.csv leaves the orientation cards unlabelled, but each set is one photograph
# copied eight times with a digit drawn on it: they are near-duplicates too.
{
    tr -d '\r' <"$TD/labels.csv" | awk -F, 'NR > 1 && $6 != "" { print $1 "," $6 }'
    for n in 1 2 3 4 5 6 7 8; do
        echo "orientation/landscape_$n.jpg,OL"
        echo "orientation/portrait_$n.jpg,OP"
    done
} | sort >"$TMP/want"
read -r tp fp fn < <(awk -F, '
    FNR == NR { want[$1] = $2; next }
    { got[$1] = $2 }
    END {
        for (a in want) for (b in want) if (a < b && want[a] == want[b]) { lab++; if ((a in got) && (b in got) && got[a] == got[b]) tp++ }
        for (a in got) for (b in got) if (a < b && got[a] == got[b]) { pred++ }
        print tp + 0, pred - tp, lab - tp
    }' "$TMP/want" "$TMP/got")
precision=$(awk -v tp="$tp" -v fp="$fp" 'BEGIN { printf "%.3f", (tp + fp) ? tp / (tp + fp) : 1 }')
recall=$(awk -v tp="$tp" -v fn="$fn" 'BEGIN { printf "%.3f", (tp + fn) ? tp / (tp + fn) : 1 }')
echo "# labelled pairs: true positives $tp, false positives $fp, missed $fn; precision $precision, recall $recall"
check "no unrelated photos grouped together (pairwise precision >= 0.95)" awk -v p="$precision" 'BEGIN { exit !(p >= 0.95) }'
check "labelled bursts found (pairwise recall >= 0.5)" awk -v r="$recall" 'BEGIN { exit !(r >= 0.5) }'
same_group() { jq -e --arg a "$1" --arg b "$2" '[.photos[] | select(.path == $a or .path == $b) | .group] | (.[0] != null and .[0] == .[1])' "$R" >/dev/null; }
check "the Nokia burst (1.4 s apart) is one group" same_group bursts/IMG_20191112_111022.jpg bursts/IMG_20191112_111024.jpg
check "the iPhone HDR pair is one group" same_group bursts/iphone_hdr_NO.jpg bursts/iphone_hdr_YES.jpg

# Second run: everything comes from the catalog, nothing is rewritten.
out_listing "$OUT" >"$TMP/listing1"
normalized_report "$R" >"$TMP/report1"
"$BIN" -s "$SRC" -o "$OUT" --min-group-size 2 -q 2>/dev/null
R2=$(readlink -f "$OUT/reports/latest.json")
is "second run analyses nothing again" "$(jq '.run.computed' "$R2")" 0
is "second run writes no file again" "$(jq '.run.files_written' "$R2")" 0
out_listing "$OUT" >"$TMP/listing2"
check "second run leaves the output identical" cmp -s "$TMP/listing1" "$TMP/listing2"
normalized_report "$R2" >"$TMP/report2"
check "second run's report is the same" cmp -s "$TMP/report1" "$TMP/report2"

# Changing a setting that regroups removes the outputs that no longer belong.
"$BIN" -s "$SRC" -o "$OUT" --min-group-size 3 -q 2>/dev/null
R3=$(readlink -f "$OUT/reports/latest.json")
check "regrouping removes stale copies" jq -e '.run.files_removed > 0' "$R3"
check "every remaining group folder belongs to the new result" bash -c "
    for d in '$OUT'/group_*; do jq -e --arg d \"\$(basename \$d)\" 'any(.groups[]; .dir == \$d)' '$R3' >/dev/null || exit 1; done"
check "min group size 3 is honoured" jq -e 'all(.groups[]; .photo_count >= 3)' "$R3"
tree_sums "$SRC" >"$TMP/after2"
check "the source is still unchanged after three runs" cmp -s "$TMP/before" "$TMP/after2"

done_testing
