/* symsvc.h - symbolization in a separate, sandboxed helper process.
 *
 * DWARF and ELF of a traced process are hostile input, and libdw is a large parser. leakmond runs
 * as root with CAP_SYS_PTRACE; the parsing runs instead in a helper forked at start-up, which:
 *   - opens no file and reads no /proc entry itself: its system call filter refuses open, openat,
 *     openat2, exec, ptrace, process_vm_*, socket and kill (it can read, map and close the
 *     descriptors it is handed, and talk over its one socket);
 *   - is handed every file by leakmond (SCM_RIGHTS), which opens it as the image module does
 *     (inside the target's root, regular files only, identity checked) and only when it is a file
 *     the target's maps name, or a debug file under a debug directory or beside such a file;
 *   - drops to uid/gid 65534 without capabilities when it can (as root outside a unit that
 *     forbids set*id), sets no_new_privs, and dies with leakmond (PR_SET_PDEATHSIG);
 *   - has a time budget per request: a helper that overruns it, or dies, is killed and
 *     restarted; a pc it did that on twice in a row is remembered as unknown, never asked again.
 *
 * symbols.c is the client: once symsvc_start() succeeded, symbolizer_new(pid) gives a symbolizer
 * whose lookups are requests to the helper (the helper runs the same code, brokered). Requests
 * are synchronous but bounded (SYMSVC_BUDGET_MS); only the cold path (report preparation, never
 * an event of the tracing backends) asks for symbols.
 *
 * The protocol is private to this file: a stream socket, messages of a header and a payload,
 * descriptors only with the replies that carry one. Everything the helper sends is checked.
 */
#ifndef LEAKMOND_SYMSVC_H
#define LEAKMOND_SYMSVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "stack/symbols.h"

#define SYMSVC_BUDGET_MS    5000 /* one request, the broker's answers included */
#define SYMSVC_RESTARTS_MAX 20	 /* after this many restarts symbolization stops (unknown) */
#define SYMSVC_PAYLOAD_MAX  (64U << 20)

/* Start the helper (once, before any target is attached). Returns 0, or -errno: then
 * symbolizers keep working inside this process, and the caller says so. */
int symsvc_start(void);

/* Stop the helper (bounded: killed if it does not exit at once). */
void symsvc_stop(void);

/* Whether symbolizers are to use the helper. */
bool symsvc_is_running(void);

/* The helper's figures. */
void symsvc_get_stats(struct sym_service_stats *ret);

/* Its pid (0: none), for tests. */
pid_t symsvc_pid(void);

/* Set the budget of a request in milliseconds (tests). */
void symsvc_set_budget_ms(unsigned ms);

/* ---- the client side, for symbols.c --------------------------------------------------------- */

/* The generation of the helper now running (0: none). Sids of another generation are gone. */
uint32_t symsvc_generation(void);

/* A symbolizer for pid in the helper (restarting it when needed). Returns 0 with *ret_sid and
 * *ret_gen, or -errno. */
int symsvc_open(pid_t pid, uint32_t *ret_sid, uint32_t *ret_gen);

/* Forget it (no answer awaited). */
void symsvc_close(uint32_t sid, uint32_t gen);

/* symbolizer_reset() of it. Returns 0 or -errno (-ESTALE: another generation). */
int symsvc_reset(uint32_t sid, uint32_t gen);

/* symbolizer_lookup() through it, into ret_frames[0..max-1], with the cache_drops and
 * module_changes of the helper's symbolizer in ret_drops[0] and [1] (when they change, results
 * cached earlier are stale). Strings are valid until the next
 * call of this module. Returns the number of frames, -ESTALE (another generation: open again),
 * -EAGAIN (the helper died or overran its budget on this pc and was killed: ask again later), the
 * error itself (-ETIMEDOUT, -EPIPE, -EPROTO) when that happened twice in a row on this pc (give it
 * up), or another -errno. */
int symsvc_lookup(uint32_t sid, uint32_t gen, uint64_t pc, bool is_return_address,
		  struct sym_frame *ret_frames, size_t max, uint64_t ret_drops[2]);

/* symbolizer_get_stats() of it. Returns 0 or -errno. */
int symsvc_stats(uint32_t sid, uint32_t gen, struct sym_stats *ret);

#endif
