#!/bin/sh
# make bench: trace-mode cost measured side by side in one run on this machine.
#   floor     one ptrace stop round trip (int3 -> waitpid -> PTRACE_CONT), nothing else
#   bare      malloc+free pairs without leakmond (1 and 4 threads)
#   traced    the same workload started under leakmond (1 and 4 threads)
# Prints us per traced pair, stops per pair, the pair's cost in floor round trips, syscalls per
# stop (strace -c on leakmond, when strace is installed), and checks that no call was lost.
set -u
B=${BENCH_DIR:?}
LEAKMOND=${LEAKMOND:?}
PAIRS=${PAIRS:-20000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0

set -- $("$B/ptrace_floor" 20000 | sed 's/[a-z_]*=//g')
floor=$1 floor_regs=$2
echo "floor: ${floor} us per ptrace stop round trip (${floor_regs} us with GETREGS+SETREGS)"

for threads in 1 4; do
	per=$((PAIRS / threads))
	bare=$("$B/workload" "$per" "$threads" | sed -n 's/.*seconds=//p')
	"$LEAKMOND" --no-syslog --no-text --interval 1s --report "$work/r.json" \
		-- "$B/workload" "$per" "$threads" >"$work/out" 2>"$work/err"
	traced=$(sed -n 's/.*seconds=//p' "$work/out")
	allocs=$(jq '.targets[0].heap.allocs' "$work/r.json")
	frees=$(jq '.targets[0].heap.frees' "$work/r.json")
	stops=$(jq '.targets[0].heap.stops' "$work/r.json")
	total=$((per * threads))
	awk -v b="$bare" -v t="$traced" -v n="$total" -v s="$stops" -v f="$floor" -v th="$threads" \
		-v a="$allocs" -v fr="$frees" 'BEGIN {
		pair = t / n * 1e6
		printf "threads=%d pairs=%d: bare %.3f us/pair, traced %.1f us/pair (%.0fx), %.2f stops/pair, %.2f floor round trips per pair, %.2f x floor per stop; counted %d allocs %d frees\n",
			th, n, b / n * 1e6, pair, t / b, s / n, pair / f, pair / (s / n) / f, a, fr
	}'
	# every call seen: the workload's pairs, plus the few libc makes for itself (stdio, threads)
	if [ "$allocs" -lt "$total" ] || [ "$allocs" -gt $((total + 16)) ] || [ "$frees" -lt "$total" ]; then
		echo "LOST EVENTS: $allocs allocs / $frees frees for $total pairs"
		status=1
	fi
done

if command -v strace >/dev/null 2>&1; then
	strace -c -o "$work/strace" "$LEAKMOND" --no-syslog --no-text --interval 1s \
		--report "$work/r.json" -- "$B/workload" 5000 1 >/dev/null 2>&1
	calls=$(awk '$NF == "total" {print $(NF-2)}' "$work/strace")
	stops=$(jq '.targets[0].heap.stops' "$work/r.json")
	awk -v c="$calls" -v s="$stops" 'BEGIN { printf "syscalls per stop: %.2f (%d syscalls, %d stops)\n", c / s, c, s }'
	grep -E 'ptrace|wait4|pread64|pwrite64|epoll_wait|read ' "$work/strace" | awk '{printf "  %-12s %s\n", $NF, $(NF-1) == "" ? $4 : $4}'
else
	echo "syscalls per stop: strace not installed, not measured"
fi
# unwinding: the same single-threaded workload 40 calls deep, stacks kept at --depth 1 (just the
# caller) and 8/16/32 frames: the difference per traced malloc is the unwind's cost
base=""
for d in 1 8 16 32; do
	"$LEAKMOND" --no-syslog --no-text --interval 1s --depth "$d" --report "$work/r.json" \
		-- "$B/workload" 5000 1 40 >"$work/out" 2>"$work/err"
	t=$(sed -n 's/.*seconds=//p' "$work/out")
	[ -n "$base" ] || base=$t
	awk -v t="$t" -v b="$base" -v d="$d" -v f="$floor" 'BEGIN {
		printf "depth %2d: %.1f us/pair, unwind +%.1f us per malloc over depth 1 (%.2f x floor)\n",
			d, t / 5000 * 1e6, (t - b) / 5000 * 1e6, (t - b) / 5000 * 1e6 / f }'
done

# leakmond's own memory per live block: at the live table's maximum load, just after a doubling,
# and at the 2 million blocks of issue 12
"$B/livemem" 786432
"$B/livemem" 1000000
"$B/livemem" 2000000
exit $status
