"""busy_interp.py - a long-running Python program for py_attach.test.

Usage: busy_interp.py READY_FILE STOP_FILE

Three threads (the main one and two workers) build and drop dicts, lists and strings, and one
worker calls into C through ctypes (qsort with a Python comparison callback, so Python runs
inside a C call that released the GIL). Every round checks its own results. When STOP_FILE
appears, each thread stops and the program prints one line per thread with its round count
(how many does not matter) and its checks, then "ok" if every check passed, and exits 0.
"""
import ctypes
import ctypes.util
import os
import sys
import threading
import time

failures = []
rounds = {}


def work(name, seed, stop):
    n = 0
    while not os.path.exists(stop):
        d = {("k%d" % i): [i] * (i % 7) for i in range(200 + seed)}
        s = sum(len(v) for v in d.values())
        want = sum(i % 7 for i in range(200 + seed))
        if s != want:
            failures.append("%s: dict sum %d != %d" % (name, s, want))
        text = "".join(str(i) for i in range(100))
        if len(text) != 190:
            failures.append("%s: text length %d" % (name, len(text)))
        n += 1
    rounds[name] = n


callback_made = threading.Event()


def sorter(stop):
    libc = ctypes.CDLL(ctypes.util.find_library("c"))
    CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))

    def cmp(a, b):
        tmp = {"a": a[0], "b": b[0]}  # allocates inside the callback
        return (tmp["a"] > tmp["b"]) - (tmp["a"] < tmp["b"])

    c_cmp = CMP(cmp)
    callback_made.set()  # its executable page exists before READY_FILE does
    n = 0
    while not os.path.exists(stop):
        vals = [(i * 7919) % 101 for i in range(101)]
        arr = (ctypes.c_int * len(vals))(*vals)
        libc.qsort(arr, len(arr), ctypes.sizeof(ctypes.c_int), c_cmp)
        if list(arr) != sorted(vals):
            failures.append("sorter: qsort result wrong")
        n += 1
    rounds["sorter"] = n


def main():
    ready, stop = sys.argv[1], sys.argv[2]
    threads = [threading.Thread(target=work, args=("worker", 3, stop)),
               threading.Thread(target=sorter, args=(stop,))]
    for t in threads:
        t.start()
    callback_made.wait(30)
    with open(ready, "w") as f:
        f.write("ready\n")
    work("main", 0, stop)
    for t in threads:
        t.join()
    for name in sorted(rounds):
        print("%s rounds>0=%s" % (name, rounds[name] > 0))
    for f in failures[:5]:
        print("FAILED", f)
    print("ok" if not failures else "failures=%d" % len(failures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
