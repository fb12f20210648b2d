/* badcfi - one leak whose deep frames cannot be unwound: deep_helper's CFI (.eh_frame) is wrong
 * on purpose, so unwinding through it reads a heap pointer, different at every call, as the
 * return address into its caller (issue 12, defect 8: every allocation got its own stack and the
 * leak was never reported). leak_leaf keeps a 64-byte block every PERIOD ms, through
 *	main -> run -> deep_helper (bad CFI) -> mid -> leak_leaf -> malloc
 * and churn_leaf allocates and frees through the same path, as a control.
 * Prints "ready", runs SECONDS (or until SIGTERM), then its counts.
 * Usage: badcfi [SECONDS=30] [PERIOD_MS=10] */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define NOINLINE __attribute__((noinline))

void deep_helper(void *garbage, int is_leak);

static volatile sig_atomic_t is_done;
void *volatile kept; /* the leaked blocks form a list from here */
void *volatile sink;
static unsigned long allocs, frees;

static void on_term(int sig)
{
	(void) sig;
	is_done = 1;
}

NOINLINE void leak_leaf(void)
{
	void **p = malloc(64);

	if (p) {
		allocs++;
		*p = kept;
		kept = p;
	}
}

NOINLINE void churn_leaf(void)
{
	sink = malloc(32);
	allocs += sink != NULL;
	frees += sink != NULL;
	free(sink);
}

NOINLINE void mid(int is_leak)
{
	if (is_leak)
		leak_leaf();
	else
		churn_leaf();
	__asm__ volatile("" ::: "memory"); /* not a tail call */
}

/* deep_helper(garbage, is_leak) calls mid(is_leak). Its CFI says the CFA is rsp + 32 after the
 * sub, where it really is rsp + 64: an unwinder takes the slot at rsp + 24, which holds garbage,
 * for the return address. */
__asm__(".text\n"
	".globl deep_helper\n"
	".type deep_helper, @function\n"
	"deep_helper:\n"
	"	.cfi_startproc\n"
	"	pushq %rbx\n"
	"	.cfi_def_cfa_offset 16\n"
	"	.cfi_offset %rbx, -16\n"
	"	subq $48, %rsp\n"
	"	.cfi_def_cfa_offset 32\n" /* wrong on purpose: 64 */
	"	movq %rdi, 8(%rsp)\n"
	"	movq %rdi, 16(%rsp)\n"
	"	movq %rdi, 24(%rsp)\n"
	"	movl %esi, %edi\n"
	"	call mid\n"
	"	addq $48, %rsp\n"
	"	.cfi_def_cfa_offset 16\n"
	"	popq %rbx\n"
	"	.cfi_def_cfa_offset 8\n"
	"	ret\n"
	"	.cfi_endproc\n"
	".size deep_helper, .-deep_helper\n");

NOINLINE void run(long seconds, long period_ms)
{
	struct timespec pause = {period_ms / 1000, (period_ms % 1000) * 1000000L};
	long rounds = seconds * 1000 / (period_ms > 0 ? period_ms : 1);

	for (long r = 0; r < rounds && !is_done; r++) {
		/* a heap address that changes every call (the newest leaked block): what the bad
		 * CFI reads as a return address */
		deep_helper(kept, 1);
		deep_helper(kept, 0);
		nanosleep(&pause, NULL);
	}
}

int main(int argc, char **argv)
{
	long seconds = argc > 1 ? atol(argv[1]) : 30;
	long period_ms = argc > 2 ? atol(argv[2]) : 10;

	signal(SIGTERM, on_term);
	printf("ready\n");
	fflush(stdout);
	run(seconds, period_ms);
	printf("counts allocs=%lu frees=%lu\n", allocs, frees);
	return 0;
}
