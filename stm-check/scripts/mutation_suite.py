#!/usr/bin/env python3
"""The mutation suite: how soon `stm-check explore` finds each bug stm-core
can inject, by swarm exploration, by the six built-in workloads, and by loom.

Runs the release binary built with `--features bug-injection` and prints a
Markdown table (and, with --json FILE, the raw numbers). Usage, from the
repository root:

    cargo build --release -p stm-check --features bug-injection
    python3 stm-check/scripts/mutation_suite.py [--bugs a,b] [--seeds 1,2,3] [--json out.json]

Per bug:
  * swarm: `explore --workload swarm --scheduler pct` with each seed, at most
    10,000 executions; executions (and seconds) until the failure, and their
    median over the seeds (a seed that does not find it counts as 10,000+);
  * built-ins: `explore --workload W --scheduler pct --seed 0` for each of
    the six built-ins, at most 10,000 executions each: the fewest executions
    any needed, and which;
  * loom: `explore --workload W --scheduler loom` at most 10,000 executions
    each, on bank and counter for a bug shuttle finds, on every built-in
    loom can model for one it does not;
  * with --fuzz-seconds S: the `swarm` fuzz target (stable, `-s none`)
    from an empty corpus without seeds, libFuzzer seed 1, at most S seconds.
Shrinking is off (--shrink-schedules 0): only finding is measured.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

BINARY = os.path.join("target", "release", "stm-check")
BUILTINS = ["bank", "counter", "read-skew", "write-skew", "queue", "ordered"]
BUDGET = 10_000
LOOM_FIRST = ["bank", "counter"]


def explore(args, regressions):
    """Runs one exploration; (found, executions, seconds) or None if refused."""
    started = time.monotonic()
    out = subprocess.run(
        [BINARY, "explore", "--json", "--iterations", str(BUDGET),
         "--shrink-schedules", "0", "--regressions", regressions] + args,
        capture_output=True, text=True, timeout=900)
    seconds = time.monotonic() - started
    if out.returncode == 2:
        return None
    try:
        report = json.loads(out.stdout)
    except json.JSONDecodeError:
        # Loom aborts the process on some failures, after saying so.
        found = out.returncode != 0 and "failure" in (out.stdout + out.stderr).lower()
        return (found, None, seconds)
    return (report["violations"] > 0, report["schedules"], report["seconds"])


def measure(bug, seeds, fuzz_seconds):
    with tempfile.TemporaryDirectory() as regressions:
        swarm = []
        for seed in seeds:
            found, executions, seconds = explore(
                ["--workload", "swarm", "--scheduler", "pct", "--seed", str(seed),
                 "--inject-bug", bug], regressions)
            swarm.append({"seed": seed, "found": found, "executions": executions,
                          "seconds": round(seconds, 2)})
        builtins = {}
        for workload in BUILTINS:
            result = explore(["--workload", workload, "--scheduler", "pct",
                              "--inject-bug", bug], regressions)
            if result:
                builtins[workload] = {"found": result[0], "executions": result[1]}
        loom = {}
        found_by_shuttle = any(s["found"] for s in swarm) or any(
            r["found"] for r in builtins.values())
        # Loom is slow: two built-ins for a bug shuttle finds, all six else.
        for workload in LOOM_FIRST if found_by_shuttle else BUILTINS:
            result = explore(["--workload", workload, "--scheduler", "loom",
                              "--inject-bug", bug], regressions)
            if result:
                loom[workload] = {"found": result[0], "executions": result[1]}
    return {"bug": bug, "swarm": swarm, "builtins": builtins, "loom": loom,
            "fuzzer": fuzz(bug, fuzz_seconds) if fuzz_seconds else None}


def fuzz(bug, seconds):
    """The `swarm` fuzz target from an empty corpus, no seeds, seed 1:
    (found, inputs, seconds); needs `cargo fuzz` (stable, `-s none`)."""
    with tempfile.TemporaryDirectory() as corpus:
        env = dict(os.environ, STM_FUZZ_INJECT_BUG=bug, STM_FUZZ_NO_SEEDS="1")
        started = time.monotonic()
        out = subprocess.run(
            ["cargo", "fuzz", "run", "-s", "none", "-O", "swarm", corpus, "--",
             "-seed=1", f"-max_total_time={seconds}", f"-artifact_prefix={corpus}/"],
            cwd="fuzz", env=env, capture_output=True, text=True, timeout=seconds + 600)
        elapsed = time.monotonic() - started
        text = out.stdout + out.stderr
        found = "panicked" in text or "deadly signal" in text or "ERROR: libFuzzer" in text
        inputs = None
        for line in text.splitlines():
            # "#1234\tNEW ..." progress lines; the last one says how far it got.
            if line.startswith("#") and "\t" in line:
                head = line[1:].split("\t")[0]
                if head.isdigit():
                    inputs = int(head)
        return {"found": found, "inputs": inputs, "seconds": round(elapsed, 1)}


def swarm_median(row):
    counts = [s["executions"] if s["found"] else BUDGET + 1 for s in row["swarm"]]
    return statistics.median(counts)


def best(results):
    found = [(r["executions"] if r["executions"] is not None else BUDGET, w)
             for w, r in results.items() if r["found"]]
    if not found:
        return "not found"
    executions, workload = min(found)
    return f"{executions} ({workload})"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bugs", help="comma-separated bug names (default: all)")
    parser.add_argument("--seeds", default="1,2,3")
    parser.add_argument("--json", help="also write the raw numbers here")
    parser.add_argument("--fuzz-seconds", type=int, default=0,
                        help="also run the swarm fuzz target this long per bug")
    options = parser.parse_args()
    if options.bugs:
        bugs = options.bugs.split(",")
    else:
        listed = subprocess.run([BINARY, "explore", "--workload", "bank", "--inject-bug", "?"],
                                capture_output=True, text=True)
        # "unknown bug `?`; this build can inject: a, b, c"
        text = listed.stderr
        bugs = [b.strip().rstrip(".") for b in text.split("inject:")[-1].split(",") if b.strip()]
    seeds = [int(s) for s in options.seeds.split(",")]
    rows = []
    for bug in bugs:
        print(f"measuring {bug} ...", file=sys.stderr)
        rows.append(measure(bug, seeds, options.fuzz_seconds))
    print("| bug | swarm (PCT) executions per seed (seconds) | swarm median | best built-in (PCT) | loom on built-ins | `swarm` fuzz target |")
    print("| --- | --- | --- | --- | --- | --- |")
    for row in rows:
        per_seed = ", ".join(
            f"{s['executions']} ({s['seconds']} s)" if s["found"] else f"not in {BUDGET}"
            for s in row["swarm"])
        median = swarm_median(row)
        median_text = f"{median:g}" if median <= BUDGET else "not found"
        fuzzer = row["fuzzer"]
        if fuzzer is None:
            fuzz_text = "not run"
        elif fuzzer["found"]:
            fuzz_text = f"{fuzzer['inputs']} inputs ({fuzzer['seconds']} s)"
        else:
            fuzz_text = f"not in {fuzzer['seconds']} s"
        print(f"| `{row['bug']}` | {per_seed} | {median_text} | {best(row['builtins'])} | {best(row['loom'])} | {fuzz_text} |")
    medians = [swarm_median(row) for row in rows]
    print(f"\nmedian over the suite of the swarm medians: {statistics.median(medians):g} executions")
    if options.json:
        with open(options.json, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    main()
