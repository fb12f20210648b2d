# Sourced by tests/fuzz/<target>.test: the short libFuzzer pass of make check, FUZZ_CHECK_SECONDS
# (default 30) on one target, starting from its kept corpus and regression inputs. Skipped (77)
# only when configure found no clang able to link libFuzzer (FUZZ_SKIP_REASON says why).
target=$1
if [ -n "${FUZZ_SKIP_REASON:-}" ]; then
	echo "SKIP: fuzz $target: $FUZZ_SKIP_REASON"
	exit 77
fi
[ -x "$FUZZ_DIR/fuzz_$target" ] || { echo "ERROR: $FUZZ_DIR/fuzz_$target not built"; exit 99; }
# at the lowest priority: the timing-sensitive integration tests running beside it in a parallel
# make check get the CPU first (the fuzzer only runs fewer inputs)
exec nice -n 19 sh "$top_srcdir/tests/fuzz/run.sh" "$FUZZ_DIR" "$top_srcdir" "$target" \
	"${FUZZ_CHECK_SECONDS:-30}"
