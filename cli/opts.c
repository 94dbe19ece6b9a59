/* Parsing the weft command line (GNU parallel's syntax). */
#include "opts.h"

#include "util.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

enum {
	O_JOBS = 1,
	O_KEEP,
	O_NOKEEP,
	O_UNGROUP,
	O_GROUP,
	O_LINEBUF,
	O_TAG,
	O_TAGSTRING,
	O_MAXARGS,
	O_MAXRARGS,
	O_X,
	O_M,
	O_XARGS,
	O_MAXCHARS,
	O_QUOTE,
	O_NULL,
	O_DELIM,
	O_ARGFILE,
	O_COLSEP,
	O_TRIM,
	O_EOF,
	O_NORUNEMPTY,
	O_ARGSEP,
	O_ARGFILESEP,
	O_LINK,
	O_I,
	O_ER,
	O_BNR,
	O_DNR,
	O_BNER,
	O_SEQR,
	O_SLOTR,
	O_TIMEOUT,
	O_RETRIES,
	O_DELAY,
	O_HALT,
	O_TERMSEQ,
	O_JOBLOG,
	O_RESUME,
	O_RESUMEFAILED,
	O_RESULTS,
	O_DRYRUN,
	O_V,
	O_T,
	O_PROGRESS,
	O_ETA,
	O_BAR,
	O_FORCEPROG,
	O_TMPDIR,
	O_WORKDIR,
	O_HELP,
	O_VERSION,
	O_IGNORE,
	O_IGNORE_ARG,
	O_SILENT,
};

typedef struct optdef {
	const char *name; /* long name, NULL for a short-only option */
	char short_name;  /* 0 for a long-only option */
	bool has_arg;
	int id;
} optdef;

static const optdef table[] = {
    {"jobs", 'j', true, O_JOBS},
    {"max-procs", 'P', true, O_JOBS},
    {"keep-order", 'k', false, O_KEEP},
    {"no-keep-order", 0, false, O_NOKEEP},
    {"ungroup", 'u', false, O_UNGROUP},
    {"group", 0, false, O_GROUP},
    {"line-buffer", 0, false, O_LINEBUF},
    {"lb", 0, false, O_LINEBUF},
    {"tag", 0, false, O_TAG},
    {"tagstring", 0, true, O_TAGSTRING},
    {"max-args", 'n', true, O_MAXARGS},
    {"max-replace-args", 'N', true, O_MAXRARGS},
    {NULL, 'X', false, O_X},
    {NULL, 'm', false, O_M},
    {"xargs", 0, false, O_XARGS},
    {"max-chars", 's', true, O_MAXCHARS},
    {"quote", 'q', false, O_QUOTE},
    {"null", '0', false, O_NULL},
    {"delimiter", 'd', true, O_DELIM},
    {"arg-file", 'a', true, O_ARGFILE},
    {"colsep", 'C', true, O_COLSEP},
    {"trim", 0, true, O_TRIM},
    {NULL, 'E', true, O_EOF},
    {"no-run-if-empty", 'r', false, O_NORUNEMPTY},
    {"arg-sep", 0, true, O_ARGSEP},
    {"arg-file-sep", 0, true, O_ARGFILESEP},
    {"link", 0, false, O_LINK},
    {"xapply", 0, false, O_LINK},
    {NULL, 'I', true, O_I},
    {"extensionreplace", 0, true, O_ER},
    {"er", 0, true, O_ER},
    {"basenamereplace", 0, true, O_BNR},
    {"bnr", 0, true, O_BNR},
    {"dirnamereplace", 0, true, O_DNR},
    {"dnr", 0, true, O_DNR},
    {"basenameextensionreplace", 0, true, O_BNER},
    {"bner", 0, true, O_BNER},
    {"seqreplace", 0, true, O_SEQR},
    {"slotreplace", 0, true, O_SLOTR},
    {"timeout", 0, true, O_TIMEOUT},
    {"retries", 0, true, O_RETRIES},
    {"delay", 0, true, O_DELAY},
    {"halt", 0, true, O_HALT},
    {"halt-on-error", 0, true, O_HALT},
    {"termseq", 0, true, O_TERMSEQ},
    {"term-seq", 0, true, O_TERMSEQ},
    {"joblog", 0, true, O_JOBLOG},
    {"jl", 0, true, O_JOBLOG},
    {"resume", 0, false, O_RESUME},
    {"resume-failed", 0, false, O_RESUMEFAILED},
    {"results", 0, true, O_RESULTS},
    {"res", 0, true, O_RESULTS},
    {"dry-run", 0, false, O_DRYRUN},
    {NULL, 'v', false, O_V},
    {"verbose", 't', false, O_T},
    {"progress", 0, false, O_PROGRESS},
    {"eta", 0, false, O_ETA},
    {"bar", 0, false, O_BAR},
    {"force-progress", 0, false, O_FORCEPROG},
    {"tmpdir", 0, true, O_TMPDIR},
    {"workdir", 0, true, O_WORKDIR},
    {"wd", 0, true, O_WORKDIR},
    {"help", 'h', false, O_HELP},
    {"version", 'V', false, O_VERSION},
    {"silent", 0, false, O_SILENT},
    /* Accepted for compatibility; they change nothing for local jobs. */
    {"will-cite", 0, false, O_IGNORE},
    {"no-notice", 0, false, O_IGNORE},
    {"gnu", 0, false, O_IGNORE},
    {"plain", 0, false, O_IGNORE},
    {"env", 0, true, O_IGNORE_ARG},
};
#define NTABLE (sizeof table / sizeof table[0])

static const char usage_text[] =
    "Usage: weft [options] [command [arguments]] < list_of_arguments\n"
    "       weft [options] [command [arguments]] (::: args | :::+ args | :::: files | ::::+ files)...\n"
    "\n"
    "Runs command once per input (a line of standard input, or one combination of\n"
    "the ::: / :::: sources), several at a time; output is grouped per job.\n"
    "\n"
    "Replacement strings: {} input  {.} without extension  {/} basename  {//} dirname\n"
    "  {/.} basename without extension  {#} job number  {%} job slot\n"
    "  {n} {n.} {n/} {n//} {n/.} input source (or argument) n; no replacement string:\n"
    "  the arguments are appended. Every substituted value is quoted for the shell.\n"
    "\n"
    "Inputs:\n"
    "  ::: a b c          arguments; several ::: give every combination\n"
    "  :::+ 1 2 3         arguments linked pairwise with the previous source\n"
    "  :::: file, -a file argument file (- is standard input); ::::+ linked\n"
    "  -0, --null         inputs end with NUL        -d, --delimiter d  inputs end with d\n"
    "  -C, --colsep re    split inputs into columns {1} {2} ...\n"
    "  --link             pair all sources (shorter ones wrap)\n"
    "  -n, -N n           n arguments per job        -X, -m  as many as fit the line\n"
    "  -q, --quote        quote the command itself   -r  skip empty inputs\n"
    "\n"
    "Running:\n"
    "  -j, --jobs n       job slots: n, n% of the CPUs, +n, -n, 0 = as many as possible\n"
    "                     (default: one per CPU)\n"
    "  -k, --keep-order   print output in input order\n"
    "  --line-buffer      print whole lines as they come   -u, --ungroup  no buffering\n"
    "  --tag              prefix output lines with the arguments and a TAB\n"
    "  --timeout secs     kill a job's whole process tree after secs (N% of median)\n"
    "  --retries n        try a failing job up to n times\n"
    "  --delay secs       wait secs between job starts\n"
    "  --halt when,why=n  when: now|soon, why: fail|success|done, n: count or N%\n"
    "  --joblog file      log every job (GNU parallel's format; +file appends)\n"
    "  --resume           skip jobs already in the joblog\n"
    "  --resume-failed    also re-run the jobs that failed\n"
    "  --results dir      keep each job's stdout and stderr in dir\n"
    "  --dry-run          print the commands instead of running them (-v: print and run)\n"
    "  --progress, --eta, --bar   progress on stderr, when stderr is a terminal\n"
    "  --force-progress   show the progress display even when stderr is not a terminal\n"
    "\n"
    "Exit status: 0 all jobs succeeded, 1-100 the number of failed jobs, 101 more,\n"
    "255 usage error. See weft(1).\n";

static void usage_error(const char *fmt, const char *what)
{
	sbuf b = {0};
	sb_printf(&b, fmt, what);
	die("%s (see weft --help)", b.s);
}

/* The option named name[0..len), or a unique abbreviation of one (as
 * Getopt::Long allows); NULL when none, *ambiguous when several. */
static const optdef *find_long(const char *name, size_t len, bool *ambiguous)
{
	const optdef *hit = NULL;
	int nhit = 0;
	for (size_t i = 0; i < NTABLE; i++) {
		const char *n = table[i].name;
		if (!n || strncmp(n, name, len) != 0)
			continue;
		if (n[len] == 0)
			return &table[i]; /* exact match wins */
		if (!hit || hit->id != table[i].id)
			nhit++;
		hit = &table[i];
	}
	*ambiguous = nhit > 1;
	return nhit == 1 ? hit : NULL;
}

static const optdef *find_short(char c)
{
	for (size_t i = 0; i < NTABLE; i++)
		if (table[i].short_name == c)
			return &table[i];
	return NULL;
}

static int signal_number(const char *s, size_t len)
{
	static const struct {
		const char *name;
		int sig;
	} sigs[] = {{"TERM", SIGTERM}, {"KILL", SIGKILL}, {"INT", SIGINT},   {"HUP", SIGHUP},
	            {"QUIT", SIGQUIT}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2}, {"ALRM", SIGALRM},
	            {"CONT", SIGCONT}, {"STOP", SIGSTOP}, {"ABRT", SIGABRT}, {"PIPE", SIGPIPE}};
	if (len > 3 && strncmp(s, "SIG", 3) == 0)
		s += 3, len -= 3;
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		if (strlen(sigs[i].name) == len && strncmp(sigs[i].name, s, len) == 0)
			return sigs[i].sig;
	char *end;
	long v = strtol(s, &end, 10);
	if (end == s + len && v > 0 && v < 65)
		return (int)v;
	return -1;
}

static void parse_termseq(options *o, const char *v)
{
	o->ntermseq = 0;
	const char *p = v;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		int sig = signal_number(p, len);
		if (sig < 0 || o->ntermseq == 16)
			usage_error("bad --termseq '%s'", v);
		int ms = 0;
		p += len;
		if (*p == ',') {
			p++;
			char *end;
			long t = strtol(p, &end, 10);
			if (end == p || t < 0 || t > 3600000 || (*end && *end != ','))
				usage_error("bad --termseq '%s'", v);
			ms = (int)t;
			p = *end ? end + 1 : end;
		}
		o->termseq[o->ntermseq++] = (term_step){sig, ms};
	}
	if (!o->ntermseq)
		usage_error("bad --termseq '%s'", v);
}

static void parse_halt(options *o, const char *v)
{
	static const struct {
		const char *abbr, *full;
	} legacy[] = {{"0", "never"},
	              {"1", "soon,fail=1"},
	              {"2", "now,fail=1"},
	              {"-1", "soon,success=1"},
	              {"-2", "now,success=1"}};
	const char *spec = v;
	for (size_t i = 0; i < sizeof legacy / sizeof legacy[0]; i++)
		if (strcmp(v, legacy[i].abbr) == 0)
			spec = legacy[i].full;
	char buf[64];
	size_t len = strlen(spec);
	if (len && spec[len - 1] == '%' && strspn(spec, "0123456789") == len - 1) {
		snprintf(buf, sizeof buf, "soon,fail=%s", spec); /* --halt 5% */
		spec = buf;
	}
	if (strcmp(spec, "never") == 0) {
		o->halt_when = HALT_NEVER;
		return;
	}
	if (strncmp(spec, "now,", 4) == 0)
		o->halt_when = HALT_NOW, spec += 4;
	else if (strncmp(spec, "soon,", 5) == 0)
		o->halt_when = HALT_SOON, spec += 5;
	else
		usage_error("--halt must start with 'never', 'soon' or 'now': '%s'", v);
	if (strncmp(spec, "fail=", 5) == 0)
		o->halt_why = HALT_FAIL, spec += 5;
	else if (strncmp(spec, "success=", 8) == 0)
		o->halt_why = HALT_SUCCESS, spec += 8;
	else if (strncmp(spec, "done=", 5) == 0)
		o->halt_why = HALT_DONE, spec += 5;
	else
		usage_error("--halt needs fail=, success= or done=: '%s'", v);
	char *end;
	double n = strtod(spec, &end);
	if (end == spec || n < 0 || spec[0] == '-' || spec[0] == '+')
		usage_error("--halt needs a number or a percentage: '%s'", v);
	if (*end == '%' && end[1] == 0) {
		if (n > 100)
			usage_error("--halt percentage above 100: '%s'", v);
		o->halt_pct = true;
		o->halt_count = n / 100;
	} else if (*end == 0 && n == (long long)n) {
		o->halt_count = n;
	} else {
		usage_error("--halt needs a number or a percentage: '%s'", v);
	}
}

static void parse_jobs(options *o, const char *v)
{
	char *end;
	o->jobs_given = true;
	if (v[0] == '+' || v[0] == '-') {
		long n = strtol(v, &end, 10);
		if (end == v + 1 || *end || n < -1000000 || n > 1000000)
			usage_error("bad -j value '%s'", v);
		o->jobs_kind = 2, o->jobs_n = (double)n;
		return;
	}
	double n = strtod(v, &end);
	if (end == v || n < 0 || n > 1e6 || v[0] < '0' || v[0] > '9')
		usage_error("bad -j value '%s'", v);
	if (*end == '%' && end[1] == 0)
		o->jobs_kind = 1, o->jobs_n = n;
	else if (*end == 0 && n == (long)n)
		o->jobs_kind = 0, o->jobs_n = n;
	else
		usage_error("bad -j value '%s'", v);
}

/* -d's argument: a character or a C escape (\n \t \0 \\ \NNN octal,
 * \xHH). Returns the byte (0..255) or -1. */
static int parse_delim(const char *v)
{
	static const char esc[] = "ntrabfv\\", val[] = "\n\t\r\a\b\f\v\\";
	if (v[0] && !v[1])
		return (unsigned char)v[0];
	if (v[0] != '\\' || !v[1])
		return -1;
	const char *e = strchr(esc, v[1]);
	if (e && !v[2])
		return (unsigned char)val[e - esc];
	char *end;
	long c;
	if (v[1] == 'x') {
		c = strtol(v + 2, &end, 16);
		return (end == v + 2 || *end || end - v > 4) ? -1 : (int)c;
	}
	if (v[1] < '0' || v[1] > '7')
		return -1;
	c = strtol(v + 1, &end, 8);
	return (*end || end - v > 4 || c > 255) ? -1 : (int)c;
}

static long long parse_count_opt(const char *name, const char *v)
{
	long long n;
	if (!parse_count(v, 1LL << 40, &n))
		usage_error("bad number for %s", name);
	return n;
}

static double parse_duration_opt(const char *name, const char *v)
{
	double d;
	if (!parse_duration(v, &d))
		usage_error("bad duration for %s", name);
	return d;
}

static void add_src(options *o, src_spec s)
{
	o->srcs = xrealloc(o->srcs, (o->nsrcs + 1) * sizeof *o->srcs);
	o->srcs[o->nsrcs++] = s;
}

static void apply(options *o, const optdef *d, const char *v, const char **argsep, const char **filesep)
{
	const char *name = d->name ? d->name : (char[]){'-', d->short_name, 0};
	switch (d->id) {
	case O_JOBS:
		parse_jobs(o, v);
		break;
	case O_KEEP:
		o->keep_order = true;
		break;
	case O_NOKEEP:
		o->keep_order = false;
		break;
	case O_UNGROUP:
		o->out = OUT_UNGROUP;
		break;
	case O_GROUP:
		o->out = OUT_GROUP;
		break;
	case O_LINEBUF:
		o->out = OUT_LINE;
		break;
	case O_TAG:
		o->tag = true;
		break;
	case O_TAGSTRING:
		o->tag = true, o->tagstring = v;
		break;
	case O_MAXARGS:
	case O_MAXRARGS:
		o->max_args = parse_count_opt(name, v);
		break;
	case O_X:
		o->xmode = XM_X;
		break;
	case O_M:
		o->xmode = XM_M;
		break;
	case O_XARGS:
		o->xmode = XM_XARGS;
		break;
	case O_MAXCHARS:
		o->max_chars = parse_count_opt(name, v);
		if (o->max_chars < 1)
			usage_error("bad number for %s", name);
		break;
	case O_QUOTE:
		o->quote = true;
		break;
	case O_NULL:
		o->delim = 0, o->delim_given = true;
		break;
	case O_DELIM: {
		int c = parse_delim(v);
		if (c < 0)
			usage_error("bad delimiter '%s' (one character or a C escape)", v);
		o->delim = (char)c, o->delim_given = true;
		break;
	}
	case O_ARGFILE:
		add_src(o, (src_spec){.kind = SRC_FILE, .path = v});
		break;
	case O_COLSEP:
		o->colsep = v;
		break;
	case O_TRIM:
		if (strcmp(v, "n") && strcmp(v, "l") && strcmp(v, "r") && strcmp(v, "lr") && strcmp(v, "rl"))
			usage_error("--trim takes n, l, r, lr or rl, not '%s'", v);
		o->trim = v;
		break;
	case O_EOF:
		o->eof_str = v;
		break;
	case O_NORUNEMPTY:
		o->no_run_if_empty = true;
		break;
	case O_ARGSEP:
		*argsep = v;
		break;
	case O_ARGFILESEP:
		*filesep = v;
		break;
	case O_LINK:
		o->link = true;
		break;
	case O_I:
		o->rpl.arg = v;
		break;
	case O_ER:
		o->rpl.noext = v;
		break;
	case O_BNR:
		o->rpl.base = v;
		break;
	case O_DNR:
		o->rpl.dir = v;
		break;
	case O_BNER:
		o->rpl.basenoext = v;
		break;
	case O_SEQR:
		o->rpl.seq = v;
		break;
	case O_SLOTR:
		o->rpl.slot = v;
		break;
	case O_TIMEOUT: {
		size_t len = strlen(v);
		if (len > 1 && v[len - 1] == '%') {
			char *end;
			double p = strtod(v, &end);
			if (end != v + len - 1 || !(p > 0) || p > 1e6)
				usage_error("bad duration for %s", name);
			o->timeout_pct = p;
		} else {
			o->timeout = parse_duration_opt(name, v);
		}
		break;
	}
	case O_RETRIES:
		o->retries = parse_count_opt(name, v);
		break;
	case O_DELAY:
		o->delay = parse_duration_opt(name, v);
		break;
	case O_HALT:
		parse_halt(o, v);
		break;
	case O_TERMSEQ:
		parse_termseq(o, v);
		break;
	case O_JOBLOG:
		o->joblog_append = v[0] == '+';
		o->joblog = v + o->joblog_append;
		if (!*o->joblog)
			usage_error("%s needs a file name", name);
		break;
	case O_RESUME:
		o->resume = true;
		break;
	case O_RESUMEFAILED:
		o->resume_failed = true;
		break;
	case O_RESULTS:
		o->results = v;
		break;
	case O_DRYRUN:
		o->dry_run = true;
		break;
	case O_V:
		o->verbose++;
		break;
	case O_T:
		o->print_stderr = true;
		break;
	case O_SILENT:
		o->verbose = 0;
		break;
	case O_PROGRESS:
		o->progress = true;
		break;
	case O_ETA:
		o->eta = true;
		break;
	case O_BAR:
		o->bar = true;
		break;
	case O_FORCEPROG:
		o->force_progress = true;
		break;
	case O_TMPDIR:
		o->tmpdir = v;
		break;
	case O_WORKDIR:
		o->workdir = v;
		break;
	case O_HELP:
		fputs(usage_text, stdout);
		exit(0);
	case O_VERSION:
		printf("weft %s\n", WEFT_VERSION);
		exit(0);
	default:
		break;
	}
}

static int sep_kind(const char *w, const char *argsep, const char *filesep, bool *linked)
{
	size_t la = strlen(argsep), lf = strlen(filesep);
	*linked = false;
	if (strcmp(w, argsep) == 0)
		return SRC_ARGS + 1;
	if (strcmp(w, filesep) == 0)
		return SRC_FILE + 1;
	if (strncmp(w, argsep, la) == 0 && strcmp(w + la, "+") == 0)
		return *linked = true, SRC_ARGS + 1;
	if (strncmp(w, filesep, lf) == 0 && strcmp(w + lf, "+") == 0)
		return *linked = true, SRC_FILE + 1;
	return 0;
}

void opts_parse(options *o, int argc, char **argv)
{
	*o = (options){.delim = '\n', .max_args = -1};
	o->rpl = (rpl_names){"{}", "{.}", "{/}", "{//}", "{/.}", "{#}", "{%}"};
	const char *argsep = ":::", *filesep = "::::";
	int i = 1;
	for (; i < argc; i++) {
		const char *a = argv[i];
		bool linked;
		if (sep_kind(a, argsep, filesep, &linked))
			break;
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		if (a[0] != '-' || a[1] == 0)
			break;
		if (a[1] == '-') {
			const char *name = a + 2, *eq = strchr(name, '=');
			size_t len = eq ? (size_t)(eq - name) : strlen(name);
			bool ambiguous;
			const optdef *d = find_long(name, len, &ambiguous);
			if (!d) {
				sbuf b = {0};
				sb_add(&b, a, eq ? (size_t)(eq - a) : strlen(a));
				usage_error(ambiguous ? "ambiguous option '%s'" : "unknown option '%s'", b.s);
			}
			const char *v = NULL;
			if (d->has_arg) {
				if (eq)
					v = eq + 1;
				else if (i + 1 < argc)
					v = argv[++i];
				else
					usage_error("option '--%s' needs a value", d->name);
			} else if (eq) {
				usage_error("option '--%s' takes no value", d->name);
			}
			apply(o, d, v, &argsep, &filesep);
			continue;
		}
		for (const char *c = a + 1; *c; c++) {
			const optdef *d = find_short(*c);
			if (!d) {
				char bad[3] = {'-', *c, 0};
				usage_error("unknown option '%s'", bad);
			}
			if (!d->has_arg) {
				apply(o, d, NULL, &argsep, &filesep);
				continue;
			}
			const char *v;
			if (c[1])
				v = c + 1;
			else if (i + 1 < argc)
				v = argv[++i];
			else {
				char bad[3] = {'-', *c, 0};
				usage_error("option '%s' needs a value", bad);
			}
			apply(o, d, v, &argsep, &filesep);
			break;
		}
	}
	/* The command: every word up to the first separator. */
	o->cmd = argv + i;
	for (bool linked; i < argc && !sep_kind(argv[i], argsep, filesep, &linked); i++)
		o->ncmd++;
	/* The sources. */
	while (i < argc) {
		bool linked;
		int k = sep_kind(argv[i], argsep, filesep, &linked) - 1;
		int start = ++i;
		while (i < argc && !sep_kind(argv[i], argsep, filesep, &(bool){0}))
			i++;
		if (k == SRC_ARGS) {
			add_src(o, (src_spec){.kind = SRC_ARGS,
			                      .linked = linked,
			                      .args = argv + start,
			                      .nargs = (size_t)(i - start)});
		} else {
			if (i == start)
				usage_error("'%s' needs at least one file", argv[start - 1]);
			for (int f = start; f < i; f++)
				add_src(o, (src_spec){.kind = SRC_FILE, .linked = linked, .path = argv[f]});
		}
	}
	if ((o->resume || o->resume_failed) && !o->joblog)
		die("--resume and --resume-failed need --joblog (see weft --help)");
	if (o->keep_order && o->out == OUT_UNGROUP)
		o->keep_order = false; /* -u prints as it comes: no order to keep */
}

int opts_job_slots(const options *o, int ncpu, long long njobs)
{
	double n;
	if (!o->jobs_given)
		n = ncpu;
	else if (o->jobs_kind == 1)
		n = ncpu * o->jobs_n / 100;
	else if (o->jobs_kind == 2)
		n = ncpu + o->jobs_n;
	else
		n = o->jobs_n;
	if (o->jobs_given && o->jobs_kind == 0 && o->jobs_n == 0) {
		/* -j 0: as many as possible, bounded by the open-file limit
		 * (each running job holds about six descriptors). */
		struct rlimit rl;
		long long cap = 1024;
		if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
			cap = ((long long)rl.rlim_cur - 32) / 6;
		if (cap > 1024)
			cap = 1024;
		if (njobs >= 0 && njobs < cap)
			cap = njobs;
		n = (double)cap;
	}
	if (n < 1)
		n = 1;
	if (n > 100000)
		n = 100000;
	return (int)n;
}
