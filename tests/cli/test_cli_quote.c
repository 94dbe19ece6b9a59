/* The weft tool's quoting and command-line internals, white-box: values
 * quoted by sh_quote come back unchanged from /bin/sh, and every command
 * sh_simple_split accepts is split into the words /bin/sh would make (so
 * running it without a shell gives the same argv). The shell is run with
 * weft_check_output. */
#include "wtest.h"

#include "../../cli/quote.c"
#include "../../cli/template.c"
#include "../../cli/util.c"

#include <string.h>
#include <weft/subprocess.h>

/* The words /bin/sh makes of text, NUL-separated (printf '%s\0' text). */
static char *sh_words(const char *text, size_t *len)
{
	sbuf cmd = {0};
	sb_adds(&cmd, "printf '%s\\0' _ "); /* _: printf with no word still prints */
	sb_adds(&cmd, text);
	const char *argv[] = {"/bin/sh", "-c", cmd.s, NULL};
	weft_bytes out = {0};
	int rc = weft_check_output(argv, NULL, &out);
	sb_free(&cmd);
	ck_assert_msg(rc == 0, "sh failed on: %s", text);
	ck_assert(out.len >= 2);
	*len = out.len - 2;
	char *s = xmalloc(*len + 1);
	memcpy(s, (char *)out.data + 2, *len);
	s[*len] = 0;
	weft_bytes_free(&out);
	return s;
}

static const char *const tricky[] = {
    "plain", "",         "two words", "it's",        "\"quoted\"", "$HOME",     "`id`",    "$(id)", "a;b",
    "a|b",   "a&b",      "a>b",       "a<b",         "*",          "?",         "[ab]",    "~",     "~root",
    "-n",    "--",       "a=b",       "back\\slash", "tab\there",  "new\nline", "'",       "''",    "'\"'\"'",
    "!",     "#comment", "{a,b}",     "\\",          "end\\",      "é",         "\x01ctl",
};

START_TEST(quoted_values_come_back_unchanged)
{
	for (size_t i = 0; i < sizeof tricky / sizeof tricky[0]; i++) {
		sbuf q = {0};
		sh_quote(&q, tricky[i], strlen(tricky[i]));
		size_t len;
		char *words = sh_words(q.s, &len);
		ck_assert_msg(len == strlen(tricky[i]) + 1 && memcmp(words, tricky[i], len) == 0,
		              "quoted as %s, the shell gave %s", q.s, words);
		free(words);
		sb_free(&q);
	}
}
END_TEST

START_TEST(quoting_is_gnu_parallels)
{
	static const char *const cases[][2] = {
	    {"plain", "plain"},
	    {"a-b_c.d+e/f", "a-b_c.d+e/f"},
	    {"", "''"},
	    {"a b", "'a b'"},
	    {"it's", "'it'\"'\"'s'"},
	    {"'", "\"'\""},
	    {"'a'", "\"'\"'a'\"'\""},
	    {"a=b", "'a=b'"},
	    {"$x", "'$x'"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sbuf q = {0};
		sh_quote(&q, cases[i][0], strlen(cases[i][0]));
		ck_assert_str_eq(q.s, cases[i][1]);
		sb_free(&q);
	}
}
END_TEST

/* Checks that when sh_simple_split accepts "prog <text>", its words are
 * the shell's words for <text>. Returns whether it was accepted. */
static bool agrees_with_sh(const char *text)
{
	sbuf cmd = {0};
	sb_adds(&cmd, "prog ");
	sb_adds(&cmd, text);
	char **argv;
	bool simple = sh_simple_split(cmd.s, &argv);
	sb_free(&cmd);
	if (!simple)
		return false;
	size_t len;
	char *words = sh_words(text, &len);
	sbuf mine = {0};
	for (size_t i = 1; argv[i]; i++)
		sb_add(&mine, argv[i], strlen(argv[i]) + 1);
	ck_assert_msg(mine.len == len && memcmp(mine.s ? mine.s : "", words, len) == 0,
	              "split differs from the shell's for: %s", text);
	sb_free(&mine);
	free(words);
	free(argv);
	return true;
}

START_TEST(simple_commands_split_as_the_shell_does)
{
	static const char *const accepted[] = {
	    "a b c", "'a b' c",  "a\\ b",       "'it'\"'\"'s'", "\"plain double\"", "x=1", "'' ''",
	    "a'b'c", "-n --x=y", "a,b:c@d%e^f", "é ü",
	};
	for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++)
		ck_assert_msg(agrees_with_sh(accepted[i]), "not simple: %s", accepted[i]);
	/* Every value quoted by sh_quote stays simple and splits right. */
	for (size_t i = 0; i < sizeof tricky / sizeof tricky[0]; i++) {
		sbuf q = {0};
		sh_quote(&q, tricky[i], strlen(tricky[i]));
		ck_assert_msg(agrees_with_sh(q.s), "quoted value not simple: %s", q.s);
		sb_free(&q);
	}
}
END_TEST

START_TEST(shell_syntax_is_not_simple)
{
	static const char *const shell[] = {
	    "echo a; b", "a | b",      "a && b",  "a > f",       "a < f",         "echo $HOME",
	    "echo `id`", "echo $(id)", "echo *",  "echo ?",      "echo [a]",      "echo ~",
	    "x=1 prog",  "cd /",       "echo hi", "exit 1",      "( a )",         "{ a; }",
	    "a #c",      "if true",    "a\nb",    "\"$x\"",      "'unterminated", "a\\",
	    "! a",       "test -n x",  "[ x ]",   "printf %s x", "true --help",   "false --version",
	    "export A",  ". file",     "eval x",  "a &",         "kill 1",
	};
	for (size_t i = 0; i < sizeof shell / sizeof shell[0]; i++) {
		char **argv;
		ck_assert_msg(!sh_simple_split(shell[i], &argv), "taken as simple: %s", shell[i]);
	}
	char **argv;
	ck_assert(sh_simple_split("true 1 2", &argv));
	ck_assert_str_eq(argv[0], "true");
	free(argv);
}
END_TEST

START_TEST(random_text_never_splits_differently)
{
	/* Random words over an alphabet rich in quoting characters: whatever
	 * is accepted must split as the shell splits it. */
	static const char alphabet[] = "ab '\"\\$;=-_./é\t";
	unsigned seed = 12345;
	int accepted = 0, n = 150 * (int)wt_stress_scale();
	for (int k = 0; k < n; k++) {
		char text[16];
		int len = 1 + (int)((seed = seed * 1103515245 + 12345) >> 16) % 12;
		for (int i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			text[i] = alphabet[(seed >> 16) % (sizeof alphabet - 1)];
		}
		text[len] = 0;
		accepted += agrees_with_sh(text);
	}
	ck_assert_int_gt(accepted, 10);
}
END_TEST

START_TEST(transforms_match_gnu_parallel)
{
	static const struct {
		const char *in;
		const char *noext, *base, *dir, *basenoext;
	} cases[] = {
	    {"foo", "foo", "foo", ".", "foo"},
	    {"a/b.c", "a/b", "b.c", "a", "b"},
	    {"sub.dir/bar", "sub.dir/bar", "bar", "sub.dir", "bar"},
	    {".hidden", "", ".hidden", ".", ""},
	    {"a.b/", "a.b/", "", ".", ""},
	    {"/", "/", "", "/", ""},
	    {"//a", "//a", "a", "/", "a"},
	    {"", "", "", ".", ""},
	    {"x.tar.gz", "x.tar", "x.tar.gz", ".", "x.tar"},
	    /* Perl's '.' does not match a newline in s:.*\/:: */
	    {"a\nb/c", "a\nb/c", "a\nc", "a\nb", "a\nc"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const char *want[] = {cases[i].noext, cases[i].base, cases[i].dir, cases[i].basenoext};
		enum xform xf[] = {XF_NOEXT, XF_BASE, XF_DIR, XF_BASENOEXT};
		for (int k = 0; k < 4; k++) {
			sbuf b = {0};
			apply_xform(&b, xf[k], cases[i].in);
			ck_assert_msg(strcmp(b.s ? b.s : "", want[k]) == 0,
			              "xform %d of '%s': '%s', want '%s'", k, cases[i].in, b.s ? b.s : "",
			              want[k]);
			sb_free(&b);
		}
	}
}
END_TEST

START_TEST(durations_and_counts)
{
	double d;
	ck_assert(parse_duration("2.5", &d) && d == 2.5);
	ck_assert(parse_duration("1m30s", &d) && d == 90);
	ck_assert(parse_duration("1d3.5h", &d) && d == 86400 + 3.5 * 3600);
	ck_assert(!parse_duration("", &d));
	ck_assert(!parse_duration("-1", &d));
	ck_assert(!parse_duration("3x", &d));
	ck_assert(!parse_duration("nan", &d));
	long long n;
	ck_assert(parse_count("12", 1000, &n) && n == 12);
	ck_assert(parse_count("2k", 1000000, &n) && n == 2000);
	ck_assert(parse_count("1K", 1000000, &n) && n == 1024);
	ck_assert(!parse_count("2k", 1000, &n));
	ck_assert(!parse_count("-1", 1000, &n));
	ck_assert(!parse_count("1kk", 1000000, &n));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cli_quote");
	TCase *tc = wt_tcase("quote", 60);
	tcase_add_test(tc, quoted_values_come_back_unchanged);
	tcase_add_test(tc, quoting_is_gnu_parallels);
	tcase_add_test(tc, simple_commands_split_as_the_shell_does);
	tcase_add_test(tc, shell_syntax_is_not_simple);
	tcase_add_test(tc, random_text_never_splits_differently);
	tcase_add_test(tc, transforms_match_gnu_parallel);
	tcase_add_test(tc, durations_and_counts);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
