/* cli/template.h - the command line with its replacement strings.
 *
 * The command words are joined with spaces (GNU parallel's model: the
 * command is shell text) and scanned for replacement strings: {} {.} {/}
 * {//} {/.} {#} {%} (names changeable with -I and friends) and the
 * positional {n} {n.} {n/} {n//} {n/.} (n may be negative: from the end).
 * With none of them, " {}" is appended.
 *
 * Expanding a job's arguments quotes every substituted value for the shell
 * (sh_quote), except when the command begins with a replacement string
 * (the input then is the command) or with -q, where each command word is
 * expanded and then quoted as a whole. With -X the whitespace-separated
 * word around a {} is repeated once per argument. */
#ifndef WEFT_CLI_TEMPLATE_H
#define WEFT_CLI_TEMPLATE_H

#include "opts.h"
#include "util.h"

#include <stdbool.h>

enum xform { XF_NONE, XF_NOEXT, XF_BASE, XF_DIR, XF_BASENOEXT };

enum tok_kind {
	TK_LIT,   /* literal text */
	TK_SPACE, /* one whitespace character: separates -X context groups */
	TK_ARG,   /* {} and its forms; pos 0 = every argument */
	TK_SEQ,   /* {#} */
	TK_SLOT,  /* {%} */
	TK_WORD,  /* -q only: end of a command word */
};

typedef struct tok {
	enum tok_kind kind;
	enum xform xf;
	long pos;
	const char *lit;
	size_t len;
} tok;

typedef struct tpl {
	tok *t;
	size_t n;
	char *text; /* the joined command: TK_LIT tokens point into it */
	bool quote_args;
	bool quote_words; /* -q */
	bool context;     /* -X */
} tpl;

void tpl_init(tpl *t, const options *o);
void tpl_free(tpl *t);

/* Appends the command for one job to out. args may be empty (nargs 0). */
void tpl_expand(const tpl *t, sbuf *out, char *const *args, size_t nargs, long long seq, int slot);

/* An upper estimate of how much one more argument v lengthens the command
 * (for filling command lines with -X and -m). */
size_t tpl_arg_cost(const tpl *t, const char *v);

/* Appends value transformed by xf ({.} {/} {//} {/.}) to out. */
void apply_xform(sbuf *out, enum xform xf, const char *value);

#endif
