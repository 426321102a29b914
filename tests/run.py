#!/usr/bin/env python3
"""Runs vnuma's test programs of the given meson suites and counts their TAP results.

Every test program prints TAP (cmocka with CMOCKA_MESSAGE_OUTPUT=TAP, or a shell script), so
each case counts on its own.  A program that crashes, times out, breaks its plan or exits
non-zero without a failing case counts as one failure; a SKIP directive counts as skipped,
with its reason printed.  The last line is the summary CI reads:
    N passed, N failed, N skipped
Usage: run.py BUILD_DIR SUITE [SUITE...] [--label LABEL] [--summary-file FILE]
"""
import json
import os
import re
import subprocess
import sys
import time

TAP_RESULT = re.compile(r"^(ok|not ok)\b\s*(\d+)?\s*(?:-\s*)?([^#]*)(?:#\s*(\w+)\s*(.*))?$")
TAP_PLAN = re.compile(r"^1\.\.(\d+)\s*(?:#\s*(\w+)\s*(.*))?$")


def run_program(test, build, label, counts, failures):
    name = test["name"]
    env = dict(os.environ)
    env.update(test.get("env") or {})
    timeout = test.get("timeout") or 600
    start = time.monotonic()
    try:
        proc = subprocess.run(test["cmd"], env=env, cwd=test.get("workdir") or build,  # meson's default
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              timeout=timeout, stdin=subprocess.DEVNULL)
        out, rc = proc.stdout.decode(errors="replace"), proc.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode(errors="replace")
        rc = None
    elapsed = time.monotonic() - start

    plan, seen, failed_here = None, 0, 0
    for line in out.splitlines():
        line = line.rstrip()
        m = TAP_PLAN.match(line)
        if m:
            plan = int(m.group(1))
            if plan == 0 and (m.group(2) or "").upper() == "SKIP":
                counts["skipped"] += 1
                print(f"SKIP {label}/{name}: {m.group(3).strip()}")
            continue
        m = TAP_RESULT.match(line)
        if not m:
            if line.startswith("Bail out!"):
                failed_here += 1
                counts["failed"] += 1
                failures.append(f"{label}/{name}: {line}")
            continue
        seen += 1
        desc = m.group(3).strip() or f"case {seen}"
        directive = (m.group(4) or "").upper()
        if directive == "SKIP":
            counts["skipped"] += 1
            print(f"SKIP {label}/{name}: {desc}: {m.group(5).strip()}")
        elif m.group(1) == "ok" or directive == "TODO":
            counts["passed"] += 1
            print(f"PASS {label}/{name}: {desc}")
        else:
            counts["failed"] += 1
            failed_here += 1
            failures.append(f"{label}/{name}: {desc}")
            print(f"FAIL {label}/{name}: {desc}")

    problem = None
    if rc is None:
        problem = f"timed out after {timeout} s"
    elif rc < 0:
        problem = f"killed by signal {-rc}"
    elif plan is not None and plan != seen:
        problem = f"planned {plan} cases but ran {seen}"
    elif rc != 0 and failed_here == 0 and rc != 77:
        problem = f"exited with status {rc} without a failing case"
    elif plan is None and seen == 0:
        problem = "printed no TAP results"
    if problem:
        counts["failed"] += 1
        failures.append(f"{label}/{name}: {problem}")
        print(f"FAIL {label}/{name}: {problem}")
    if problem or failed_here:
        print(f"---- output of {label}/{name} ({elapsed:.1f} s) ----")
        print(out[-6000:])
        print("----")


def main():
    args = sys.argv[1:]
    label, summary_file = None, None
    if "--label" in args:
        i = args.index("--label")
        label = args[i + 1]
        del args[i:i + 2]
    if "--summary-file" in args:
        i = args.index("--summary-file")
        summary_file = args[i + 1]
        del args[i:i + 2]
    if len(args) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    build, suites = args[0], set(args[1:])
    tests = json.loads(subprocess.check_output(["meson", "introspect", build, "--tests"]))
    counts = {"passed": 0, "failed": 0, "skipped": 0}
    failures = []
    for test in tests:
        if suites & set(s.split(":")[-1] for s in test.get("suite", [])):
            run_program(test, os.path.abspath(build), label or "+".join(sorted(suites)), counts, failures)
    if failures:
        print("Failures:")
        for f in failures:
            print("  " + f)
    line = f"{counts['passed']} passed, {counts['failed']} failed, {counts['skipped']} skipped"
    if summary_file:
        with open(summary_file, "a") as f:
            f.write(f"{counts['passed']} {counts['failed']} {counts['skipped']}\n")
    print(line)
    return 1 if counts["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
