#!/usr/bin/python3
"""Soak: minutes of mixed traffic against a real lighttpd + socialauth + fake Google, reporting
each endpoint process's private memory over time (`make soak SOAK_S=300`).

The traffic is the crash test's MixedLoad (tests/integration/test_faults.py) without kills:
first and repeat sign-ins, refreshes with rotation, logouts, profile edits, from several
clients. Every --every seconds each process lighttpd started is sampled:
Private_Clean + Private_Dirty of /proc/PID/smaps_rollup (memory only that process holds; the
shared Berkeley DB regions and libraries are not counted). Prints one line per sample and,
at the end, each process's first and last value. Exits 1 when a 500 was answered, or when
--max-growth-kb is given and a process grew more than that from its first sample after the
warm-up (a tenth of the run) to its last."""

import argparse
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.path.insert(0, os.path.join(HERE, "..", "fakes"))

from google_client import GoogleClient  # noqa: E402
from sa_server import Server  # noqa: E402
from test_faults import MixedLoad, all_endpoint_pids  # noqa: E402


def private_kb(pid):
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1])
    except OSError:
        return None
    return total


def name_of(pid):
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--every", type=float, default=10)
    ap.add_argument("--clients", type=int, default=2)
    ap.add_argument("--max-growth-kb", type=int, default=None)
    args = ap.parse_args()

    google = GoogleClient.start()
    tmp = tempfile.mkdtemp(prefix="socialauth-soak-")
    server = Server(tmp, procs=2, **google.settings())
    samples = {}   # pid -> [(t, kB)]
    names = {}
    try:
        t0 = time.monotonic()
        with MixedLoad(server, google, clients=args.clients) as load:
            while time.monotonic() - t0 < args.seconds:
                time.sleep(min(args.every, max(0.0, args.seconds - (time.monotonic() - t0))))
                t = time.monotonic() - t0
                row = []
                for pid in all_endpoint_pids(server):
                    kb = private_kb(pid)
                    if kb is None:
                        continue
                    names[pid] = name_of(pid)
                    samples.setdefault(pid, []).append((t, kb))
                    row.append(f"{names[pid]}[{pid}]={kb}")
                print(f"t={t:6.1f}s answers={len(load.answers):7d} private kB: " + " ".join(sorted(row)),
                      flush=True)
        statuses = load.answers
    finally:
        server.stop()
        google.stop()

    counts = {}
    for a in statuses:
        counts[a[2]] = counts.get(a[2], 0) + 1
    print(f"\nsoak: {args.seconds:.0f} s, {len(statuses)} answers: "
          + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items(), key=lambda kv: str(kv[0]))))
    print("process                     first kB   last kB   growth kB (after warm-up)")
    bad = counts.get(500, 0) > 0
    warm = args.seconds / 10
    for pid, s in sorted(samples.items(), key=lambda kv: names[kv[0]]):
        after = [kb for t, kb in s if t >= warm] or [s[-1][1]]
        growth = after[-1] - after[0]
        flag = ""
        if args.max_growth_kb is not None and growth > args.max_growth_kb:
            flag, bad = "  <- over --max-growth-kb", True
        print(f"{names[pid] + '[' + str(pid) + ']':26s} {s[0][1]:9d} {s[-1][1]:9d} {growth:9d}{flag}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
