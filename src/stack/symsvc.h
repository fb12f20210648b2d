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
 * whose lookups are requests to the helper (the helper runs the same code, brokered). leakmond's
 * session makes them asynchronous (symsvc_set_async): a pc not named yet reads "pending", the
 * helper's answers are read from the event loop, and the loop never waits for them (reports
 * written at the end wait, bounded, with symsvc_flush). Tools and tests use them synchronously
 * (each lookup waits for its answer, bounded by the budget). Requests are answered in order.
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

/* One request, the helper's own time (not the broker's). The first lookup in a large DWARF
 * (python3.11-dbg) took more than 5 s in the sanitizer build. LEAKMOND_SYMSVC_BUDGET_MS sets it
 * (tests). */
#define SYMSVC_BUDGET_MS 30000
#define SYMSVC_RESTARTS_MAX	 20   /* restarts in SYMSVC_RESTARTS_WINDOW_S at most, then none */
#define SYMSVC_RESTARTS_WINDOW_S 600  /* ... until the oldest is that old (symbols read unknown) */
#define SYMSVC_PAYLOAD_MAX	 (64U << 20)
#define SYMSVC_PENDING_MAX	 1024 /* requests sent and not answered (a few bytes each) */

/* Start the helper (once, before any target is attached). Returns 0, or -errno: then
 * symbolizers keep working inside this process, and the caller says so. */
int symsvc_start(void);

/* The same, the helper being leakmond's binary self executed afresh with SYMSVC_HELPER_ARG (a
 * fresh address space: nothing of leakmond's memory or of a target's mappings); main() calls
 * symsvc_helper_exec_main() when it sees that argument. */
#define SYMSVC_HELPER_ARG "--symbolizer-helper"
int symsvc_start_exec(const char *self);
_Noreturn void symsvc_helper_exec_main(int argc, char **argv);

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

/* ---- asynchronous use (the session) --------------------------------------------------------- */

/* Asynchronous lookups: a pc not known yet reads "pending" (sym_frame.is_pending) and its names
 * arrive later, through symsvc_dispatch(). Off (the default), a lookup waits for its answer
 * (bounded by the budget): tools and tests. */
void symsvc_set_async(bool is_async);
bool symsvc_is_async(void);

/* fn(old, new, ctx) whenever the helper's socket changes (a restart): the session watches new
 * (not -1) and forgets old (not -1) in its loop; called at once for the socket now. */
void symsvc_set_watch(void (*fn)(int old_fd, int new_fd, void *ctx), void *ctx);

/* Read what the helper sent (the socket is readable): answers go to their symbolizers, the
 * broker's requests are answered. Never waits. */
void symsvc_dispatch(void);

/* Kill a helper that overran its budget (call it now and then). */
void symsvc_tick(void);

/* Wait until every request was answered, at most ms milliseconds (and a helper that overruns its
 * budget meanwhile is killed). Returns 0, or -ETIMEDOUT with requests still pending. */
int symsvc_flush(unsigned ms);

/* ---- the client side, for symbols.c --------------------------------------------------------- */

/* An answer for (pc, is_return_address) of owner: n frames (strings valid during the call only)
 * with the helper symbolizer's cache_drops and module_changes in drops[0..1]; or frames NULL and
 * n a -errno: -EAGAIN (the helper failed meanwhile: ask again later), -ENOENT (no answer for this
 * pc), or the failure itself (-ETIMEDOUT, -EPIPE, -EPROTO: the helper failed on this pc twice in
 * a row: give it up). */
typedef void (*symsvc_deliver_fn)(void *owner, uint64_t pc, bool is_return_address,
				  const struct sym_frame *frames, int n, const uint64_t *drops);

/* The generation of the helper now running (0: none). Sids of another generation are gone. */
uint32_t symsvc_generation(void);

/* A symbolizer for pid in the helper, answering to deliver(owner, ...) (restarting the helper
 * when needed). Returns 0 with *ret_sid and *ret_gen, or -errno. */
int symsvc_open(pid_t pid, symsvc_deliver_fn deliver, void *owner, uint32_t *ret_sid,
		uint32_t *ret_gen);

/* Forget it (no answer awaited; answers on their way are dropped). */
void symsvc_close(uint32_t sid, uint32_t gen);

/* symbolizer_reset() of it. Returns 0 or -errno (-ESTALE: another generation). */
int symsvc_reset(uint32_t sid, uint32_t gen);

/* Ask for (pc, is_return_address); the answer comes through deliver. Returns 0, -ESTALE (another
 * generation: open again), -EBUSY (SYMSVC_PENDING_MAX requests pending: ask later) or -errno. */
int symsvc_request(uint32_t sid, uint32_t gen, uint64_t pc, bool is_return_address);

/* symbolizer_get_stats() of it (waits for the answer). Returns 0 or -errno. */
int symsvc_stats(uint32_t sid, uint32_t gen, struct sym_stats *ret);

#endif
