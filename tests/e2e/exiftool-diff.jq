# Compares `photo-organizer info --json` (the input) with ExifTool's reading of
# the same files ($et[0]: `exiftool -j -n -G1 -a`, read with --slurpfile et), field by field. Prints one
# line per disagreement: "<path>\t<field>\tours=<...>\texiftool=<...>".
#
# ExifTool's values are first put through the rules the program documents
# (docs/formats.md): a date that is not a calendar date is no date, a GPS
# fix of 0,0 or with status "void" is no position, out-of-range exposure
# values are dropped. What is left must agree exactly (numbers to rounding).

def raw_formats: ["ARW", "CR2", "CR3", "CRW", "DNG", "NEF", "ORF", "PEF", "RAF", "RW2", "SRW", "RAW", "MRW", "X3F", "IIQ"];

def valid_date:
  type == "string"
  and test("^[0-9]{4}[:-](0[1-9]|1[0-2])[:-](0[1-9]|[12][0-9]|3[01])[ T]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]")
  and .[0:4] != "0000";
# XMP dates may stop at the minute ("2019:05:04 07:00+02:00"): seconds are then 0.
def xmp_date: if type == "string" and test("^.{10}.[0-9]{2}:[0-9]{2}([^:0-9]|$)") then .[0:16] + ":00" + .[16:] else . end;

# "2019:11:12 11:10:24.187+01:00" -> {date: "2019-11-12T11:10:24", frac: 0.187|null, off: "+01:00"|null}
def parts:
  capture("^(?<y>[0-9]{4}).(?<m>[0-9]{2}).(?<d>[0-9]{2}).(?<t>[0-9]{2}:[0-9]{2}:[0-9]{2})(\\.(?<f>[0-9]+))?(?<o>Z|[+-][0-9]{2}:[0-9]{2})?")
  | {date: "\(.y)-\(.m)-\(.d)T\(.t)",
     frac: (if .f then ("0." + .f | tonumber) else null end),
     off: (if .o == "Z" then "+00:00" else .o end)};

def subsec($s): if ($s | type) == "string" and ($s | test("^ *[0-9]+ *$")) then ("0." + ($s | gsub(" "; "")) | tonumber) elif ($s | type) == "number" then ("0." + ($s | tostring) | tonumber) else null end;
def offset($o): if ($o | type) == "string" and ($o | test("^[+-][0-9]{2}:[0-9]{2}$")) then $o else null end;

# The capture time ExifTool's tags give under the program's precedence.
def expected_time($e):
  [
    {v: ($e["ExifIFD:DateTimeOriginal"] // $e["IFD0:DateTimeOriginal"]), s: $e["ExifIFD:SubSecTimeOriginal"], o: $e["ExifIFD:OffsetTimeOriginal"], src: "DateTimeOriginal"},
    {v: ($e["ExifIFD:CreateDate"] // $e["IFD0:CreateDate"]), s: $e["ExifIFD:SubSecTimeDigitized"], o: $e["ExifIFD:OffsetTimeDigitized"], src: "DateTimeDigitized"},
    {v: ($e["XMP-exif:DateTimeOriginal"] // $e["XMP-photoshop:DateCreated"] // $e["XMP-xmp:CreateDate"] | xmp_date), xmp: true, src: "XMP"},
    {v: ($e["IFD0:ModifyDate"] // $e["ExifIFD:ModifyDate"]), s: $e["ExifIFD:SubSecTime"], o: $e["ExifIFD:OffsetTime"], src: "DateTime"}
  ]
  | map(select(.v | valid_date))
  | first // null
  | if . == null then null
    elif .xmp then (.v | parts) + {src: "XMP"}
    else {date: (.v | parts | .date), frac: subsec(.s), off: offset(.o), src: .src}
    end
  | if . != null and .frac == 0 then .frac = null else . end;

def close($a; $b; $tol): (($a - $b) | fabs) <= $tol * ([($a | fabs), ($b | fabs)] | max);

def mismatch($path; $field; $ours; $theirs):
  "\($path)\t\($field)\tours=\($ours | tojson)\texiftool=\($theirs | tojson)";

($et[0] | map({key: .SourceFile, value: .}) | from_entries) as $by_path
| .[]
| select(.format != null)
| . as $o
| ($by_path[$o.path] // empty) as $e
| ($o.format as $f | raw_formats | index($f) != null) as $raw
# capture time and its source
| (expected_time($e) as $t
   | if $t == null then
       (if $o.time_source != "file mtime" then mismatch($o.path; "time_source"; $o.time_source; "none") else empty end)
     else
       (($o.captured // "") | parts // {}) as $c
       | (if $o.time_source != $t.src then mismatch($o.path; "time_source"; $o.time_source; $t.src) else empty end),
         (if $c.date != $t.date then mismatch($o.path; "captured"; $c.date; $t.date) else empty end),
         (if ($c.frac // 0) != ($t.frac // 0) and (close($c.frac // 0; $t.frac // 0; 1e-6) | not) then mismatch($o.path; "subseconds"; $c.frac; $t.frac) else empty end),
         (if $t.off != null and $c.off != $t.off then mismatch($o.path; "offset"; $c.off; $t.off) else empty end)
     end),
  # camera and lens
  (($e["IFD0:Make"] // null | tostring | gsub("^ +| +$"; "") | select(. != "null")) as $m
   | if $m != null and $m != "" and ($o.make // "") != $m then mismatch($o.path; "make"; $o.make; $m) else empty end),
  (($e["IFD0:Model"] // null | tostring | gsub("^ +| +$"; "") | select(. != "null")) as $m
   | if $m != null and $m != "" and ($o.model // "") != $m then mismatch($o.path; "model"; $o.model; $m) else empty end),
  (($e["ExifIFD:LensModel"] // null | if type == "string" then gsub("^ +| +$"; "") else . end) as $l
   | if $l != null and $l != "" and (($o.lens // "") | endswith($l) | not) then mismatch($o.path; "lens"; $o.lens; $l) else empty end),
  # exposure
  ($e["ExifIFD:ExposureTime"] as $v
   | if ($v | type) == "number" and $v > 0 and $v < 1e5 and (($o.exposure_time == null) or (close($o.exposure_time; $v; 1e-4) | not)) then mismatch($o.path; "exposure_time"; $o.exposure_time; $v) else empty end),
  ($e["ExifIFD:FNumber"] as $v
   | if ($v | type) == "number" and $v >= 0.3 and $v <= 1024 and (($o.fnumber == null) or (close($o.fnumber; $v; 1e-3) | not)) then mismatch($o.path; "fnumber"; $o.fnumber; $v) else empty end),
  ($e["ExifIFD:ISO"] as $v
   | if ($v | type) == "number" and $v > 0 and $v < 1e7 and $o.iso != $v then mismatch($o.path; "iso"; $o.iso; $v) else empty end),
  # position
  ([$e["Composite:GPSLatitude"], $e["Composite:GPSLongitude"]] as [$lat, $lon]
   | if ($lat | type) == "number" and ($lon | type) == "number"
        and ($lat != 0 or $lon != 0) and ($lat | fabs) <= 90 and ($lon | fabs) <= 180
        and (($e["GPS:GPSStatus"] // "A") != "V") then
       (if $o.gps == null or ((($o.gps.lat - $lat) | fabs) > 1e-6) or ((($o.gps.lon - $lon) | fabs) > 1e-6)
        then mismatch($o.path; "gps"; $o.gps; {lat: $lat, lon: $lon}) else empty end)
     elif $o.gps != null then mismatch($o.path; "gps"; $o.gps; {lat: $lat, lon: $lon})
     else empty end),
  # orientation as stored (a stored 0 is no orientation: both read as absent)
  ($e["IFD0:Orientation"] as $v
   | if ($v | type) == "number" and ($o.orientation_tag // 0) != $v then mismatch($o.path; "orientation"; $o.orientation_tag; $v) else empty end),
  # pixel size (RAW sizes differ by convention: ExifTool gives the sensor's, LibRaw the visible area)
  ($e["Composite:ImageSize"] as $s
   | if ($raw | not) and ($s | type) == "string" and ($s | test("^[0-9]+ [0-9]+$")) then
       ($s | split(" ") | map(tonumber)) as [$w, $h]
       | if $o.width != $w or $o.height != $h then mismatch($o.path; "size"; "\($o.width) \($o.height)"; $s) else empty end
     else empty end)
