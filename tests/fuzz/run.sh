#!/bin/sh
# Run one libFuzzer harness for a bounded time.
#   run.sh FUZZ_DIR SRCDIR TARGET SECONDS [WORKDIR]
# FUZZ_DIR holds fuzz_TARGET (tests/fuzz/build.sh). The inputs: WORKDIR (where new ones go; a
# temporary directory, deleted after, when not given), then tests/fuzz/corpus/TARGET and
# tests/fuzz/regress/TARGET, read only. A crash, leak, timeout (10 s for one input) or memory
# blow-up (2 GiB) is written to FUZZ_DIR/artifacts/ and makes the exit status non-zero; libFuzzer's
# output goes to FUZZ_DIR/fuzz-TARGET.out.
set -u
fuzz_dir=$1 srcdir=$2 target=$3 seconds=$4 work=${5:-}
bin=$fuzz_dir/fuzz_$target
[ -x "$bin" ] || { echo "run.sh: $bin not built" >&2; exit 99; }
tmp=
if [ -z "$work" ]; then
	tmp=$(mktemp -d)
	work=$tmp
fi
trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT
mkdir -p "$work" "$fuzz_dir/artifacts"
case $target in
symbols) max_len=16384 ;;
*) max_len=4096 ;;
esac
dirs="$srcdir/tests/fuzz/corpus/$target"
[ -d "$srcdir/tests/fuzz/regress/$target" ] && dirs="$dirs $srcdir/tests/fuzz/regress/$target"
supp=$srcdir/tests/fuzz/lsan.supp
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
[ -f "$supp" ] && export LSAN_OPTIONS="suppressions=$supp:print_suppressions=0"
echo "fuzz: $target for ${seconds}s (corpus: $dirs)"
"$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len="$max_len" \
	-print_final_stats=1 -artifact_prefix="$fuzz_dir/artifacts/$target-" "$work" $dirs \
	>"$fuzz_dir/fuzz-$target.out" 2>&1
status=$?
grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb)' "$fuzz_dir/fuzz-$target.out"
if [ "$status" -ne 0 ]; then
	echo "fuzz: $target FAILED (exit $status); input kept in $fuzz_dir/artifacts/, log:"
	tail -n 60 "$fuzz_dir/fuzz-$target.out"
	exit 1
fi
echo "fuzz: $target ok"
