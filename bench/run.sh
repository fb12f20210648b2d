#!/bin/sh
# make bench: trace-mode cost measured side by side in one run on this machine.
#   floor     one ptrace stop round trip (int3 -> waitpid -> PTRACE_CONT), nothing else
#   bare      malloc+free pairs without leakmond (1 and 4 threads)
#   traced    the same workload started under leakmond, breakpoint and agent backends
#             (1 and 4 threads)
#   redis     redis-server under redis-benchmark: bare, attached (agent), after detach
#   agent     the in-process agent's cost per pair (bench/agent_inproc)
#   python    python3.11 building and dropping dicts, bare vs attached (bench/python.sh)
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

# the same workload bare, under the breakpoint backend and under the agent backend, side by side;
# then the agent alone with 100 times more pairs (the short run is mostly start-up for it), where
# 4 threads allocating flat out on 2 CPUs leave leakmond's one consumer thread a fraction of a CPU:
# what it cannot drain in time is lost, counted and printed (not a failure of the bench)
for threads in 1 4; do
	for backend in breakpoint agent agent-long; do
		pairs=$PAIRS
		[ "$backend" = agent-long ] && pairs=$((PAIRS * 100))
		per=$((pairs / threads))
		total=$((per * threads))
		bare=$("$B/workload" "$per" "$threads" | sed -n 's/.*seconds=//p')
		"$LEAKMOND" --backend "${backend%-long}" --no-syslog --no-text --interval 1s \
			--report "$work/r.json" -- "$B/workload" "$per" "$threads" >"$work/out" 2>"$work/err"
		traced=$(sed -n 's/.*seconds=//p' "$work/out")
		allocs=$(jq '.targets[0].heap.allocs' "$work/r.json")
		frees=$(jq '.targets[0].heap.frees' "$work/r.json")
		stops=$(jq '.targets[0].heap.stops' "$work/r.json")
		lost=$(jq '.targets[0].heap.lost_events' "$work/r.json")
		awk -v b="$bare" -v t="$traced" -v n="$total" -v s="$stops" -v f="$floor" -v th="$threads" \
			-v a="$allocs" -v fr="$frees" -v be="$backend" -v l="$lost" 'BEGIN {
			pair = t / n * 1e6
			printf "%-10s threads=%d pairs=%d: bare %.3f us/pair, traced %.3f us/pair (%.2fx bare, +%.0f ns/pair)",
				be, th, n, b / n * 1e6, pair, t / b, (t - b) / n * 1e9
			if (be == "breakpoint")
				printf ", %.2f stops/pair, %.2f floor round trips per pair, %.2f x floor per stop",
					s / n, pair / f, pair / (s / n) / f
			printf "; counted %d allocs %d frees, %d lost\n", a, fr, l
		}'
		# every call seen: the workload's pairs, plus the few libc makes for itself
		if [ "$backend" != agent-long ] && { [ "$lost" -ne 0 ] || [ "$allocs" -lt "$total" ] ||
			[ "$allocs" -gt $((total + 16)) ] || [ "$frees" -lt "$total" ]; }; then
			echo "LOST EVENTS ($backend): $allocs allocs / $frees frees for $total pairs, $lost lost"
			status=1
		fi
	done
done

if command -v strace >/dev/null 2>&1; then
	strace -c -o "$work/strace" "$LEAKMOND" --backend breakpoint --no-syslog --no-text --interval 1s \
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
	"$LEAKMOND" --backend breakpoint --no-syslog --no-text --interval 1s --depth "$d" \
		--report "$work/r.json" -- "$B/workload" 5000 1 40 >"$work/out" 2>"$work/err"
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
# the agent backend in this process (no ptrace): ns per malloc+free pair, bare vs through the
# agent's hooks (on, unsampled, a consumer draining a 2^21-event ring); fails if events were lost
"$B/agent_inproc" 1000000 5 21 || status=1

# a Python workload building and dropping dicts: bare vs the agent backend attached (CPython's
# allocator domains wrapped, sampled blocks with Python frames); prints the ratio
LEAKMOND=$LEAKMOND sh "$(dirname "$0")/python.sh"

# a real service: redis-server under redis-benchmark (SET/GET, 50 clients), bare, while the agent
# backend is attached, and after it detached; then the breakpoint backend for comparison
if command -v redis-server >/dev/null 2>&1 && command -v redis-benchmark >/dev/null 2>&1; then
	port=$((20000 + $$ % 10000))
	redis-server --port "$port" --save '' --appendonly no --daemonize no >"$work/redis.out" 2>&1 &
	rpid=$!
	for i in $(seq 1 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
	rps() { redis-benchmark -p "$port" -c 50 -n "${REDIS_REQUESTS:-200000}" -t set,get -q 2>/dev/null |
		awk '{ for (i = 1; i <= NF; i++) if ($i ~ /requests/) { s += $(i - 1); n++ } }
			END { printf "%.0f", n ? s / n : 0 }'; }
	bare=$(rps)
	for backend in agent breakpoint; do
		"$LEAKMOND" --backend "$backend" --pid "$rpid" --no-syslog --no-text --interval 1s \
			--report "$work/redis.json" >"$work/lm.out" 2>"$work/lm.err" &
		lm=$!
		sleep 2
		during=$(REDIS_REQUESTS=$([ "$backend" = agent ] && echo 200000 || echo 5000) rps)
		kill -TERM "$lm"
		wait "$lm"
		after=$(rps)
		lost=$(jq '.targets[0].heap.lost_events' "$work/redis.json")
		awk -v b="$bare" -v d="$during" -v a="$after" -v be="$backend" -v l="$lost" 'BEGIN {
			printf "redis %-10s bare %d req/s, attached %d req/s (%.3fx), after detach %d req/s (%.3fx); %d lost\n",
				be, b, d, d / b, a, a / b, l }'
	done
	kill -TERM "$rpid"
	wait "$rpid" 2>/dev/null
else
	echo "redis: redis-server/redis-benchmark not installed (apt-get install redis-server redis-tools), not measured"
fi
"$B/livemem" 2000000

# the symbolizer helper's memory: peak RSS of leakmond-sym while one leakmond traces 1, then 12
# copies of the demo program (libc's and the program's DWARF are parsed once per file, not once
# per process: 12 targets took ~202 MB before, ~22 MB since)
symmem() { # N
	pids=
	for i in $(seq 1 "$1"); do "${LEAKY:?}" 200 >/dev/null & pids="$pids $!"; done
	args=
	for p in $pids; do args="$args --pid $p"; done
	"$LEAKMOND" $args --interval 200ms --duration 8s --min-age 1s --no-syslog --no-text \
		--report "$work/symmem.json" >/dev/null 2>&1 &
	lm=$!
	hwm=0
	for i in $(seq 1 150); do
		h=$(pgrep -P "$lm" -x leakmond-sym | head -1)
		v=$([ -n "$h" ] && sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$h/status" 2>/dev/null)
		[ -n "$v" ] && [ "$v" -gt "$hwm" ] && hwm=$v
		kill -0 "$lm" 2>/dev/null || break
		sleep 0.1
	done
	wait "$lm"
	kill $pids 2>/dev/null
	wait $pids 2>/dev/null
	named=$(jq '[.targets[].leaks[] | select(.frames[0].function != null)] | length' "$work/symmem.json")
	echo "symbolizer helper: $1 traced processes, peak RSS $((hwm / 1024)) MiB, $named leaks named"
}
symmem 1
symmem 12
exit $status
