"""py_dicts.py - make bench's Python workload: build and drop dicts in a loop.

Usage: py_dicts.py N [READY_FILE GO_FILE]
With READY_FILE and GO_FILE: writes READY_FILE, waits for GO_FILE (so that leakmond can attach
first), then runs. Prints "seconds=S cpu=C" for the loop alone: wall-clock and the process's own
CPU time (what tracing costs the target itself, whatever else runs on the machine).
"""
import os
import sys
import time


def work(n):
    total = 0
    for i in range(n):
        d = {"id": i, "name": "item-%d" % i, "tags": [i, i + 1, i + 2]}
        e = dict(d)
        e["extra"] = {"k": i}
        total += len(e) + len(d["tags"])
    return total


def main():
    n = int(sys.argv[1])
    if len(sys.argv) > 3:
        with open(sys.argv[2], "w") as f:
            f.write("ready\n")
        while not os.path.exists(sys.argv[3]):
            time.sleep(0.01)
    t, c = time.perf_counter(), time.process_time()
    total = work(n)
    print("seconds=%.6f cpu=%.6f total=%d"
          % (time.perf_counter() - t, time.process_time() - c, total))


if __name__ == "__main__":
    main()
