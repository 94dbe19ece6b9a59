/* cli/feed.h - turning input sources into the arguments of each job.
 *
 * Sources form groups: a source linked with :::+ or ::::+ joins the group
 * of the one before it (values are paired, the shortest source sets the
 * length); --link puts every source in one group where shorter sources
 * wrap around. The feed yields every combination of one entry per group,
 * the last group varying fastest (nested loops, first source outermost).
 *
 * An entry's fields are its values, one per source, each split into
 * columns by --colsep (and trimmed as --trim says); a job takes one entry,
 * or -n of them, or as many as fit (-X, -m), and its arguments are the
 * concatenated fields: {1} is the first of them. */
#ifndef WEFT_CLI_FEED_H
#define WEFT_CLI_FEED_H

#include "input.h"
#include "opts.h"

#include <regex.h>
#include <stdbool.h>

enum feed_status { FEED_OK, FEED_EOF, FEED_WAIT };

typedef struct feed {
	sources *ss;
	size_t ngroups;
	size_t *gfirst, *gcount; /* sources of each group */
	size_t *glen;            /* entries per group (non-streaming) */
	size_t *idx;             /* the next combination */
	bool wrap;               /* --link */
	bool exhausted;
	long long total;   /* number of entries, -1 while unknown */
	long long emitted; /* entries handed out */
	regex_t re;
	bool has_re;
	bool trim_l, trim_r;
	bool skip_empty; /* -r */
	/* Entries given back (-X overflow), returned first, in order. */
	char **unget; /* their fields */
	size_t nunget;
	size_t *ucount; /* fields per entry */
	size_t nucount;
} feed;

void feed_init(feed *f, sources *ss, const options *o);
void feed_free(feed *f);

/* Appends the next entry's fields (malloc'd copies) to *v (*n of *cap).
 * FEED_WAIT: a streaming source has no complete value yet (read more);
 * FEED_EOF: no entries are left. */
enum feed_status feed_next(feed *f, char ***v, size_t *n, size_t *cap, size_t *nfields);

/* Gives back one entry (its nfields fields, taken by feed_next) so that
 * feed_next returns it again, before any entry given back earlier. */
void feed_unget(feed *f, char **fields, size_t nfields);

#endif
