/* cli/opts.h - the weft tool's command line, parsed.
 *
 * The syntax is GNU parallel's: options first (short ones may be bundled,
 * long ones may be abbreviated to a unique prefix and take their value
 * after '=' or as the next word), then the command, then input sources
 * separated by ::: (arguments), :::+ (arguments linked to the previous
 * source), :::: (argument files) and ::::+. Anything wrong is a one-line
 * error and exit status 255. */
#ifndef WEFT_CLI_OPTS_H
#define WEFT_CLI_OPTS_H

#include <stdbool.h>
#include <stddef.h>

enum src_kind { SRC_ARGS, SRC_FILE };

/* One input source as given on the command line. */
typedef struct src_spec {
	enum src_kind kind;
	bool linked;      /* :::+ or ::::+: paired with the previous source */
	char **args;      /* SRC_ARGS: the words (borrowed from argv) */
	size_t nargs;     /* SRC_ARGS: how many */
	const char *path; /* SRC_FILE: the file, "-" for standard input */
} src_spec;

enum out_mode { OUT_GROUP, OUT_LINE, OUT_UNGROUP };
enum halt_when { HALT_NEVER, HALT_SOON, HALT_NOW };
enum halt_why { HALT_FAIL, HALT_SUCCESS, HALT_DONE };
enum xmode { XM_NONE, XM_X, XM_M, XM_XARGS }; /* -X, -m, --xargs */

/* Names of the replacement strings (-I, --er, ... change them). */
typedef struct rpl_names {
	const char *arg, *noext, *base, *dir, *basenoext, *seq, *slot;
} rpl_names;

/* One step of the termination sequence: send sig, then wait ms. */
typedef struct term_step {
	int sig;
	int ms;
} term_step;

typedef struct options {
	char **cmd; /* command words (borrowed from argv); may be empty */
	size_t ncmd;
	src_spec *srcs; /* -a files first, then the ::: / :::: sources */
	size_t nsrcs;

	/* -j: jobs_kind 0 = absolute jobs_n (0 = as many as possible),
	 * 1 = percent of CPUs, 2 = CPUs + jobs_n (may be negative). */
	int jobs_kind;
	double jobs_n;
	bool jobs_given;

	enum out_mode out;
	bool keep_order;
	bool tag;
	const char *tagstring; /* NULL: the arguments */
	long long max_args;    /* -n/-N; -1 = not given */
	enum xmode xmode;
	long long max_chars; /* -s; 0 = the system's limit */
	bool quote;          /* -q */

	char delim; /* record delimiter; '\n' by default */
	bool delim_given;
	const char *colsep;  /* regex, NULL = none */
	const char *trim;    /* "n", "l", "r", "lr", "rl"; NULL = default */
	const char *eof_str; /* -E */
	bool no_run_if_empty;
	bool link; /* --link: all sources paired, shorter ones wrap */
	rpl_names rpl;

	double timeout;     /* 0 = none */
	double timeout_pct; /* --timeout N%: percent of the median runtime; 0 = none */
	long long retries;  /* total tries per job; 0 and 1 mean once */
	double delay;
	enum halt_when halt_when;
	enum halt_why halt_why;
	double halt_count; /* absolute count, or fraction when halt_pct */
	bool halt_pct;
	term_step termseq[16];
	int ntermseq;

	const char *joblog; /* without the leading '+' */
	bool joblog_append;
	bool resume, resume_failed;
	const char *results;

	bool dry_run;
	int verbose;       /* -v: print each command on stdout */
	bool print_stderr; /* -t: print each command on stderr */
	bool progress, eta, bar, force_progress;
	const char *tmpdir;
	const char *workdir;
} options;

/* Parses argv into o (zeroed here). Handles --help and --version itself
 * (prints and exits 0); any error prints one line and exits 255. */
void opts_parse(options *o, int argc, char **argv);

/* The number of job slots -j asks for, given the CPU count and (when -j 0)
 * the number of jobs, if known (-1 when not). Always >= 1. */
int opts_job_slots(const options *o, int ncpu, long long njobs);

#endif
