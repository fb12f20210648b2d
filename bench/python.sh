#!/bin/sh
# bench/python.sh (run by make bench): a Python workload that builds and drops dicts
# (bench/py_dicts.py) bare, and with leakmond's agent backend attached (CPython's allocator
# domains wrapped, Python frames recorded for sampled blocks). Bare and attached runs alternate,
# RUNS of each; the best of each is kept; prints the ratios of wall-clock time and of the
# target's own CPU time (on a loaded 2-CPU machine leakmond's consumer competes with the target
# for a CPU: the CPU ratio is what the hooks cost the target). Needs /usr/bin/python3.11 (or PYTHON).
set -u
LEAKMOND=${LEAKMOND:?}
PY=${PYTHON:-/usr/bin/python3.11}
N=${PY_BENCH_N:-1000000}
RUNS=${PY_BENCH_RUNS:-3}
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$PY" ]; then
	echo "python: $PY not installed (tools/setup-deps), not measured"
	exit 0
fi
work=$(mktemp -d)
lm=""
py=""
trap '[ -n "$lm" ] && kill -TERM "$lm" 2>/dev/null; [ -n "$py" ] && kill -TERM "$py" 2>/dev/null; rm -rf "$work"' EXIT

best() { sort -n | head -1; }

for r in $(seq 1 "$RUNS"); do
	"$PY" "$here/py_dicts.py" "$N" >"$work/bare.out"
	sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' "$work/bare.out" >>"$work/bare.wall"
	sed -n 's/.*cpu=\([0-9.]*\).*/\1/p' "$work/bare.out" >>"$work/bare.cpu"

	rm -f "$work/ready" "$work/go"
	"$PY" "$here/py_dicts.py" "$N" "$work/ready" "$work/go" >"$work/py.out" 2>&1 &
	py=$!
	i=0
	while [ ! -f "$work/ready" ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	"$LEAKMOND" -v --backend agent ${LEAKMOND_ARGS:-} --pid "$py" --no-syslog --no-text --interval 1s \
		--report "$work/r.json" >"$work/lm.out" 2>"$work/lm.err" &
	lm=$!
	i=0
	while ! grep -q 'watching' "$work/lm.err" && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	touch "$work/go"
	i=0
	while kill -0 "$py" 2>/dev/null && [ $i -lt 1200 ]; do sleep 0.05; i=$((i + 1)); done
	wait "$py"
	py=""
	i=0
	while kill -0 "$lm" 2>/dev/null && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
	kill -TERM "$lm" 2>/dev/null
	wait "$lm"
	lm=""
	grep -q 'allocator domains' "$work/lm.err" || echo "python: WARNING: the Python wrappers were not installed: $(head -3 "$work/lm.err")" >&2
	sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' "$work/py.out" >>"$work/traced.wall"
	sed -n 's/.*cpu=\([0-9.]*\).*/\1/p' "$work/py.out" >>"$work/traced.cpu"
	jq -r '"\(.targets[0].heap.allocs) \(.targets[0].heap.lost_events)"' "$work/r.json" >>"$work/counts"
done

awk -v b="$(best <"$work/bare.wall")" -v t="$(best <"$work/traced.wall")" \
	-v bc="$(best <"$work/bare.cpu")" -v tc="$(best <"$work/traced.cpu")" -v n="$N" 'BEGIN {
	printf "python dicts n=%d: bare %.3f s, agent attached %.3f s (%.2fx bare wall-clock); target CPU %.3f s vs %.3f s (%.2fx, +%.0f ns per iteration)\n",
		n, b, t, t / b, bc, tc, tc / bc, (tc - bc) / n * 1e9 }'
tail -1 "$work/counts" | awk '{ printf "  last attached run: %d allocations recorded (native + sampled Python), %d lost\n", $1, $2 }'
