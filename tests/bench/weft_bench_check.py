#!/usr/bin/env python3
"""Checks weft-bench's outputs (ctest runs this; it asserts structure, never timing).

    weft_bench_check.py smoke WEFT_BENCH WORKDIR
        runs `weft-bench --quick --json --plot`: exit 0; every scenario of --list has a row
        in the table and a positive median at every loop count; the JSON has every field of
        schema weft-bench/1; the SVG is well-formed and names every scenario.
    weft_bench_check.py usage WEFT_BENCH
        bad command lines exit 2 with a clear message and the usage; --help exits 0.
"""

import json
import math
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

failures = []


def check(condition, message):
    if not condition:
        failures.append(message)
    return condition


def run(argv, timeout=600):
    return subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          timeout=timeout)


def is_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def has_keys(obj, keys, where):
    for k in keys:
        check(isinstance(obj, dict) and k in obj, f"{where}: missing key '{k}'")


def check_json(doc, listed, loops):
    has_keys(doc, ["schema", "started_utc", "seconds", "load_average", "machine", "build",
                   "options", "scenarios", "summary"], "JSON")
    check(doc.get("schema") == "weft-bench/1", f"JSON schema is {doc.get('schema')!r}")
    machine = doc.get("machine", {})
    has_keys(machine, ["cpu_model", "logical_cpus", "usable_cpus", "kernel", "memory_bytes"],
             "JSON machine")
    check(isinstance(machine.get("cpu_model"), str) and machine["cpu_model"] != "",
          "JSON machine.cpu_model is empty")
    check(is_number(machine.get("usable_cpus")) and machine["usable_cpus"] >= 1,
          "JSON machine.usable_cpus is not a positive number")
    check(isinstance(machine.get("kernel"), str) and machine["kernel"].startswith("Linux"),
          "JSON machine.kernel does not name Linux")
    build = doc.get("build", {})
    has_keys(build, ["git_commit", "compiler", "build_type"], "JSON build")
    options = doc.get("options", {})
    has_keys(options, ["loops", "repetitions", "quick", "filter"], "JSON options")
    check(options.get("loops") == loops, f"JSON options.loops {options.get('loops')} != {loops}")
    check(options.get("quick") is True, "JSON options.quick is not true")
    check(isinstance(doc.get("summary"), str) and len(doc["summary"]) > 40,
          "JSON summary is missing or empty")

    ids = [s.get("id") for s in doc.get("scenarios", [])]
    check(ids == listed, f"JSON scenarios {ids} differ from --list {listed}")
    for s in doc.get("scenarios", []):
        where = f"JSON scenario {s.get('id')}"
        has_keys(s, ["id", "group", "title", "unit", "size", "axis", "reference", "configs",
                     "speedup", "efficiency"], where)
        ref = s.get("reference")
        if ref is not None:
            has_keys(ref, ["kind", "label"], where + " reference")
            check(ref.get("kind") in ("baseline", "limit"), where + f": kind {ref.get('kind')}")
        configs = s.get("configs", [])
        check([c.get("loops") for c in configs] == loops,
              where + f": configs at {[c.get('loops') for c in configs]}, expected {loops}")
        for c in configs:
            cw = f"{where} at {c.get('loops')}"
            has_keys(c, ["loops", "ok", "error", "seconds", "repetitions", "median", "min", "max",
                         "reference_median", "reference_ratio_median", "extras_median"], cw)
            if not check(c.get("ok") is True and c.get("error") is None,
                         f"{cw}: failed: {c.get('error')}"):
                continue
            reps = c.get("repetitions", [])
            check(len(reps) == options.get("repetitions"),
                  f"{cw}: {len(reps)} repetitions, expected {options.get('repetitions')}")
            for r in reps:
                has_keys(r, ["value", "reference", "extras"], cw + " repetition")
                check(is_number(r.get("value")) and r["value"] > 0,
                      f"{cw}: repetition value {r.get('value')!r} is not a positive number")
                if ref is not None:
                    check(is_number(r.get("reference")) and r["reference"] > 0,
                          f"{cw}: repetition reference {r.get('reference')!r} missing")
            check(is_number(c.get("median")) and c["min"] <= c["median"] <= c["max"],
                  f"{cw}: median {c.get('median')} outside [{c.get('min')}, {c.get('max')}]")
            if ref is not None:
                check(is_number(c.get("reference_ratio_median")),
                      f"{cw}: no reference ratio")
        if len(loops) > 1:
            check(is_number(s.get("speedup")) and s["speedup"] > 0, where + ": no speedup")
            check(is_number(s.get("efficiency")), where + ": no efficiency")


def check_svg(path, titles):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        check(False, f"SVG is not well-formed XML: {e}")
        return
    check(root.tag == "{http://www.w3.org/2000/svg}svg", f"SVG root is {root.tag}")
    text = " ".join("".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text"))
    for title in titles:
        check(title in text, f"SVG does not name scenario '{title}'")
    bars = [r for r in root.iter("{http://www.w3.org/2000/svg}rect") if r.find(
        "{http://www.w3.org/2000/svg}title") is not None]
    check(len(bars) >= len(titles), f"SVG has {len(bars)} bars for {len(titles)} scenarios")


def smoke(bench, workdir):
    os.makedirs(workdir, exist_ok=True)
    json_path = os.path.join(workdir, "weft-bench.json")
    svg_path = os.path.join(workdir, "weft-bench.svg")
    for p in (json_path, svg_path):
        if os.path.exists(p):
            os.remove(p)
    listing = run([bench, "--list"])
    check(listing.returncode == 0, f"--list exited {listing.returncode}: {listing.stderr}")
    # A scenario this machine cannot run ("(skipped: nginx is not installed ...)") has no row.
    listed = [line.split()[0] for line in listing.stdout.splitlines()
              if line.strip() and "(skipped: " not in line]
    check(len(listed) >= 12, f"--list shows only {len(listed)} scenarios")
    for group in ("scheduler/", "composition/", "tutorial/", "parallelism/", "io/"):
        check(any(i.startswith(group) for i in listed), f"--list has no {group} scenario")

    result = run([bench, "--quick", "--loops", "1,2", "--json", json_path, "--plot", svg_path])
    sys.stdout.write(result.stdout)
    check(result.returncode == 0,
          f"weft-bench --quick exited {result.returncode}; stderr:\n{result.stderr}")
    try:
        with open(json_path) as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        check(False, f"JSON unreadable: {e}")
        return
    titles = [s.get("title", "") for s in doc.get("scenarios", [])]
    for s in doc.get("scenarios", []):
        title = s.get("title", "")
        pattern = re.compile(r"^  " + re.escape(title) + r" +" + re.escape(s.get("unit", "")) + " ")
        row = [line for line in result.stdout.splitlines() if pattern.match(line)]
        check(len(row) == 1 and "FAILED" not in row[0] and " - " not in row[0] + " ",
              f"table row for '{title}' missing or without figures: {row}")
    check(f"JSON: {json_path}" in result.stdout and f"SVG:  {svg_path}" in result.stdout,
          "stdout does not say where the JSON and SVG went")
    check_json(doc, listed, [1, 2])
    check_svg(svg_path, titles)


def usage(bench):
    bad = [
        ["--bogus"],
        ["--loops"],
        ["--loops", "0"],
        ["--loops", "1,x"],
        ["--loops", "1,,2"],
        ["--loops", "100000"],
        ["--repetitions", "0"],
        ["--repetitions", "-3"],
        ["--filter", "("],
        ["--json"],
        ["--json="],
        ["--quick=yes"],
        ["stray"],
    ]
    for argv in bad:
        r = run([bench] + argv, timeout=60)
        check(r.returncode == 2, f"{argv}: exit {r.returncode}, expected 2")
        check("usage: weft-bench" in r.stderr, f"{argv}: no usage on stderr: {r.stderr!r}")
        first = r.stderr.splitlines()[0] if r.stderr else ""
        check(first.startswith("weft-bench: ") and len(first) > len("weft-bench: ") + 5,
              f"{argv}: no one-line reason first: {first!r}")
        check(r.stdout == "", f"{argv}: printed to stdout: {r.stdout!r}")
    r = run([bench, "--filter", "no-such-scenario"], timeout=60)
    check(r.returncode == 2 and "matches no scenario" in r.stderr,
          f"--filter with no match: exit {r.returncode}, stderr {r.stderr!r}")
    r = run([bench, "--help"], timeout=60)
    check(r.returncode == 0 and "usage: weft-bench" in r.stdout, f"--help: exit {r.returncode}")


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "usage":
        usage(sys.argv[2])
    elif len(sys.argv) >= 4 and sys.argv[1] == "smoke":
        smoke(sys.argv[2], sys.argv[3])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    for f in failures:
        print("FAIL: " + f, file=sys.stderr)
    print(f"{len(failures)} failure(s)", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
