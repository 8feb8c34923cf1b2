#!/usr/bin/env bash
# Beyond one machine (docs/scale-out.md): a private PostgreSQL server, a
# coordinator (--catalog ... --distributed) and three workers, one of them
# reaching the photos through --path-map and one killed with SIGKILL while it
# holds a batch. The output folder and the report must be those of a
# single-machine run with the SQLite catalog; the killed worker's photos are
# done by the others once its lease runs out; nothing stays queued. Also: the
# output folder remembers its database (decide, --resume), and the command
# line's refusals.
. "$(dirname "$0")/lib.sh"
need_testdata
command -v psql >/dev/null || skip_all "psql is not installed (tools/bootstrap.sh installs postgresql-client)"
PGS="$PHO_SOURCE_ROOT/tests/lib/pgserver.sh"
CONN=$(bash "$PGS" start "$TMP/pg") || skip_all "could not start PostgreSQL"
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null; done
    bash "$PGS" stop "$TMP/pg"
    rm -rf "$TMP"
}
trap cleanup EXIT
MODELS=(--models-dir "$PHO_MODELS_DIR")

# Bursts, faces (closed eyes, several people) and unreadable files.
SRC="$TMP/library"
mkdir -p "$SRC"
cp -r "$TD/bursts" "$TD/faces" "$TD/corrupt" "$SRC/"
ln -s "$SRC" "$TMP/mounted-elsewhere"

"$BIN" -s "$SRC" -o "$TMP/single" --threads 1 "${MODELS[@]}" -q 2>/dev/null
is "the single-machine run (SQLite) exits 1 for the unreadable files" "$?" 1

psql "$CONN" -qc "CREATE DATABASE lib" || not_ok "create the database"
DB="${CONN% dbname=*} dbname=lib"

# ---- three workers and a coordinator ---------------------------------------------------
for i in 1 2 3; do
    map=()
    [ "$i" = 3 ] && map=(--path-map "$SRC=$TMP/mounted-elsewhere")
    "$BIN" worker --catalog "$DB" --threads 1 --batch 4 --lease 4 --name "w$i" "${map[@]}" \
        "${MODELS[@]}" >"$TMP/w$i.log" 2>&1 &
    PIDS+=($!)
    eval "W$i=$!"
done
"$BIN" -s "$SRC" -o "$TMP/dist" --catalog "$DB" --distributed --threads 1 "${MODELS[@]}" -q \
    2>"$TMP/coord.err" &
COORD=$!
# Kill w2 while it holds a batch.
killed=no
for _ in $(seq 1 600); do
    held=$(psql "$DB" -Atc "SELECT count(*) FROM jobs WHERE worker = 'w2' AND state = 1" 2>/dev/null)
    if [ "${held:-0}" -gt 0 ]; then
        kill -9 "$W2"
        killed=yes
        break
    fi
    kill -0 "$COORD" 2>/dev/null || break
    sleep 0.1
done
is "worker w2 was killed with SIGKILL while holding a batch" "$killed" yes
wait "$COORD"
is "the coordinator exits 1 for the unreadable files, like the single run" "$?" 1
check "it says so for each, like the single run" grep -q "empty file" "$TMP/coord.err"

# ---- the same result --------------------------------------------------------------------
check "the output folder holds the same files with the same content" \
    diff <(out_listing "$TMP/single") <(out_listing "$TMP/dist")
check "the report is the same (timings aside)" \
    diff <(normalized_report "$TMP/single/reports/latest.json") \
         <(normalized_report "$TMP/dist/reports/latest.json")
is "every photo counts as analysed by this run" \
    "$(jq -c '.run | [.computed, .from_catalog, .faces_computed, .faces_from_catalog]' "$TMP/dist/reports/latest.json")" \
    "$(jq -c '.run | [.computed, .from_catalog, .faces_computed, .faces_from_catalog]' "$TMP/single/reports/latest.json")"
is "nothing is left in the queue" "$(psql "$DB" -Atc "SELECT count(*) FROM jobs")" 0
is "the catalog holds every photo" "$(psql "$DB" -Atc "SELECT count(*) FROM photos")" \
    "$(find "$SRC" -type f | wc -l)"
check "no SQLite catalog was made in OUT" test ! -e "$TMP/dist/.photo-organizer/catalog.db"
is "OUT remembers its database, readable by its owner only" \
    "$(stat -c %a "$TMP/dist/.photo-organizer/catalog-location")" 600

# Workers stop on SIGTERM after the batch in hand and say what they did.
kill -TERM "$W1" "$W3"
wait "$W1" "$W3"
w1=$(sed -n 's/^worker: \([0-9]*\) jobs done.*/\1/p' "$TMP/w1.log")
w3=$(sed -n 's/^worker: \([0-9]*\) jobs done.*/\1/p' "$TMP/w3.log")
check "worker w1 did jobs ($w1)" test "${w1:-0}" -gt 0
check "worker w3 did jobs through --path-map ($w3)" test "${w3:-0}" -gt 0
check "no worker logged an error" bash -c "! grep -qi 'error' '$TMP/w1.log' '$TMP/w3.log'"

# ---- later commands find the database through OUT ----------------------------------------
best=$(jq -r '[.groups[] | select(.photo_count >= 2)][0] | [.photos[] | select(.is_best | not)][0].id // empty' \
    "$TMP/dist/reports/latest.json")
if [ -n "$best" ]; then
    "$BIN" decide -o "$TMP/dist" best "$best" >/dev/null
    is "decide works on a folder whose catalog is in PostgreSQL" "$?" 0
    is "the decision is kept in the database" \
        "$(psql "$DB" -Atc "SELECT count(*) FROM decisions WHERE undone = 0")" 1
    "$BIN" decide -o "$TMP/dist" undo >/dev/null
else
    not_ok "the report has a group to decide on"
fi
"$BIN" -o "$TMP/dist" --resume --threads 1 "${MODELS[@]}" -q 2>/dev/null
is "--resume of the distributed run reads its settings from the database" "$?" 1
is "and finds every photo analysed" \
    "$(jq '.run.from_catalog' "$TMP/dist/reports/latest.json")" \
    "$(jq '.run.computed' "$TMP/single/reports/latest.json")"

# ---- static shards (--shard I/N), then a final run over the catalog -----------------------
psql "$CONN" -qc "CREATE DATABASE shards" || not_ok "create the shards' database"
DBS="${CONN% dbname=*} dbname=shards"
total=$(find "$SRC" -type f | wc -l)
sum=0
for i in 0 1 2; do
    "$BIN" -s "$SRC" --catalog "$DBS" --shard "$i/3" --threads 1 >"$TMP/shard$i.out" 2>/dev/null
    rc=$?
    check "shard $i/3 runs without an output folder (exit $rc: 0, or 1 for unreadable files)" test "$rc" -le 1
    n=$(sed -n 's/^Shard [0-9]*\/3: \([0-9]*\) photos analysed.*/\1/p' "$TMP/shard$i.out")
    check "shard $i/3 analysed some photos (${n:-none})" test "${n:-0}" -gt 0
    sum=$((sum + ${n:-0}))
done
is "the shards together analysed every photo once" "$sum" "$total"
is "each photo is in the catalog" "$(psql "$DBS" -Atc "SELECT count(*) FROM photos")" "$total"
check "a shard writes nothing but the catalog" test ! -e "$TMP/shard-out"
"$BIN" -s "$SRC" -o "$TMP/sharded" --catalog "$DBS" --threads 1 "${MODELS[@]}" -q 2>/dev/null
is "the final run over the shards' catalog exits 1 for the unreadable files" "$?" 1
check "and makes the single run's output" diff <(out_listing "$TMP/single") <(out_listing "$TMP/sharded")
check "and report" diff <(normalized_report "$TMP/single/reports/latest.json") \
    <(normalized_report "$TMP/sharded/reports/latest.json")
is "without analysing a photo again" "$(jq '.run.from_catalog' "$TMP/sharded/reports/latest.json")" "$total"
"$BIN" -s "$SRC" --catalog "$DBS" --shard 3/3 2>"$TMP/err"
is "--shard 3/3 is a usage error (shards count from 0)" "$?" 2
"$BIN" -s "$SRC" --shard 0/2 2>"$TMP/err"
is "--shard without --catalog is a usage error" "$?" 2

"$BIN" -s "$SRC" -o "$TMP/dry" --catalog "$DB" --distributed --dry-run --faces none -q 2>/dev/null
is "--distributed --dry-run plans without queueing (exit 1: the unreadable files)" "$?" 1
check "and writes nothing" test ! -e "$TMP/dry"

# ---- refusals ------------------------------------------------------------------------------
"$BIN" -s "$SRC" -o "$TMP/x" --distributed 2>"$TMP/err"
is "--distributed without --catalog is a usage error" "$?" 2
check "saying what it needs" grep -q -- "--catalog" "$TMP/err"
"$BIN" -s "$SRC" -o "$TMP/x" --catalog "$TMP/file.db" 2>"$TMP/err"
is "--catalog with a file is a usage error" "$?" 2
"$BIN" worker 2>"$TMP/err"
is "a worker without --catalog is a usage error" "$?" 2
"$BIN" worker --catalog "host=$TMP/nowhere dbname=x" --exit-when-idle -q 2>"$TMP/err"
is "a worker that cannot reach the database exits 1" "$?" 1
check "saying it cannot connect" grep -q "cannot connect to PostgreSQL" "$TMP/err"
"$BIN" worker --catalog "$DB" --exit-when-idle -q
is "an idle worker with --exit-when-idle stops by itself" "$?" 0
done_testing
