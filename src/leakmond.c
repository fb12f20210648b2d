/* leakmond.c - main: parse the command line, then run a monitoring session. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/signals.h"
#include "stack/symsvc.h"
#include "session/session.h"
#include "config/options.h"

int main(int argc, char **argv)
{
	struct options opts;
	char err[512];
	sigset_t mask;
	int r;

	if (argc >= 2 && strcmp(argv[1], SYMSVC_HELPER_ARG) == 0)
		symsvc_helper_exec_main(argc, argv); /* the symbolizer helper (symsvc.h) */
	r = options_parse(argc, argv, &opts, err, sizeof(err));
	if (r < 0) {
		fprintf(stderr, "leakmond: %s\nTry 'leakmond --help' for more information.\n", err);
		return EXIT_USAGE;
	}
	if (r == OPTIONS_HELP) {
		fputs(options_usage(), stdout);
		return 0;
	}
	if (r == OPTIONS_VERSION) {
		printf("leakmond %s\n"
		       "License GPL-3.0-or-later: GNU GPL version 3 or later "
		       "<https://gnu.org/licenses/gpl.html>.\n"
		       "This is free software: you are free to change and redistribute it.\n"
		       "There is NO WARRANTY, to the extent permitted by law.\n",
		       PACKAGE_VERSION);
		return 0;
	}
	log_set_level(opts.verbosity < 0 ? LOG_LEVEL_ERROR
		      : opts.verbosity == 0 ? LOG_LEVEL_WARNING
		      : opts.verbosity == 1 ? LOG_LEVEL_INFO
					    : LOG_LEVEL_DEBUG);

	/* Every signal leakmond handles arrives through its signalfd; a crash of its own runs the
	 * last-resort handler, which restores the traced processes before dying (signals.h). */
	signals_handled_set(&mask);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0) {
		perror("leakmond: sigprocmask");
		return EXIT_RUNTIME;
	}
	r = crash_handler_install();
	if (r < 0)
		fprintf(stderr, "leakmond: cannot install the crash handler (%s)\n", strerror(-r));
	signal(SIGPIPE, SIG_IGN);
	/* target files are parsed in a sandboxed helper (symsvc.h); LEAKMOND_SYMBOLIZER=inprocess
	 * keeps them here (debugging leakmond itself) */
	if (!getenv("LEAKMOND_SYMBOLIZER") || strcmp(getenv("LEAKMOND_SYMBOLIZER"), "inprocess")) {
		r = symsvc_start_exec("/proc/self/exe");
		if (r < 0)
			log_warning("the symbolizer helper cannot start (%s): symbolizing in process",
				    strerror(-r));
		symsvc_set_async(true); /* the session's loop never waits for names */
	}
	r = session_run(&opts);
	symsvc_stop();
	return r;
}
