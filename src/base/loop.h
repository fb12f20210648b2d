/* loop.h - the event loop: epoll over file descriptors (signalfd, timerfd, pidfds, ...).
 *
 * One thread runs everything: handlers are called one event at a time, so a handler may add or
 * remove any descriptor, its own included, without the next dispatch seeing freed state.
 */
#ifndef LEAKMOND_LOOP_H
#define LEAKMOND_LOOP_H

#include <stdint.h>

struct loop;

/* Called when fd is ready; events are EPOLL* bits. A negative return stops the loop with it. */
typedef int (*loop_handler_fn)(int fd, uint32_t events, void *userdata);

/* Returns a new loop or NULL (out of memory or no epoll: errno says which). */
struct loop *loop_new(void);
struct loop *loop_free(struct loop *l);

/* Watch fd for input. Returns 0 or -errno (-EEXIST if already watched). */
int loop_add(struct loop *l, int fd, loop_handler_fn fn, void *userdata);
/* Stop watching fd (does not close it). Returns 0 or -ENOENT. */
int loop_remove(struct loop *l, int fd);

/* Dispatch until loop_quit() or a handler fails. Returns the quit code (>= 0) or the handler's
 * negative error. */
int loop_run(struct loop *l);
void loop_quit(struct loop *l, int code);

#endif
