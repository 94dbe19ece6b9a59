/* Combining sources into job arguments. */
#include "feed.h"

#include "util.h"

#include <stdlib.h>
#include <string.h>

/* --colsep is a Perl regular expression in GNU parallel; POSIX extended
 * regular expressions lack Perl's escapes, so the common ones are
 * translated (\t \n \r \s \S \d \D \w \W); others pass through. */
static char *perl_to_ere(const char *re)
{
	sbuf b = {0};
	for (const char *p = re; *p; p++) {
		if (*p != '\\' || !p[1]) {
			sb_addc(&b, *p);
			continue;
		}
		switch (*++p) {
		case 't':
			sb_addc(&b, '\t');
			break;
		case 'n':
			sb_addc(&b, '\n');
			break;
		case 'r':
			sb_addc(&b, '\r');
			break;
		case 's':
			sb_adds(&b, "[[:space:]]");
			break;
		case 'S':
			sb_adds(&b, "[^[:space:]]");
			break;
		case 'd':
			sb_adds(&b, "[0-9]");
			break;
		case 'D':
			sb_adds(&b, "[^0-9]");
			break;
		case 'w':
			sb_adds(&b, "[[:alnum:]_]");
			break;
		case 'W':
			sb_adds(&b, "[^[:alnum:]_]");
			break;
		default:
			sb_addc(&b, '\\');
			sb_addc(&b, *p);
		}
	}
	return sb_take(&b);
}

void feed_init(feed *f, sources *ss, const options *o)
{
	*f = (feed){.ss = ss, .wrap = o->link, .total = -1, .skip_empty = o->no_run_if_empty};
	const char *trim = o->trim ? o->trim : (o->colsep ? "lr" : "n");
	f->trim_l = strchr(trim, 'l') != NULL;
	f->trim_r = strchr(trim, 'r') != NULL;
	if (o->colsep) {
		char *ere = perl_to_ere(o->colsep);
		int rc = regcomp(&f->re, ere, REG_EXTENDED);
		free(ere);
		if (rc) {
			char msg[128];
			regerror(rc, &f->re, msg, sizeof msg);
			die("bad --colsep '%s': %s", o->colsep, msg);
		}
		f->has_re = true;
	}
	size_t n = ss->n;
	f->gfirst = xcalloc(n, sizeof *f->gfirst);
	f->gcount = xcalloc(n, sizeof *f->gcount);
	f->glen = xcalloc(n, sizeof *f->glen);
	f->idx = xcalloc(n, sizeof *f->idx);
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || (!f->wrap && !ss->s[i].linked)) {
			f->gfirst[f->ngroups] = i;
			f->ngroups++;
		}
		f->gcount[f->ngroups - 1]++;
	}
	if (ss->streaming)
		return;
	long long total = 1;
	for (size_t g = 0; g < f->ngroups; g++) {
		size_t len = f->wrap ? 0 : SIZE_MAX;
		for (size_t k = 0; k < f->gcount[g]; k++) {
			size_t sl = ss->s[f->gfirst[g] + k].n;
			len = f->wrap ? (sl > len ? sl : len) : (sl < len ? sl : len);
		}
		if (f->wrap) {
			for (size_t k = 0; k < f->gcount[g]; k++)
				if (ss->s[f->gfirst[g] + k].n == 0)
					len = 0; /* nothing to wrap around */
		}
		f->glen[g] = len;
		if (len == 0 || total > (long long)(INT64_MAX / 2) / (long long)len)
			total = len == 0 ? 0 : INT64_MAX / 2;
		else
			total *= (long long)len;
	}
	f->total = total;
	f->exhausted = total == 0;
}

void feed_free(feed *f)
{
	if (f->has_re)
		regfree(&f->re);
	for (size_t i = 0; i < f->nunget; i++)
		free(f->unget[i]);
	free(f->unget);
	free(f->ucount);
	free(f->gfirst);
	free(f->gcount);
	free(f->glen);
	free(f->idx);
	*f = (feed){0};
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static void push_field(feed *f, char ***v, size_t *n, size_t *cap, const char *s, size_t len)
{
	if (f->trim_l)
		while (len && is_space(*s))
			s++, len--;
	if (f->trim_r)
		while (len && is_space(s[len - 1]))
			len--;
	xgrow(v, cap, *n + 1, sizeof **v);
	(*v)[(*n)++] = xstrndup(s, len);
}

/* Adds the fields of one value: itself, or its --colsep columns. */
static size_t add_value(feed *f, char ***v, size_t *n, size_t *cap, const char *val)
{
	size_t before = *n;
	if (!f->has_re) {
		push_field(f, v, n, cap, val, strlen(val));
		return 1;
	}
	const char *p = val, *end = val + strlen(val);
	for (;;) {
		regmatch_t m;
		int flags = p > val ? REG_NOTBOL : 0;
		if (p >= end || regexec(&f->re, p, 1, &m, flags) != 0) {
			push_field(f, v, n, cap, p, (size_t)(end - p));
			break;
		}
		size_t so = (size_t)m.rm_so, eo = (size_t)m.rm_eo;
		if (eo == so) { /* an empty match splits between characters */
			if (so == 0)
				so = eo = 1;
			if (p + so >= end) {
				push_field(f, v, n, cap, p, (size_t)(end - p));
				break;
			}
		}
		push_field(f, v, n, cap, p, so);
		p += eo;
	}
	return *n - before;
}

static bool all_blank(const char *s)
{
	for (; *s; s++)
		if (!is_space(*s))
			return false;
	return true;
}

enum feed_status feed_next(feed *f, char ***v, size_t *n, size_t *cap, size_t *nfields)
{
	if (f->nucount) {
		size_t k = f->ucount[0];
		for (size_t i = 0; i < k; i++) {
			xgrow(v, cap, *n + 1, sizeof **v);
			(*v)[(*n)++] = f->unget[i];
		}
		memmove(f->unget, f->unget + k, (f->nunget - k) * sizeof *f->unget);
		f->nunget -= k;
		memmove(f->ucount, f->ucount + 1, (f->nucount - 1) * sizeof *f->ucount);
		f->nucount--;
		*nfields = k;
		return FEED_OK;
	}
	sources *ss = f->ss;
	for (;;) {
		size_t before = *n;
		if (ss->streaming) {
			source *s = &ss->s[0];
			if (s->head == s->n)
				return s->eof ? FEED_EOF : FEED_WAIT;
			const char *val = s->vals[s->head];
			bool skip = f->skip_empty && all_blank(val);
			if (!skip)
				add_value(f, v, n, cap, val);
			source_consume(s, 1);
			f->emitted++;
			if (skip)
				continue;
			*nfields = *n - before;
			return FEED_OK;
		}
		if (f->exhausted)
			return FEED_EOF;
		bool skip = false;
		if (f->skip_empty) {
			skip = true;
			for (size_t g = 0; g < f->ngroups; g++)
				for (size_t k = 0; k < f->gcount[g]; k++) {
					source *s = &ss->s[f->gfirst[g] + k];
					if (!all_blank(s->vals[f->idx[g] % s->n]))
						skip = false;
				}
		}
		for (size_t g = 0; g < f->ngroups && !skip; g++) {
			for (size_t k = 0; k < f->gcount[g]; k++) {
				source *s = &ss->s[f->gfirst[g] + k];
				add_value(f, v, n, cap, s->vals[f->idx[g] % s->n]);
			}
		}
		/* Advance: the last group fastest. */
		size_t g = f->ngroups;
		while (g > 0) {
			g--;
			if (++f->idx[g] < f->glen[g])
				break;
			f->idx[g] = 0;
			if (g == 0)
				f->exhausted = true;
		}
		f->emitted++;
		if (skip)
			continue;
		*nfields = *n - before;
		return FEED_OK;
	}
}

void feed_unget(feed *f, char **fields, size_t nfields)
{
	f->unget = xrealloc(f->unget, (f->nunget + nfields + 1) * sizeof *f->unget);
	memmove(f->unget + nfields, f->unget, f->nunget * sizeof *f->unget);
	memcpy(f->unget, fields, nfields * sizeof *fields);
	f->nunget += nfields;
	f->ucount = xrealloc(f->ucount, (f->nucount + 1) * sizeof *f->ucount);
	memmove(f->ucount + 1, f->ucount, f->nucount * sizeof *f->ucount);
	f->ucount[0] = nfields;
	f->nucount++;
}
