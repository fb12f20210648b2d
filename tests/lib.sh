# lib.sh - shared helpers of the integration tests (sourced by tests/*.test).
#
# Every process a test starts goes through start_bg, which records its PID; the EXIT trap stops
# each of them by PID (TERM, then KILL after a bounded wait), pass or fail. Every wait is bounded.
# Exit statuses: 0 pass, 1 fail, 77 skip, 99 harness error.

set -u

: "${LEAKMOND:?LEAKMOND is not set (run through make check)}"
: "${TARGETS_DIR:?TARGETS_DIR is not set (run through make check)}"

TEST_NAME=$(basename "$0" .test)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/leakmond-$TEST_NAME.XXXXXX") || exit 99
BG_PIDS=""

# TEST_BACKEND=breakpoint|agent: run the test with that backend (tests/bp_*.test run the trace
# tests again with the breakpoint backend; the default backend is the agent). A --backend the
# test gives itself comes later on the command line and wins.
if [ -n "${TEST_BACKEND:-}" ]; then
	printf '#!/bin/sh\nexec "%s" --backend %s "$@"\n' "$LEAKMOND" "$TEST_BACKEND" >"$WORK/leakmond"
	chmod +x "$WORK/leakmond"
	LEAKMOND=$WORK/leakmond
fi

cleanup() {
	local pid i
	for pid in $BG_PIDS; do
		kill -TERM "$pid" 2>/dev/null || continue
	done
	for pid in $BG_PIDS; do
		for i in $(seq 1 50); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	if [ -n "${KEEP_WORK:-}" ]; then
		echo "work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT

fail() {
	echo "FAIL: $TEST_NAME: $*" >&2
	for f in "$WORK"/*.err "$WORK"/*.out; do
		[ -s "$f" ] || continue
		echo "--- $f" >&2
		tail -n 20 "$f" >&2
	done
	exit 1
}

harness_error() {
	echo "ERROR: $TEST_NAME: $*" >&2
	exit 99
}

skip() {
	echo "SKIP: $TEST_NAME: $*" >&2
	exit 77
}

command -v jq >/dev/null 2>&1 || harness_error "jq is required (tools/setup-deps installs it)"

# start_bg NAME CMD [ARGS...]: run CMD in the background with stdout in $WORK/NAME.out and stderr
# in $WORK/NAME.err; its PID is stored in the variable NAME_pid and recorded for cleanup.
start_bg() {
	local name=$1
	shift
	"$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
	local pid=$!
	BG_PIDS="$BG_PIDS $pid"
	eval "${name}_pid=$pid"
}

# wait_for_line FILE REGEX SECONDS: wait until FILE has a line matching REGEX.
wait_for_line() {
	local file=$1 re=$2 secs=$3 i
	for i in $(seq 1 $((secs * 10))); do
		grep -Eq -- "$re" "$file" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# wait_exit PID SECONDS: wait for a background child to exit; its status in WAIT_STATUS.
# Returns 1 on timeout (the process is still running).
wait_exit() {
	local pid=$1 secs=$2 i
	for i in $(seq 1 $((secs * 10))); do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid"
			WAIT_STATUS=$?
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# run_leakmond SECONDS ARGS...: run leakmond in the foreground, bounded by SECONDS; stdout in
# $WORK/leakmond.out, stderr in $WORK/leakmond.err, exit status in STATUS.
run_leakmond() {
	local secs=$1
	shift
	timeout -k 5 "$secs" "$LEAKMOND" "$@" >"$WORK/leakmond.out" 2>"$WORK/leakmond.err"
	STATUS=$?
	[ "$STATUS" -ne 124 ] && [ "$STATUS" -ne 137 ] || fail "leakmond did not finish within ${secs}s"
}

# wait_blocked PID SECONDS: wait until process PID blocks SIGTERM (leakmond has started and reads
# its signals from its signalfd; a SIGTERM sent earlier would kill it by default).
wait_blocked() {
	local pid=$1 secs=$2 i blk
	for i in $(seq 1 $((secs * 20))); do
		blk=$(sed -n 's/^SigBlk:[[:space:]]*//p' "/proc/$pid/status" 2>/dev/null)
		[ -n "$blk" ] && [ $(( 0x$blk & 0x4000 )) -ne 0 ] && return 0
		sleep 0.05
	done
	return 1
}

# jq_check FILE FILTER MESSAGE: fail unless the jq filter is true for FILE.
jq_check() {
	jq -e "$2" "$1" >/dev/null 2>&1 || fail "$3 (jq: $2)"
}

# require_ptrace: skip (77) unless this test may trace processes it starts.
require_ptrace() {
	start_bg ptrace_probe_target sleep 30
	start_bg ptrace_probe "$TOOLS_DIR/ptrace_hold" "$ptrace_probe_target_pid"
	if ! wait_for_line "$WORK/ptrace_probe.out" holding 5; then
		skip "ptrace is not permitted here: $(cat "$WORK/ptrace_probe.err")"
	fi
	kill -TERM "$ptrace_probe_pid" "$ptrace_probe_target_pid" 2>/dev/null
}

# counts_of FILE: the "A F" of the last "counts allocs=A frees=F" line a target printed.
counts_of() {
	sed -n 's/^counts allocs=\([0-9]*\) frees=\([0-9]*\)$/\1 \2/p' "$1" | tail -n 1
}

# start_rsyslog: a real rsyslogd on a private socket ($WORK/log.sock) writing what it receives
# from facility daemon to $WORK/messages as "facility.severity program[pid]: msg". Skips (77)
# when rsyslogd or private mount namespaces are not available (see run_with_devlog).
start_rsyslog() {
	RSYSLOGD=$(command -v rsyslogd || echo /usr/sbin/rsyslogd)
	[ -x "$RSYSLOGD" ] || skip "rsyslogd is not installed (tools/setup-deps installs rsyslog)"
	command -v unshare >/dev/null || skip "unshare (util-linux) is not installed"
	mkdir -p "$WORK/up" "$WORK/ovl"
	unshare --mount --propagation private sh -c \
		"mount -t overlay overlay -o lowerdir=/dev,upperdir=$WORK/up,workdir=$WORK/ovl /dev" 2>/dev/null ||
		skip "cannot make a private mount namespace with an overlay on /dev (needs root or CAP_SYS_ADMIN)"
	rm -rf "$WORK/up" "$WORK/ovl"
	mkdir -p "$WORK/up" "$WORK/ovl"
	cat >"$WORK/rsyslog.conf" <<CONF
global(workDirectory="$WORK")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="$WORK/log.sock" CreatePath="on")
template(name="plain" type="string" string="%syslogfacility-text%.%syslogseverity-text% %programname%[%procid%]: %msg%\n")
daemon.* action(type="omfile" file="$WORK/messages" template="plain")
CONF
	start_bg rsyslogd "$RSYSLOGD" -n -f "$WORK/rsyslog.conf" -i "$WORK/rsyslogd.pid"
	for i in $(seq 1 50); do [ -S "$WORK/log.sock" ] && break; sleep 0.1; done
	[ -S "$WORK/log.sock" ] || harness_error "rsyslogd did not create its socket: $(cat "$WORK/rsyslogd.err")"
}

# run_with_devlog CMD [ARGS...]: exec CMD in a private mount namespace whose /dev/log is the
# private rsyslogd's socket (so the C library's syslog(3) reaches it, unchanged). The process
# keeps the caller's PID (unshare and sh both exec). Exit 99 if /dev/log cannot be set up.
run_with_devlog() {
	exec unshare --mount --propagation private sh -c '
		mount -t overlay overlay -o "lowerdir=/dev,upperdir=$1/up,workdir=$1/ovl" /dev || exit 99
		ln -sf "$1/log.sock" /dev/log || exit 99
		shift
		exec "$@"' sh "$WORK" "$@"
}
