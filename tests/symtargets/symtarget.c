/* symtarget.c - known call chains ending in my_malloc(), for check_symbols.
 *
 * Usage: symtarget [PLUGIN.so]
 * Prints one "site NAME PC FILE LINE OUTER_LINE" line per case (main -> chain_a -> chain_b ->
 * my_malloc, a static function, a function of libsymlib.so, an inlined helper), "addr malloc PC"
 * (a pc inside libc's malloc), "addr static_leaf PC" (the entry of static_leaf), then "ready".
 * Then for each line "plugin" read on stdin it dlopen()s PLUGIN.so, calls its plug_alloc() and
 * prints its site and "ready" again; "unplug" dlclose()s it and prints "ready". Exits at end of
 * input.
 */
/* The expected lines and call chains assume unoptimised code, whatever CFLAGS the build uses. */
#pragma GCC optimize("O0")

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "symtarget.h"

static void *keep[16];
static void *chain_a_pc; /* return address of chain_a's call of chain_b */
static int chain_a_line;

__attribute__((noinline)) static void *chain_b(int caller_line)
{
	void *p = my_malloc(100016, __FILE__, __LINE__, 0);

	chain_a_pc = __builtin_return_address(0);
	chain_a_line = caller_line;
	return p;
}

__attribute__((noinline)) static void *chain_a(void)
{
	void *p = chain_b(__LINE__);

	return p;
}

__attribute__((noinline)) static void *static_leaf(void)
{
	void *p = my_malloc(100024, __FILE__, __LINE__, 0);

	return p;
}

int main(int argc, char **argv)
{
	char line[256];
	void *(*plug_alloc)(void);
	void *h = NULL;

	keep[0] = chain_a();
	sym_print_site("chain_b");
	printf("site chain_a %p symtarget.c %d 0\n", chain_a_pc, chain_a_line);
	keep[1] = static_leaf();
	sym_print_site("static_leaf");
	keep[2] = symlib_alloc();
	sym_print_site("symlib_alloc");
	keep[3] = inl_outer();
	sym_print_site("inline");
	printf("addr malloc %p\n", (void *) ((char *) dlsym(RTLD_DEFAULT, "malloc") + 4));
	printf("addr static_leaf %p\n", (void *) static_leaf);
	printf("ready\n");
	fflush(stdout);

	while (fgets(line, sizeof(line), stdin)) {
		if (strcmp(line, "unplug\n") == 0 && h) {
			dlclose(h);
			h = NULL;
			printf("ready\n");
			fflush(stdout);
			continue;
		}
		if (strcmp(line, "plugin\n") != 0 || argc < 2 || h)
			continue;
		h = dlopen(argv[1], RTLD_NOW);
		if (!h) {
			printf("error %s\n", dlerror());
			fflush(stdout);
			continue;
		}
		*(void **) &plug_alloc = dlsym(h, "plug_alloc");
		keep[4] = plug_alloc();
		sym_print_site("plugin");
		printf("ready\n");
		fflush(stdout);
	}
	return 0;
}
