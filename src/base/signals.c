/* signals.c - the signals leakmond handles, and its crash handler. See signals.h. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/signals.h"
#include "base/util.h"

static const int terminating[] = { SIGINT,  SIGTERM, SIGQUIT, SIGALRM,	 SIGVTALRM, SIGPROF,
				   SIGPWR,  SIGXCPU, SIGXFSZ, SIGSTKFLT, SIGIO };
static const int crashing[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGSYS, SIGTRAP };

void signals_handled_set(sigset_t *ret)
{
	sigemptyset(ret);
	sigaddset(ret, SIGCHLD);
	sigaddset(ret, SIGHUP);
	sigaddset(ret, SIGUSR1);
	sigaddset(ret, SIGUSR2);
	for (size_t i = 0; i < ARRAY_SIZE(terminating); i++)
		sigaddset(ret, terminating[i]);
	for (int s = SIGRTMIN; s <= SIGRTMAX; s++)
		sigaddset(ret, s);
}

bool signals_is_terminating(int sig)
{
	for (size_t i = 0; i < ARRAY_SIZE(terminating); i++)
		if (terminating[i] == sig)
			return true;
	return sig >= SIGRTMIN && sig <= SIGRTMAX;
}

const char *signals_name(int sig, char *buf, size_t len)
{
	const char *abbrev = sigabbrev_np(sig);

	if (abbrev)
		snprintf(buf, len, "SIG%s", abbrev);
	else if (sig >= SIGRTMIN && sig <= SIGRTMAX)
		snprintf(buf, len, "SIGRTMIN+%d", sig - SIGRTMIN);
	else
		snprintf(buf, len, "signal %d", sig);
	return buf;
}

#define RESCUES_MAX 4
#define ALTSTACK_SIZE (256 * 1024)

static struct {
	crash_rescue_fn fn;
	void *userdata;
} rescues[RESCUES_MAX];
static volatile sig_atomic_t is_crashing;
static char altstack[ALTSTACK_SIZE] __attribute__((aligned(16))); /* the crash handler's stack */
static sigjmp_buf *volatile guard;

bool crash_try(void (*fn)(void *), void *arg)
{
	sigjmp_buf jb;
	sigjmp_buf *volatile outer = guard;
	bool is_ok = true;

	if (sigsetjmp(jb, 1) == 0) {
		guard = &jb;
		fn(arg);
	} else {
		is_ok = false;
	}
	guard = outer;
	return is_ok;
}

static void run_rescue(void *arg)
{
	size_t i = (size_t)(uintptr_t)arg;

	if (rescues[i].fn)
		rescues[i].fn(rescues[i].userdata);
}

static void on_crash(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	if (is_crashing) {
		/* a fault inside a rescue step: skip that step */
		if (guard && (sig == SIGSEGV || sig == SIGBUS))
			siglongjmp(*guard, 1);
		signal(sig, SIG_DFL);
		raise(sig);
		_exit(128 + sig);
	}
	is_crashing = 1;
	{
		static const char msg[] = "leakmond: crashed; restoring the traced processes\n";

		(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	}
	for (size_t i = 0; i < RESCUES_MAX; i++)
		(void)crash_try(run_rescue, (void *)(uintptr_t)i);
	/* die of the signal, as without the handler (a core dump if enabled) */
	signal(sig, SIG_DFL);
	{
		sigset_t set;

		sigemptyset(&set);
		sigaddset(&set, sig);
		sigprocmask(SIG_UNBLOCK, &set, NULL);
	}
	raise(sig);
	_exit(128 + sig);
}

#ifdef __SANITIZE_ADDRESS__
void __sanitizer_set_death_callback(void (*callback)(void));

/* AddressSanitizer ends the process without a signal: rescue the targets first all the same. */
static void on_sanitizer_death(void)
{
	if (is_crashing)
		return;
	is_crashing = 1;
	for (size_t i = 0; i < RESCUES_MAX; i++)
		(void)crash_try(run_rescue, (void *)(uintptr_t)i);
}
#endif

int crash_handler_install(void)
{
	static bool is_installed;
	struct sigaction sa;
	stack_t ss;

	if (is_installed)
		return 0;
	ss.ss_sp = altstack;
	ss.ss_size = sizeof(altstack);
	ss.ss_flags = 0;
	if (sigaltstack(&ss, NULL) < 0)
		return -errno;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_crash;
	sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(crashing); i++)
		if (sigaction(crashing[i], &sa, NULL) < 0)
			return -errno;
#ifdef __SANITIZE_ADDRESS__
	__sanitizer_set_death_callback(on_sanitizer_death);
#endif
	is_installed = true;
	return 0;
}

int crash_rescue_add(crash_rescue_fn fn, void *userdata)
{
	for (size_t i = 0; i < RESCUES_MAX; i++) {
		if (!rescues[i].fn) {
			rescues[i].userdata = userdata;
			__atomic_store_n(&rescues[i].fn, fn, __ATOMIC_SEQ_CST);
			return 0;
		}
	}
	return -ENOSPC;
}

void crash_rescue_remove(crash_rescue_fn fn, void *userdata)
{
	for (size_t i = 0; i < RESCUES_MAX; i++)
		if (rescues[i].fn == fn && rescues[i].userdata == userdata)
			__atomic_store_n(&rescues[i].fn, NULL, __ATOMIC_SEQ_CST);
}
