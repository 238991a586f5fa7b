"""Kill process groups together with every process descended from their members.

reap(groups): SIGKILL every process whose process group is in `groups`, and every descendant of
one, even one that moved to a group or session of its own (playwright starts Chromium detached).
The tree is read from /proc before anything is killed, so nothing is orphaned out of reach.

As a script (the e2e watchdog): `reaper.py FILE` blocks until its stdin reaches EOF (pytest,
which holds the pipe's other end, is gone, however it went), then reaps the groups listed in
FILE (one decimal number a line) and deletes FILE.
"""

import os
import signal
import sys


def _processes():
    """{pid: (ppid, pgid)} for every process /proc shows now."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name) as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()   # after "pid (comm) "
        table[int(name)] = (int(fields[1]), int(fields[2]))
    return table


def reap(groups):
    groups = set(groups)
    table = _processes()
    doomed = {pid for pid, (_, pgid) in table.items() if pgid in groups}
    grew = True
    while grew:
        children = {pid for pid, (ppid, _) in table.items() if ppid in doomed} - doomed
        doomed |= children
        grew = bool(children)
    doomed.discard(os.getpid())
    for pid in doomed:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass


if __name__ == "__main__":
    sys.stdin.read()
    with open(sys.argv[1]) as f:
        reap(int(line) for line in f.read().split())
    os.unlink(sys.argv[1])
