#!/bin/sh
# Make the seed corpus of the symbols fuzzer: small ELF files, with and without debug info.
# The files are committed under tests/fuzz/corpus/symbols/ (1-4 KiB each); run this again only
# to change them: tests/fuzz/make-elf-seeds.sh [OUTDIR=tests/fuzz/corpus/symbols]
#   dwarf5.so / dwarf4.so   shared object, -O2 -g (an inlined call chain), DWARF 5 / 4
#   dwarf_zlib.so           the same with zlib-compressed debug sections (-gz)
#   dwarf_eh.so             DWARF plus .eh_frame and a build-id
#   nodebug.so              no DWARF, .symtab only
#   stripped.so             .dynsym only
#   exec_dwarf              a static ET_EXEC at a fixed address, -O0 -g
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/corpus/symbols}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"
cat >"$work/seed.c" <<'SRC'
/* a tiny module: a static function with an inlined call chain, and a global one */
volatile int seed_sink;

static inline __attribute__((always_inline)) int inner(int x)
{
	for (int i = 0; i < x; i++)
		seed_sink += i;
	return seed_sink;
}

static inline __attribute__((always_inline)) int outer(int x)
{
	return inner(x) * 3;
}

static __attribute__((noinline)) int leaf(int x)
{
	return outer(x) + 1;
}

int seed_entry(int x)
{
	return leaf(x) + outer(x + 1);
}
SRC
cd "$work"
cc=${CC:-gcc}
common="-nostdlib -fdebug-prefix-map=$work=/seed -Wl,-z,noseparate-code -Wl,-z,norelro"
so="$common -fPIC -shared -fno-asynchronous-unwind-tables -Wl,--build-id=none"
$cc -O2 -g -gdwarf-5 $so -o dwarf5.so seed.c
$cc -O2 -g -gdwarf-4 $so -o dwarf4.so seed.c
$cc -O2 -g -gz=zlib $so -o dwarf_zlib.so seed.c
$cc -O2 -g $common -fPIC -shared -fasynchronous-unwind-tables -Wl,--build-id -o dwarf_eh.so seed.c
$cc -O2 $so -o nodebug.so seed.c
strip -s -o stripped.so nodebug.so
$cc -O0 -g $common -static -no-pie -fno-asynchronous-unwind-tables -Wl,--build-id=none \
	-Wl,-e,seed_entry -o exec_dwarf seed.c
for f in dwarf5.so dwarf4.so dwarf_zlib.so dwarf_eh.so nodebug.so stripped.so exec_dwarf; do
	objcopy --remove-section=.comment --remove-section=.note.gnu.property "$f" "$out/$f"
done
ls -l "$out"
