/* Shell quoting and the simple-command recogniser. */
#include "quote.h"

#include <stdlib.h>
#include <string.h>

static bool plain_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_' || c == '.' || c == '+' || c == '/';
}

void sh_quote(sbuf *out, const char *s, size_t n)
{
	if (n == 0) {
		sb_add(out, "''", 2);
		return;
	}
	size_t i = 0;
	while (i < n && plain_char((unsigned char)s[i]))
		i++;
	if (i == n) {
		sb_add(out, s, n);
		return;
	}
	/* 'text' with each ' as '"'"', then drop a leading or trailing ''. */
	size_t start = out->len;
	sb_addc(out, '\'');
	for (i = 0; i < n; i++) {
		if (s[i] == '\'')
			sb_add(out, "'\"'\"'", 5);
		else
			sb_addc(out, s[i]);
	}
	sb_addc(out, '\'');
	if (out->len - start >= 2 && out->s[start] == '\'' && out->s[start + 1] == '\'') {
		memmove(out->s + start, out->s + start + 2, out->len - start - 2);
		out->len -= 2;
	}
	if (out->len - start >= 2 && out->s[out->len - 1] == '\'' && out->s[out->len - 2] == '\'')
		out->len -= 2;
	out->s[out->len] = 0;
}

/* Characters that may appear unquoted in a simple command's words. */
static bool bare_char(unsigned char c)
{
	return plain_char(c) || c == ',' || c == ':' || c == '@' || c == '%' || c == '^' || c == '=' ||
	       c >= 0x80;
}

/* Words the shell treats itself: keywords, and builtins whose behaviour
 * may differ from the program of the same name (true and false are the
 * same unless asked for --help or --version, checked separately). */
static const char *const shell_words[] = {
    "!",     "{",      "}",      "case",   "do",       "done",   "elif",    "else",    "esac",     "fi",
    "for",   "if",     "in",     "then",   "until",    "while",  "select",  "[[",      "]]",       "function",
    ".",     ":",      "[",      "alias",  "bg",       "break",  "cd",      "command", "continue", "echo",
    "eval",  "exec",   "exit",   "export", "fc",       "fg",     "getopts", "hash",    "jobs",     "kill",
    "local", "printf", "pwd",    "read",   "readonly", "return", "set",     "shift",   "test",     "times",
    "trap",  "type",   "ulimit", "umask",  "unalias",  "unset",  "wait",    "source",  "let",      "builtin",
};

static bool is_shell_word(const char *w)
{
	for (size_t i = 0; i < sizeof shell_words / sizeof shell_words[0]; i++)
		if (strcmp(w, shell_words[i]) == 0)
			return true;
	return false;
}

bool sh_simple_split(const char *cmd, char ***argv)
{
	sbuf words = {0};
	size_t nwords = 0;
	bool in_word = false, ok = true, first_has_eq = false;
	for (const char *p = cmd; *p && ok; p++) {
		unsigned char c = (unsigned char)*p;
		if (c == ' ' || c == '\t') {
			if (in_word) {
				sb_addc(&words, 0);
				nwords++;
			}
			in_word = false;
			continue;
		}
		in_word = true;
		if (c == '\'') {
			const char *q = strchr(p + 1, '\'');
			if (!q)
				ok = false;
			else
				sb_add(&words, p + 1, (size_t)(q - p - 1)), p = q;
		} else if (c == '"') {
			const char *q = p + 1;
			while (*q && !strchr("\"$`\\", *q))
				q++;
			if (*q != '"')
				ok = false;
			else
				sb_add(&words, p + 1, (size_t)(q - p - 1)), p = q;
		} else if (c == '\\') {
			if (!p[1] || p[1] == '\n')
				ok = false;
			else
				sb_addc(&words, *++p);
		} else if (bare_char(c)) {
			if (c == '=' && nwords == 0)
				first_has_eq = true; /* an assignment, or close to one */
			sb_addc(&words, (char)c);
		} else {
			ok = false;
		}
	}
	if (in_word) {
		sb_addc(&words, 0);
		nwords++;
	}
	if (!ok || nwords == 0 || first_has_eq || !words.s[0] || is_shell_word(words.s)) {
		sb_free(&words);
		return false;
	}
	/* One block: the pointer array, then the words. */
	char **v = malloc((nwords + 1) * sizeof *v + words.len);
	if (!v) {
		sb_free(&words);
		return false;
	}
	char *data = (char *)(v + nwords + 1);
	memcpy(data, words.s, words.len);
	for (size_t i = 0; i < nwords; i++) {
		v[i] = data;
		data += strlen(data) + 1;
	}
	v[nwords] = NULL;
	sb_free(&words);
	bool truefalse = strcmp(v[0], "true") == 0 || strcmp(v[0], "false") == 0;
	for (size_t i = 1; truefalse && i < nwords; i++) {
		if (strcmp(v[i], "--help") == 0 || strcmp(v[i], "--version") == 0) {
			free(v);
			return false;
		}
	}
	*argv = v;
	return true;
}
