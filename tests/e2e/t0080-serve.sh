#!/usr/bin/env bash
# The review viewer (docs/viewer.md): `serve` on an OUT made from the bursts, with hostile
# file names among them. The security cases: no token, a wrong token, a foreign Host (DNS
# rebinding), a state change without the CSRF token or from a foreign Origin, paths that
# try to leave the report's files (.., encoded slashes, absolute paths, the catalog, a
# user's link to outside OUT), the headers every response carries. Then the pictures
# (upright, cached, revalidated by entity tag), and the page in Debian's chromium: the
# grid and a group render, and names holding markup stay text.
. "$(dirname "$0")/lib.sh"
need_testdata
command -v curl >/dev/null || skip_all "curl is needed"

SRC=$TMP/src
mkdir -p "$SRC"
B=$TD/bursts
# Bursts, and two copies of one photo under names that try to be markup, quotes, a newline
# and bytes that are not UTF-8.
cp "$B"/group4_take*.jpg "$B"/canon_hdr_*.jpg "$SRC/"
cp "$B/obama-1080p.jpg" "$SRC/<script>alert(1)<script>.jpg"
XSS_NAME='<img src=x onerror=alert(2)>.jpg'
cp "$B/obama-720p.jpg" "$SRC/$XSS_NAME"
cp "$B/obama-480p.jpg" "$SRC/$(printf 'quote"'"'"'\nline.jpg')"
cp "$B/obama-240p.jpg" "$SRC/$(printf 'bad\xffname.jpg')"
OUT=$TMP/out
"$BIN" organize -s "$SRC" -o "$OUT" --faces none -q 2>/dev/null
check "organized" test -f "$OUT/reports/latest.json"

"$BIN" serve -o "$OUT" --port 18930 >"$TMP/serve.out" 2>"$TMP/serve.err" &
PID=$!
trap 'kill $PID 2>/dev/null; rm -rf "$TMP"' EXIT
for _ in $(seq 50); do grep -q '^Open ' "$TMP/serve.out" && break; sleep 0.1; done
URL=$(sed -n 's/^Open //p' "$TMP/serve.out")
check "serve prints the address to open, with a token" grep -Eq '^Open http://127.0.0.1:18930/\?token=[0-9a-f]{32}$' "$TMP/serve.out"
TOKEN=${URL##*token=}
H=http://127.0.0.1:18930
C="Cookie: pho_session=$TOKEN"
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }

# ---- who may ask ----------------------------------------------------------------------
is "no token: refused" "$(code "$H/")" 403
is "no token, the API: refused" "$(code "$H/api/report")" 403
is "a wrong token: refused" "$(code "$H/?token=00000000000000000000000000000000")" 403
last=${TOKEN: -1}
[ "$last" = 0 ] && other=1 || other=0
is "a wrong cookie (one digit off): refused" "$(code -H "Cookie: pho_session=${TOKEN%?}$other" "$H/api/report")" 403
curl -s -D "$TMP/h" -o /dev/null "$URL"
tr -d '\r' <"$TMP/h" >"$TMP/hdr"
check "the token becomes an HttpOnly SameSite=Strict cookie" grep -q "^Set-Cookie: pho_session=$TOKEN; HttpOnly; SameSite=Strict; Path=/" "$TMP/hdr"
check "... and leaves the address (redirect to /)" grep -q '^Location: /$' "$TMP/hdr"
is "with the cookie: the page" "$(code -H "$C" "$H/")" 200
is "a foreign Host (DNS rebinding): refused" "$(code -H "$C" -H 'Host: attacker.example:18930' "$H/api/report")" 421
is "localhost is this server too" "$(code -H "$C" -H 'Host: localhost:18930' "$H/api/report")" 200
is "a change without the CSRF token: refused" "$(code -X POST -H "$C" -H "Origin: $H" "$H/api/best")" 403
CSRF=$(curl -s -H "$C" "$H/api/session" | jq -r .csrf)
check "the page gets a CSRF token" test "${#CSRF}" -eq 32
is "a change from a foreign Origin: refused" \
    "$(code -X POST -H "$C" -H "Origin: http://attacker.example" -H "X-CSRF-Token: $CSRF" "$H/api/best")" 403
is "a change without an Origin: refused" "$(code -X POST -H "$C" -H "X-CSRF-Token: $CSRF" "$H/api/best")" 403

# ---- every response's headers ---------------------------------------------------------
curl -s -D "$TMP/h2" -o /dev/null -H "$C" "$H/"
tr -d '\r' <"$TMP/h2" >"$TMP/hdr2"
check "Content-Security-Policy: scripts only from the server, no inline" grep -q "^Content-Security-Policy: default-src 'none'; script-src 'self';" "$TMP/hdr2"
check "... and never in a frame" grep -q "frame-ancestors 'none'" "$TMP/hdr2"
check "nosniff" grep -q '^X-Content-Type-Options: nosniff' "$TMP/hdr2"
check "no referrer" grep -q '^Referrer-Policy: no-referrer' "$TMP/hdr2"
check "the page has no inline script" bash -c "! grep -Eq '<script>|<script [^>]*>[^<]' '$PHO_SOURCE_ROOT/viewer/index.html'"

# ---- only the report's files ----------------------------------------------------------
R=$(curl -s -H "$C" "$H/api/report")
REL=$(jq -r '.groups[] | select(.photos[0].filename | startswith("group4")) | .dir + "/originals/" + .photos[0].filename' <<<"$R" | head -1)
enc() { jq -rn --arg s "$1" '$s | @uri'; }
is "a listed file: served" "$(code -H "$C" "$H/file?p=$(enc "$REL")")" 200
for p in "../../../etc/passwd" "${REL%%/*}/../../etc/passwd" "%2e%2e%2f%2e%2e%2fetc%2fpasswd" \
    "${REL%%/*}%2Fmetadata.txt" "${REL%%/*}/metadata.txt" ".photo-organizer/catalog.db" \
    "reports/latest.json" "/etc/passwd" "$OUT/$REL" "${REL}%00.txt"; do
    is "not a listed file: $p" "$(code -H "$C" "$H/file?p=$p")" 404
done
is "an asset outside the viewer's folder" "$(code -H "$C" "$H/assets/../../etc/passwd")" 404
is "a hidden asset" "$(code -H "$C" "$H/assets/.hidden")" 404
# A listed file the user replaced with a link to outside OUT is not followed.
LREL=$(jq -r '[.groups[].photos[] | .filename] | map(select(startswith("canon"))) | .[0]' <<<"$R")
LDIR=$(jq -r --arg f "$LREL" '.groups[] | select(any(.photos[]; .filename == $f)) | .dir' <<<"$R")
mv "$OUT/$LDIR/originals/$LREL" "$TMP/moved.jpg"
ln -s /etc/passwd "$OUT/$LDIR/originals/$LREL"
is "a listed file replaced by a link to outside OUT: refused" "$(code -H "$C" "$H/file?p=$(enc "$LDIR/originals/$LREL")")" 404
rm "$OUT/$LDIR/originals/$LREL"
mv "$TMP/moved.jpg" "$OUT/$LDIR/originals/$LREL"

# ---- pictures ---------------------------------------------------------------------------
curl -s -D "$TMP/h3" -o "$TMP/p.jpg" -H "$C" "$H/img?p=$(enc "$LDIR/originals/$LREL")&s=512"
tr -d '\r' <"$TMP/h3" >"$TMP/hdr3"
is "a portrait (EXIF orientation 6) comes upright" "$(vipsheader -f width "$TMP/p.jpg")x$(vipsheader -f height "$TMP/p.jpg")" "384x512"
ETAG=$(sed -n 's/^ETag: //p' "$TMP/hdr3")
check "with an entity tag and revalidation" grep -q '^Cache-Control: private, max-age=300, must-revalidate' "$TMP/hdr3"
is "revalidated: 304" "$(code -H "$C" -H "If-None-Match: $ETAG" "$H/img?p=$(enc "$LDIR/originals/$LREL")&s=512")" 304
check "cached under OUT/.photo-organizer/thumbs" test -n "$(find "$OUT/.photo-organizer/thumbs" -name '*.jpg' | head -1)"
is "a size it does not make: refused" "$(code -H "$C" "$H/img?p=$(enc "$REL")&s=777")" 404
# A page still loading pictures when a decision moved them (another group, a new number):
# a photo asked for at a group it is no longer in comes from where it is now, not kept.
curl -s -D "$TMP/h4" -o "$TMP/moved.jpg" -H "$C" "$H/img?p=$(enc "group_9999/originals/${REL##*/}")&s=256"
tr -d '\r' <"$TMP/h4" >"$TMP/hdr4"
check "a photo asked for at its old place: served from its new one" grep -q '^HTTP/1.1 200' "$TMP/hdr4"
check "... and not cached under the old place" grep -q '^Cache-Control: no-store' "$TMP/hdr4"
is "a name the library does not have: still not found" \
    "$(code -H "$C" "$H/img?p=$(enc "group_9999/originals/no-such-photo.jpg")&s=256")" 404
BAD=$(jq -r '[.groups[].photos[] | .filename] | map(select(startswith("bad"))) | .[0]' <<<"$R")
BADDIR=$(jq -r --arg f "$BAD" '.groups[] | select(any(.photos[]; .filename == $f)) | .dir' <<<"$R")
is "a name that is not UTF-8 (\\xff in the report): its picture" \
    "$(code -H "$C" "$H/img?p=$(enc "$BADDIR/originals/$BAD")&s=256")" 200

# ---- in the browser -------------------------------------------------------------------
if command -v chromium >/dev/null; then
    SHOTS=${PHO_BUILD_DIR:-$TMP}/viewer-screenshots
    mkdir -p "$SHOTS"
    browse() { # dump the DOM, or with a file also a screenshot
        timeout 90 chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars \
            --user-data-dir="$TMP/chrome" --window-size=1400,900 --virtual-time-budget=10000 "$@" 2>/dev/null
    }
    browse --dump-dom "$URL" >"$TMP/grid.html"
    is "the grid shows every group" "$(grep -o 'class="card' "$TMP/grid.html" | wc -l)" "$(jq '.groups | length' <<<"$R")"
    # The group of the hostile names: every name in its strip, panes and table.
    XI=$(jq -r --arg f "$XSS_NAME" '[.groups[] | any(.photos[]; .filename == $f)] | index(true) + 1' <<<"$R")
    browse --dump-dom "$URL#/group/$XI" >"$TMP/xss.html"
    check "a name holding markup is shown as text" grep -q '&lt;img src=x onerror=alert(2)&gt;.jpg' "$TMP/xss.html"
    check "... so is <script>" grep -q '&lt;script&gt;alert(1)&lt;script&gt;.jpg' "$TMP/xss.html"
    check "... and neither becomes an element" bash -c "! grep -Eq '<img src=\"?x\"? onerror|<script>alert' '$TMP/xss.html'"
    check "a name with quotes and a newline is shown" grep -q 'quote&quot;' "$TMP/xss.html"
    GI=$(jq -r '[.groups[] | .photos | length] | to_entries | max_by(.value) | .key + 1' <<<"$R")
    browse --dump-dom "$URL#/group/$GI" >"$TMP/group.html"
    check "a group: its takes side by side" grep -q 'class="compare' "$TMP/group.html"
    check "... with the why of its best shot" grep -q 'Why this best shot' "$TMP/group.html"
    check "... and the metadata table" grep -q '<table class="meta">' "$TMP/group.html"
    browse --screenshot="$SHOTS/grid.png" "$URL" >/dev/null
    browse --screenshot="$SHOTS/group.png" "$URL#/group/$GI" >/dev/null
    check "screenshots saved ($SHOTS)" test -s "$SHOTS/grid.png" -a -s "$SHOTS/group.png"
else
    ok "# SKIP chromium not installed"
fi

# ---- a decision from the page: set another best shot, then take it back ---------------
G4=$(jq -r '[.groups[] | select(any(.photos[]; .filename | startswith("group4")))][0]' <<<"$R")
GDIR=$(jq -r .dir <<<"$G4")
OTHER=$(jq -r '[.photos[] | select(.is_best | not)][0].id' <<<"$G4")
OLD=$(jq -r '.best_photo.filename' <<<"$G4")
post() { curl -s -o "$TMP/post.json" -w '%{http_code}' -X POST -H "$C" -H "Origin: $H" -H "X-CSRF-Token: $CSRF" \
    -H 'Content-Type: application/json' -d "$1" "$H/api/decide"; }
is "set best from the page: accepted" "$(post "$(jq -nc --arg p "$OTHER" '{kind: "best", photo: $p}')")" 200
check "the output tree has the new best shot" test -f "$OUT/$GDIR/best_$OTHER"
check "... and not the old one" test ! -e "$OUT/$GDIR/best_$OLD"
R2=$(curl -s -H "$C" "$H/api/report")
is "the report served next says so" "$(jq -r --arg d "$GDIR" '.groups[] | select(.dir == $d) | .best_photo.id' <<<"$R2")" "$OTHER"
check "... and why: chosen by you, with the rule's choice" jq -e --arg d "$GDIR" '.groups[] | select(.dir == $d) | .why | startswith("chosen by you (the rule chose")' <<<"$R2"
"$BIN" organize -s "$SRC" -o "$OUT" --faces none -q 2>/dev/null
check "the next run keeps the decision" test -f "$OUT/$GDIR/best_$OTHER"
"$BIN" organize -s "$SRC" -o "$OUT" --faces none -q --force-fresh 2>/dev/null
check "... so does --force-fresh" test -f "$OUT/$GDIR/best_$OTHER"
is "undo from the page" "$(post '{"kind":"undo"}')" 200
check "the rule's best shot is back" test -f "$OUT/$GDIR/best_$OLD"
is "a decision that is not one: refused" "$(post '{"kind":"delete everything"}')" 400
is "a decision without the CSRF token: refused" \
    "$(code -X POST -H "$C" -H "Origin: $H" -d '{"kind":"undo"}' "$H/api/decide")" 403

kill "$PID"
wait "$PID" 2>/dev/null
is "Ctrl-C (SIGTERM) stops it cleanly" "$?" 0
is "nothing on stderr" "$(cat "$TMP/serve.err")" ""

# organize --web-viewer: the run, then the viewer on its result.
"$BIN" organize -s "$SRC" -o "$OUT" --faces none -q --web-viewer --port 18931 >"$TMP/wv.out" 2>&1 &
PID=$!
for _ in $(seq 100); do grep -q '^Open ' "$TMP/wv.out" && break; sleep 0.1; done
URL2=$(sed -n 's/^Open //p' "$TMP/wv.out")
check "organize --web-viewer serves the result when the run is done" grep -q '^Open http://127.0.0.1:18931/' "$TMP/wv.out"
is "... with its own token" "$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: pho_session=${URL2##*token=}" http://127.0.0.1:18931/api/report)" 200
is "... and not the first server's" "$(code -H "$C" http://127.0.0.1:18931/api/report)" 403
kill "$PID"
wait "$PID" 2>/dev/null
is "stopped cleanly" "$?" 0
done_testing
