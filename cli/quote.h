/* cli/quote.h - quoting for /bin/sh, and reading simple commands back.
 *
 * sh_quote is GNU parallel's quoting: a value made only of letters, digits
 * and - _ . + / stays as it is, the empty value becomes '', anything else
 * is put in single quotes (a ' inside becoming '"'"'). Whatever the value
 * holds -- spaces, ; | & $ ` newlines -- the shell sees one literal word.
 *
 * sh_simple_split recognises the commands that need no shell: words of
 * plain characters, single-quoted and backslash-escaped text, nothing the
 * shell would expand, redirect or treat as syntax, and a first word that
 * is neither a shell keyword nor a builtin that differs from the program
 * of that name. Such a command may be executed directly with the same
 * result as `/bin/sh -c`, which saves starting a shell per job. */
#ifndef WEFT_CLI_QUOTE_H
#define WEFT_CLI_QUOTE_H

#include "util.h"

#include <stdbool.h>

/* Appends the shell-quoted form of s[0..n) to out. */
void sh_quote(sbuf *out, const char *s, size_t n);

/* If cmd is a simple command, returns true and its words in *argv
 * (NULL-terminated, one malloc'd block: free(*argv) frees all). */
bool sh_simple_split(const char *cmd, char ***argv);

#endif
