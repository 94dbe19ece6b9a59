/* cli/input.h - input sources: ::: words, argument files, standard input.
 *
 * A source is a list of values (records). Words after ::: are values as
 * they are; files and standard input are split into records at the
 * delimiter (newline, NUL with -0, any byte with -d). A final record
 * without a delimiter counts; an empty final piece does not. A record equal
 * to -E's string ends the source.
 *
 * Files are read whole when opened, except the one source that may stream
 * (a pipe or terminal, when it is the only source): it is read as jobs need
 * values, so jobs start before the input ends and an endless input works.
 * Values of a streaming source are dropped once consumed. */
#ifndef WEFT_CLI_INPUT_H
#define WEFT_CLI_INPUT_H

#include "opts.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct source {
	char **vals; /* vals[head .. n) are available */
	size_t head; /* consumed values before head are freed (streaming only) */
	size_t n, cap;
	bool owned;  /* vals[i] are malloc'd (file records) */
	bool eof;    /* no more values will come */
	bool linked; /* paired with the previous source */
	int fd;      /* open while reading; -1 after */
	char *name;  /* for messages */
	char *buf;   /* unterminated tail of what was read */
	size_t blen, bcap;
} source;

typedef struct sources {
	source *s;
	size_t n;
	char delim;
	const char *eof_str;
	bool streaming; /* s[0] is read incrementally */
} sources;

/* Opens every source of o (standard input when o has none). Reads all of
 * them unless streaming is allowed and s[0] is a pipe or terminal and the
 * only source. An unreadable file is a one-line error and exit 255. */
void sources_open(sources *ss, const options *o, bool allow_streaming);

/* Reads once from s (one read(2), which blocks if nothing is available)
 * and returns the number of new values; 0 may also mean end of input
 * (s->eof). A read error is a one-line error and exit 255. */
size_t source_read_some(sources *ss, source *s);

/* Drops the first k available values of a streaming source. */
void source_consume(source *s, size_t k);

void sources_free(sources *ss);

#endif
