#!/bin/sh
# Build the libFuzzer harnesses with clang (make fuzz and tests/fuzz/*.test run them).
#   build.sh OUTDIR SRCDIR CC "CPPFLAGS" "LIBS" LIBSOURCE...
# Every LIBSOURCE ending in .c (relative to SRCDIR) is compiled with
# -fsanitize=fuzzer-no-link,address,undefined into OUTDIR/obj/ (again only when it, or any header
# under SRCDIR/src, is newer than its object), archived, and each tests/fuzz/fuzz_<target>.c is
# linked against the archive with -fsanitize=fuzzer,address,undefined into OUTDIR/fuzz_<target>.
set -eu
flags="-std=gnu11 -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
if [ "$1" = --compile ]; then # build.sh --compile CC "CPPFLAGS" SOURCE OBJECT (one job)
	echo "  FUZZCC   ${4##*/}"
	$2 $flags -fsanitize=fuzzer-no-link,address,undefined $3 -c "$4" -o "$5.tmp"
	exec mv "$5.tmp" "$5"
fi
out=$1 srcdir=$2 cc=$3 cppflags=$4 libs=$5
shift 5
mkdir -p "$out/obj"
newest_h=$(ls -t "$srcdir"/src/*/*.h "$srcdir"/tests/fuzz/fuzz.h | head -n 1)
jobs=$(nproc 2>/dev/null || echo 2)
: >"$out/obj/.todo"
for src in "$@"; do
	case $src in *.c) ;; *) continue ;; esac
	obj=$out/obj/$(echo "$src" | tr / _ | sed 's/\.c$/.o/')
	if [ ! -f "$obj" ] || [ "$srcdir/$src" -nt "$obj" ] || [ "$newest_h" -nt "$obj" ]; then
		printf '%s\n%s\n' "$srcdir/$src" "$obj" >>"$out/obj/.todo"
	fi
done
xargs -r -n 2 -P "$jobs" sh "$0" --compile "$cc" "$cppflags" <"$out/obj/.todo"
rm -f "$out/obj/.todo" "$out/libfuzz.a.tmp"
ar rc "$out/libfuzz.a.tmp" "$out"/obj/*.o
mv "$out/libfuzz.a.tmp" "$out/libfuzz.a"
for h in "$srcdir"/tests/fuzz/fuzz_*.c; do
	name=$(basename "$h" .c)
	echo "  FUZZLD   $name"
	$cc $flags -fsanitize=fuzzer,address,undefined $cppflags -I"$srcdir/tests/fuzz" "$h" \
		"$out/libfuzz.a" $libs -o "$out/$name"
done
