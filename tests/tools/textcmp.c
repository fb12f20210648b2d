/* textcmp - check that a process's code is exactly its files' code.
 *
 * For every executable file mapping of PID, compares the bytes in /proc/PID/mem with the same
 * range of the file (through /proc/PID/map_files). Also fails on a tracer still attached and on
 * any anonymous executable mapping except leakmond's kept scratch page (src/remote/patch.h): at
 * most one, one page, marked with its magic, and disarmed (its trampoline starts with a nop);
 * and leakmond's in-process agent: at most one, marked with its magic, turned off.
 * Prints one line per difference. Exit status: 0 identical, 1 different, 2 usage or I/O error.
 * With --agent-hooks-ok, a 5-byte jmp into leakmond's agent that is off (what an unclean detach
 * leaves when a thread could not be stopped) is accepted instead of being a difference.
 * Usage: textcmp [--agent-hooks-ok] PID
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define AGENTS_MAX 4

static uint64_t agent_lo[AGENTS_MAX], agent_hi[AGENTS_MAX];
static int n_off_agents;

/* Whether code[0..5) is a jmp rel32 at address at into an agent that is off. */
static int is_agent_hook(const unsigned char *code, size_t avail, uint64_t at)
{
	int32_t rel;
	uint64_t to;

	if (avail < 5 || code[0] != 0xe9)
		return 0;
	memcpy(&rel, code + 1, 4);
	to = at + 5 + (uint64_t)(int64_t)rel;
	for (int k = 0; k < n_off_agents; k++)
		if (to >= agent_lo[k] && to < agent_hi[k])
			return 1;
	return 0;
}

int main(int argc, char **argv)
{
	char path[256], line[4096];
	static unsigned char a[1 << 16], b[1 << 16];
	int mem, bad = 0, checked = 0, scratch_pages = 0, agents = 0, is_hooks_ok = 0;
	FILE *maps, *status;

	if (argc == 3 && strcmp(argv[1], "--agent-hooks-ok") == 0) {
		is_hooks_ok = 1;
		argv++;
		argc--;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: textcmp [--agent-hooks-ok] PID\n");
		return 2;
	}
	snprintf(path, sizeof(path), "/proc/%s/status", argv[1]);
	status = fopen(path, "r");
	if (!status) {
		perror(path);
		return 2;
	}
	while (fgets(line, sizeof(line), status))
		if (strncmp(line, "TracerPid:", 10) == 0 && atoi(line + 10) != 0) {
			printf("still traced by pid %d\n", atoi(line + 10));
			bad = 1;
		}
	fclose(status);
	snprintf(path, sizeof(path), "/proc/%s/maps", argv[1]);
	maps = fopen(path, "r");
	snprintf(path, sizeof(path), "/proc/%s/mem", argv[1]);
	mem = open(path, O_RDONLY);
	if (!maps || mem < 0) {
		perror(path);
		return 2;
	}
	/* first the agents that are off, whose hooks --agent-hooks-ok accepts */
	while (is_hooks_ok && fgets(line, sizeof(line), maps)) {
		uint64_t start, end;
		unsigned char head[8];
		uint32_t state = 1;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64, &start, &end) == 2 && n_off_agents < AGENTS_MAX &&
		    pread(mem, head, 8, (off_t)start) == 8 && memcmp(head, "\177LKMGNT1", 8) == 0 &&
		    pread(mem, &state, sizeof(state), (off_t)(end + 176)) == (ssize_t)sizeof(state) &&
		    state == 0) {
			agent_lo[n_off_agents] = start;
			agent_hi[n_off_agents++] = end;
		}
	}
	rewind(maps);
	while (fgets(line, sizeof(line), maps)) {
		uint64_t start, end, off, inode;
		char perms[8], dev[16], file[4096] = "";
		int fd;

		if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %7s %" SCNx64 " %15s %" SCNu64 " %4095[^\n]",
			   &start, &end, perms, &off, dev, &inode, file) < 6)
			continue;
		if (perms[2] != 'x')
			continue;
		if (inode == 0) {
			unsigned char head[8], tramp = 0;

			if (file[0] == '[')
				continue;
			if (end - start == 4096 && pread(mem, head, 8, (off_t)start) == 8 &&
			    memcmp(head, "\177LKMSCR1", 8) == 0 &&
			    pread(mem, &tramp, 1, (off_t)(start + 512)) == 1) {
				if (tramp != 0x90) {
					printf("scratch page %" PRIx64 " left armed (trampoline 0x%02x)\n",
					       start, tramp);
					bad = 1;
				}
				if (++scratch_pages > 1) {
					printf("more than one scratch page (%" PRIx64 ")\n", start);
					bad = 1;
				}
				continue;
			}
			if (pread(mem, head, 8, (off_t)start) == 8 &&
			    memcmp(head, "\177LKMGNT1", 8) == 0) {
				/* leakmond's agent: kept, off (state 0 in its data, right after the
				 * code: struct agent_data's state at offset 176) */
				uint32_t state = 1;

				if (pread(mem, &state, sizeof(state), (off_t)(end + 176)) !=
					    (ssize_t)sizeof(state) ||
				    state != 0) {
					printf("agent %" PRIx64 " left on (state %u)\n", start, state);
					bad = 1;
				}
				if (++agents > 1) {
					printf("more than one agent (%" PRIx64 ")\n", start);
					bad = 1;
				}
				continue;
			}
			printf("anonymous executable mapping %" PRIx64 "-%" PRIx64 " left behind\n",
			       start, end);
			bad = 1;
			continue;
		}
		snprintf(path, sizeof(path), "/proc/%s/map_files/%" PRIx64 "-%" PRIx64, argv[1],
			 start, end);
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			perror(path);
			return 2;
		}
		for (uint64_t at = start; at < end; at += sizeof(a)) {
			size_t len = end - at < sizeof(a) ? end - at : sizeof(a);
			ssize_t na = pread(mem, a, len, (off_t)at);
			ssize_t nb = pread(fd, b, len, (off_t)(off + (at - start)));

			if (na < 0) {
				perror("read /proc/PID/mem");
				return 2;
			}
			if (nb < na) /* the mapping extends past the end of the file: zeros */
				memset(b + (nb < 0 ? 0 : nb), 0, (size_t)(na - (nb < 0 ? 0 : nb)));
			for (ssize_t i = 0; i < na; i++) {
				if (a[i] != b[i] && is_hooks_ok &&
				    is_agent_hook(a + i, (size_t)(na - i), at + (uint64_t)i)) {
					printf("%s: 0x%" PRIx64 " hooked into an agent that is off\n",
					       file, at + (uint64_t)i);
					i += 4;
					continue;
				}
				if (a[i] != b[i]) {
					printf("%s: byte at 0x%" PRIx64 " is 0x%02x, file has 0x%02x\n",
					       file, at + (uint64_t)i, a[i], b[i]);
					bad = 1;
					break;
				}
			}
		}
		close(fd);
		checked++;
	}
	fclose(maps);
	if (!checked) {
		printf("no executable file mapping checked\n");
		return 2;
	}
	return bad;
}
