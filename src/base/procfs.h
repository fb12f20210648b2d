/* procfs.h - parsers of /proc text (status, stat, maps; pure), and the one reader of /proc files.
 *
 * Every function takes the complete text of one file (NUL-terminated) and returns -EBADMSG when the
 * text is truncated or malformed. No I/O, no logging.
 */
#ifndef LEAKMOND_PROCFS_H
#define LEAKMOND_PROCFS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define PROCFS_COMM_MAX 64
#define PROCFS_PF_KTHREAD 0x00200000U

struct proc_status {
	char name[PROCFS_COMM_MAX]; /* the Name: line (comm), escaped as the kernel prints it */
	char state;		    /* first letter of State: R S D T t Z X I */
	pid_t tgid;
	pid_t ppid;
	pid_t tracer_pid;
	bool has_mm; /* false for kernel threads and zombies: no Vm* lines */
	uint64_t vm_rss;
	uint64_t rss_anon;
	uint64_t rss_file;
	uint64_t vm_swap;
	unsigned threads;
};

/* Parse /proc/PID/status. Name, State, Tgid, PPid, TracerPid and Threads are required; the memory
 * lines are optional as a set (has_mm says whether VmRSS was present). Returns 0 or -EBADMSG. */
int procfs_parse_status(const char *text, struct proc_status *ret);

/* Parse /proc/PID/stat: the state letter and the flags field (PF_* bits). The comm field may
 * contain spaces and parentheses. Returns 0 or -EBADMSG. */
int procfs_parse_stat(const char *text, char *ret_state, unsigned *ret_flags);

/* Parse /proc/PID/stat: the CPU time the process has used, utime + stime, in clock ticks
 * (sysconf(_SC_CLK_TCK) per second). Returns 0 or -EBADMSG. */
int procfs_parse_stat_cpu(const char *text, uint64_t *ret_ticks);

struct proc_map {
	uint64_t start, end, offset;
	uint64_t inode;
	uint32_t dev_major, dev_minor;
	char perms[5];	  /* "r-xp" */
	const char *path; /* borrowed pointer into the text, not NUL-terminated; NULL if none */
	size_t path_len;
};

/* Iterate /proc/PID/maps: *cursor starts at the text; each call parses one line into *ret and
 * advances. Returns 1 with an entry, 0 at the end, -EBADMSG on a malformed line. */
int procfs_maps_next(const char **cursor, struct proc_map *ret);

/* The same, skipping the lines it does not understand (the rest of the maps still count).
 * Returns 1 with an entry, 0 at the end. */
int procfs_maps_next_valid(const char **cursor, struct proc_map *ret);

/* Total size of the [heap] mappings in /proc/PID/maps text (0 when there is none).
 * Returns 0 or -EBADMSG. */
int procfs_maps_heap(const char *text, uint64_t *ret_bytes);

/* The one cap on a /proc text file read whole: maps of the largest processes fit. */
#define PROCFS_TEXT_MAX ((size_t)64 << 20)

/* Read the whole file name relative to dirfd (a /proc/PID directory) into a new NUL-terminated
 * buffer the caller frees. The only reader of /proc text in leakmond: no layer above base opens
 * /proc files by hand. Returns the length; -EFBIG beyond PROCFS_TEXT_MAX; -ENOMEM; -errno of
 * open/read (-ENOENT, -ESRCH for a process that is gone). */
ssize_t procfs_read_at(int dirfd, const char *name, char **ret_text);

#endif
