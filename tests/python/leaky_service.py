"""leaky_service.py - a Python workload with known leaks and known non-leaks, for py_leaks.test.

Usage: leaky_service.py READY_FILE STOP_FILE [NATIVE_LIB]

Each iteration (paced at 20 ms) runs every pattern ten times, until STOP_FILE exists. Leaks: a dict cache that never evicts
(cache_put), a results list never trimmed (record_result), observers never unsubscribed
(subscribe_observer), and, with NATIVE_LIB, a C function called through ctypes that mallocs and
never frees (call_native). Controls: an LRU cache with a bound (lru_get), a deque with maxlen
(remember_recent), a cache that fills in the first iterations and then stops growing
(warm_lookup). The output does not depend on how long it ran (it checks the patterns' sizes): a
run under leakmond must print exactly what a bare run prints, and exit with the same status (5).
"""
import collections
import ctypes
import os
import sys
import time

_cache = {}
_results = []
_lru = collections.OrderedDict()
_recent = collections.deque(maxlen=200)
_warm = {}


class Subject:
    def __init__(self):
        self.observers = []

    def subscribe(self, obs):
        self.observers.append(obs)


class Observer:
    def __init__(self, n):
        self.n = n
        self.state = [n] * 24


_subject = Subject()


def cache_put(i):
    # leak: a cache keyed by a request id that is never evicted
    _cache[i] = "payload-%08d-" % i + "x" * 300


def record_result(i):
    # leak: results appended forever
    _results.append((i, "result-%d" % i * 8, [i] * 20))


def subscribe_observer(i):
    # leak: observers subscribed and never unsubscribed
    _subject.subscribe(Observer(i))


def lru_get(i):
    # control: bounded LRU
    key = i % 997
    if key in _lru:
        _lru.move_to_end(key)
        return _lru[key]
    value = "lru-%d-" % key + "y" * 300
    _lru[key] = value
    if len(_lru) > 150:
        _lru.popitem(last=False)
    return value


def remember_recent(i):
    # control: deque with maxlen (of strings: tuples would come from the interpreter's tuple
    # freelist, whose objects keep the site that first allocated them; see doc/design.md)
    _recent.append("recent-%d-" % i + "z" * 300)


def warm_lookup(i):
    # control: fills during the first 100 iterations, then lookups only
    key = i % 100
    if key not in _warm:
        _warm[key] = ["w" * 200 for _ in range(4)]
    return _warm[key]


def call_native(lib, i):
    # leak (native): a C function that mallocs and never frees, called from Python
    return lib.leaky_native_alloc(2048 + (i % 8))


def main():
    ready, stop = sys.argv[1], sys.argv[2]
    lib = None
    if len(sys.argv) > 3:
        lib = ctypes.CDLL(sys.argv[3])
        lib.leaky_native_alloc.restype = ctypes.c_void_p
        lib.leaky_native_alloc.argtypes = [ctypes.c_size_t]
    with open(ready, "w") as f:
        f.write("ready\n")
    total = 0
    i = 0
    while not os.path.exists(stop) or i < 50:
        for k in range(10):
            n = i * 10 + k
            cache_put(n)
            record_result(n)
            subscribe_observer(n)
            total += len(lru_get(n))
            remember_recent(n)
            total += len(warm_lookup(n))
            if lib is not None:
                call_native(lib, n)
        time.sleep(0.02)
        i += 1
    n = i * 10
    print("cache=%s results=%s observers=%s lru=%d recent=%d warm=%d total=%s"
          % (len(_cache) == n, len(_results) == n, len(_subject.observers) == n, len(_lru),
             len(_recent), len(_warm), total > 0))
    sys.stdout.flush()
    return 5


if __name__ == "__main__":
    sys.exit(main())
