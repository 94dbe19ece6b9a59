/* Parsing and expanding the command template. */
#include "template.h"

#include "quote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* {.}: drop the last '.' and what follows, unless a '/' follows it
 * (GNU parallel's s:\.[^/.]*$::). */
static void strip_ext(sbuf *out, const char *s, size_t n)
{
	const char *dot = NULL;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '.')
			dot = s + i;
	if (dot && !memchr(dot, '/', n - (size_t)(dot - s)))
		n = (size_t)(dot - s);
	sb_add(out, s, n);
}

/* {/}: GNU parallel's s:.*\/::, where '.' does not match a newline: the
 * removed span starts at the beginning of the line holding the first '/'
 * and ends at the last '/' of that line. */
static size_t base_start(const char *s, size_t n, size_t *from)
{
	const char *slash = memchr(s, '/', n);
	if (!slash) {
		*from = 0;
		return 0;
	}
	size_t f = (size_t)(slash - s), start = f;
	while (start > 0 && s[start - 1] != '\n')
		start--;
	size_t last = f;
	for (size_t i = f; i < n && s[i] != '\n'; i++)
		if (s[i] == '/')
			last = i;
	*from = start;
	return last + 1 - start; /* length removed */
}

/* {//}: Perl's File::Basename::dirname, as GNU parallel uses it. */
static void dirname_of(sbuf *out, const char *s, size_t n)
{
	for (int pass = 0; pass < 2; pass++) {
		const char *slash = NULL;
		for (size_t i = 0; i < n; i++)
			if (s[i] == '/')
				slash = s + i;
		size_t dlen = slash ? (size_t)(slash - s) + 1 : 0;
		size_t blen = n - dlen;
		const char *d = slash ? s : "./";
		if (!slash)
			dlen = 2;
		while (dlen > 1 && d[dlen - 1] == '/') /* keep at least one char */
			dlen--;
		if (blen || pass == 1) {
			sb_add(out, d, dlen);
			return;
		}
		s = d, n = dlen; /* "a/" -> look at "a" again */
	}
}

void apply_xform(sbuf *out, enum xform xf, const char *v)
{
	size_t n = strlen(v), from, cut;
	switch (xf) {
	case XF_NONE:
		sb_add(out, v, n);
		break;
	case XF_NOEXT:
		strip_ext(out, v, n);
		break;
	case XF_DIR:
		dirname_of(out, v, n);
		break;
	case XF_BASE:
	case XF_BASENOEXT: {
		cut = base_start(v, n, &from);
		sbuf b = {0};
		sb_add(&b, v, from);
		sb_add(&b, v + from + cut, n - from - cut);
		if (xf == XF_BASE)
			sb_add(out, b.s, b.len);
		else
			strip_ext(out, b.s, b.len);
		sb_free(&b);
		break;
	}
	}
}

static void add_tok(tpl *t, size_t *cap, tok k)
{
	xgrow(&t->t, cap, t->n + 1, sizeof *t->t);
	t->t[t->n++] = k;
}

/* Matches a replacement string at p; fills k and returns its length. */
static size_t match_rpl(const options *o, const char *p, tok *k)
{
	struct {
		const char *name;
		enum tok_kind kind;
		enum xform xf;
	} names[] = {
	    {o->rpl.arg, TK_ARG, XF_NONE},
	    {o->rpl.noext, TK_ARG, XF_NOEXT},
	    {o->rpl.base, TK_ARG, XF_BASE},
	    {o->rpl.dir, TK_ARG, XF_DIR},
	    {o->rpl.basenoext, TK_ARG, XF_BASENOEXT},
	    {o->rpl.seq, TK_SEQ, XF_NONE},
	    {o->rpl.slot, TK_SLOT, XF_NONE},
	};
	size_t best = 0;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		size_t len = strlen(names[i].name);
		if (len > best && strncmp(p, names[i].name, len) == 0) {
			best = len;
			*k = (tok){.kind = names[i].kind, .xf = names[i].xf};
		}
	}
	if (best)
		return best;
	/* Positional: {n} {n.} {n/} {n//} {n/.} with n != 0. */
	if (p[0] != '{')
		return 0;
	const char *q = p + 1;
	bool neg = *q == '-';
	q += neg;
	if (*q < '1' || *q > '9')
		return 0;
	long pos = 0;
	while (*q >= '0' && *q <= '9' && pos < 100000000)
		pos = pos * 10 + (*q++ - '0');
	static const struct {
		const char *suffix;
		enum xform xf;
	} forms[] = {
	    {"}", XF_NONE}, {".}", XF_NOEXT}, {"/}", XF_BASE}, {"//}", XF_DIR}, {"/.}", XF_BASENOEXT}};
	for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
		size_t len = strlen(forms[i].suffix);
		if (strncmp(q, forms[i].suffix, len) == 0) {
			*k = (tok){.kind = TK_ARG, .xf = forms[i].xf, .pos = neg ? -pos : pos};
			return (size_t)(q - p) + len;
		}
	}
	return 0;
}

/* Tokenizes text[0..n) onto t; returns whether a replacement string was
 * found, and sets *before_space when one comes before any whitespace or
 * '=' (GNU parallel then leaves the values unquoted). */
static bool scan(tpl *t, size_t *cap, const options *o, const char *text, bool split_space, bool *first)
{
	bool found = false, seen_space = false;
	const char *lit = text;
	const char *p = text;
	while (*p) {
		tok k;
		size_t len = match_rpl(o, p, &k);
		bool space = split_space && (*p == ' ' || *p == '\t' || *p == '\n');
		if (!len && !space) {
			if (*p == '=')
				seen_space = true;
			p++;
			continue;
		}
		if (p > lit)
			add_tok(t, cap, (tok){.kind = TK_LIT, .lit = lit, .len = (size_t)(p - lit)});
		if (space) {
			add_tok(t, cap, (tok){.kind = TK_SPACE, .lit = p, .len = 1});
			seen_space = true;
			p++;
		} else {
			if (!found && !seen_space)
				*first = true;
			found = true;
			add_tok(t, cap, k);
			p += len;
		}
		lit = p;
	}
	if (p > lit)
		add_tok(t, cap, (tok){.kind = TK_LIT, .lit = lit, .len = (size_t)(p - lit)});
	return found;
}

void tpl_init(tpl *t, const options *o)
{
	*t = (tpl){.quote_words = o->quote, .context = o->xmode == XM_X};
	size_t cap = 0;
	sbuf text = {0};
	for (size_t i = 0; i < o->ncmd; i++) {
		if (i)
			sb_addc(&text, o->quote ? 0 : ' ');
		sb_adds(&text, o->cmd[i]);
	}
	bool found = false, first = false;
	if (o->ncmd == 0) {
		/* No command: each input is the command. */
		sb_adds(&text, o->rpl.arg);
	}
	t->text = sb_take(&text);
	size_t total = strlen(t->text);
	if (o->quote) {
		/* Words separated by NULs above: tokenize each on its own. */
		for (size_t i = 0, off = 0; i < (o->ncmd ? o->ncmd : 1); i++) {
			const char *w = t->text + off;
			bool f = false;
			found |= scan(t, &cap, o, w, false, &f);
			add_tok(t, &cap, (tok){.kind = TK_WORD});
			off += strlen(w) + 1;
		}
	} else {
		found = scan(t, &cap, o, t->text, true, &first);
	}
	(void)total;
	if (!found) {
		/* No replacement string: the arguments go at the end. */
		if (o->quote) {
			add_tok(t, &cap, (tok){.kind = TK_ARG});
			add_tok(t, &cap, (tok){.kind = TK_WORD});
		} else {
			add_tok(t, &cap, (tok){.kind = TK_SPACE, .lit = " ", .len = 1});
			add_tok(t, &cap, (tok){.kind = TK_ARG});
		}
	}
	t->quote_args = !o->quote && !first;
}

void tpl_free(tpl *t)
{
	free(t->t);
	free(t->text);
	*t = (tpl){0};
}

static void put_value(const tpl *t, sbuf *out, enum xform xf, const char *v, bool quote)
{
	if (!quote) {
		apply_xform(out, xf, v);
		return;
	}
	sbuf tmp = {0};
	apply_xform(&tmp, xf, v);
	sh_quote(out, tmp.s ? tmp.s : "", tmp.len);
	sb_free(&tmp);
}

/* Expands tokens [a, b) with the job's arguments. one: in a -X context
 * group, the single argument {} stands for (NULL: all of them). */
static void expand_range(const tpl *t, sbuf *out, size_t a, size_t b, char *const *args, size_t nargs,
                         const char *one, long long seq, int slot, bool quote)
{
	for (size_t i = a; i < b; i++) {
		const tok *k = &t->t[i];
		switch (k->kind) {
		case TK_LIT:
		case TK_SPACE:
			sb_add(out, k->lit, k->len);
			break;
		case TK_SEQ:
			sb_printf(out, "%lld", seq);
			break;
		case TK_SLOT:
			sb_printf(out, "%d", slot);
			break;
		case TK_WORD:
			break;
		case TK_ARG:
			if (k->pos) {
				long idx = k->pos > 0 ? k->pos - 1 : (long)nargs + k->pos;
				if (idx >= 0 && (size_t)idx < nargs)
					put_value(t, out, k->xf, args[idx], quote);
			} else if (one) {
				put_value(t, out, k->xf, one, quote);
			} else {
				for (size_t j = 0; j < nargs; j++) {
					if (j)
						sb_addc(out, ' ');
					put_value(t, out, k->xf, args[j], quote);
				}
			}
			break;
		}
	}
}

/* With -X, whether tokens [g, i) (a whitespace-separated group) hold a
 * {} and so are repeated once per argument. */
static bool repeated_group(const tpl *t, size_t g, size_t i)
{
	for (size_t j = g; j < i; j++)
		if (t->t[j].kind == TK_ARG && t->t[j].pos == 0)
			return true;
	return false;
}

void tpl_expand(const tpl *t, sbuf *out, char *const *args, size_t nargs, long long seq, int slot)
{
	if (t->quote_words) {
		/* -q: expand each word raw, then quote it whole. */
		sbuf w = {0};
		size_t start = 0;
		bool firstw = true;
		for (size_t i = 0; i < t->n; i++) {
			if (t->t[i].kind != TK_WORD)
				continue;
			sb_clear(&w);
			expand_range(t, &w, start, i, args, nargs, NULL, seq, slot, false);
			if (!firstw)
				sb_addc(out, ' ');
			firstw = false;
			sh_quote(out, w.s ? w.s : "", w.len);
			start = i + 1;
		}
		sb_free(&w);
		return;
	}
	if (!t->context) {
		expand_range(t, out, 0, t->n, args, nargs, NULL, seq, slot, t->quote_args);
		return;
	}
	/* -X: a group (tokens between whitespace) holding a {} is repeated
	 * once per argument, the copies separated by a space. */
	size_t g = 0;
	for (size_t i = 0; i <= t->n; i++) {
		if (i < t->n && t->t[i].kind != TK_SPACE)
			continue;
		if (!repeated_group(t, g, i) || nargs == 0) {
			expand_range(t, out, g, i, args, nargs, nargs ? NULL : "", seq, slot,
			             t->quote_args && nargs);
		} else {
			for (size_t a = 0; a < nargs; a++) {
				if (a)
					sb_addc(out, ' ');
				expand_range(t, out, g, i, args, nargs, args[a], seq, slot, t->quote_args);
			}
		}
		if (i < t->n)
			sb_add(out, t->t[i].lit, 1);
		g = i + 1;
	}
}

size_t tpl_arg_cost(const tpl *t, const char *v)
{
	size_t cost = 0;
	sbuf tmp = {0};
	if (t->context && !t->quote_words) {
		size_t g = 0;
		for (size_t i = 0; i <= t->n; i++) {
			if (i < t->n && t->t[i].kind != TK_SPACE)
				continue;
			if (repeated_group(t, g, i)) {
				sb_clear(&tmp);
				expand_range(t, &tmp, g, i, NULL, 0, v, 0, 0, t->quote_args);
				cost += tmp.len + 1;
			}
			g = i + 1;
		}
	} else {
		for (size_t i = 0; i < t->n; i++) {
			if (t->t[i].kind != TK_ARG || t->t[i].pos != 0)
				continue;
			sb_clear(&tmp);
			put_value(t, &tmp, t->t[i].xf, v, t->quote_args || t->quote_words);
			cost += tmp.len + 1;
		}
		if (t->quote_words)
			cost *= 2; /* quoting the whole word again */
	}
	sb_free(&tmp);
	return cost;
}
