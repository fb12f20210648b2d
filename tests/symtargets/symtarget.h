/* symtarget.h - shared by the symbolizer test helpers (tests/symtargets/).
 *
 * Every allocation goes through my_malloc() in libsymlib.so, which records its return address
 * (a pc inside the caller) and the source line the caller says the call is on; sym_print_site()
 * prints them as one line "site NAME PC FILE LINE OUTER_LINE" for check_symbols.
 */
#ifndef SYMTARGET_H
#define SYMTARGET_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* malloc(size), remembering __builtin_return_address(0), file (the caller's __FILE__), line (the
 * caller's __LINE__ of this call) and outer_line (the line of the call of an inlined helper that
 * makes this call, else 0). */
void *my_malloc(size_t size, const char *file, int line, int outer_line);

/* Print "site NAME PC FILE LINE OUTER_LINE" for the last my_malloc() call, and flush. */
void sym_print_site(const char *name);

/* A function of libsymlib.so itself that calls my_malloc(). */
void *symlib_alloc(void);

/* The noinline function of the -O2 object whose inlined helper calls my_malloc(). */
void *inl_outer(void);

#ifdef __cplusplus
}
#endif

#endif
