/* subprocess stress: eight threads start, feed, kill, cancel and abandon
 * children at once. Every answer must be right, and at the end no fd and no
 * child may be left. WEFT_STRESS_SCALE=N runs N times as many rounds. */
#include "sp_helpers.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#define ARGV(...) ((const char *[]){__VA_ARGS__, NULL})

enum { THREADS = 8, ROUNDS = 12 };

struct worker {
	unsigned seed;
	int rounds;
	int errors;
	char msg[160];
};

static void bad(struct worker *w, const char *what, int rc)
{
	if (!w->errors++)
		snprintf(w->msg, sizeof w->msg, "%s: %s", what, weft_errname(rc));
}

/* cat echoes random bytes of random size back. */
static void echo_round(struct worker *w)
{
	size_t n = (size_t)rand_r(&w->seed) % (256 * 1024);
	char *in = malloc(n + 1);
	for (size_t i = 0; i < n; i++)
		in[i] = (char)rand_r(&w->seed);
	weft_completed r;
	int rc =
	    weft_run(ARGV("cat"), &(weft_run_opts){.input = in, .input_len = n, .capture_output = true}, &r);
	if (rc || r.returncode || r.out.len != n || memcmp(r.out.data, in, n) || r.err.len)
		bad(w, "echo", rc);
	weft_completed_free(&r);
	free(in);
}

/* A child killed while another thread... here: while we wait on it. */
static void kill_round(struct worker *w)
{
	weft_popen *p;
	int rc = weft_popen_start(&p, ARGV("sleep", "30"), &(weft_popen_opts){.new_process_group = true});
	if (rc) {
		bad(w, "start sleep", rc);
		return;
	}
	int code = 0;
	if ((rc = weft_popen_kill(p)) || (rc = weft_popen_wait(p, 10, &code)) || code != -9)
		bad(w, "kill", rc);
	weft_popen_free(p);
}

/* A wait inside a scope whose deadline passes: the child is killed. */
static void scope_round(struct worker *w)
{
	weft_popen *p;
	int rc = weft_popen_start(&p, ARGV("sleep", "30"), &(weft_popen_opts){.stdout_mode = WEFT_PIPE});
	if (rc) {
		bad(w, "start scoped", rc);
		return;
	}
	weft_cancel_scope sc;
	weft_cancel_scope_enter(&sc, NULL, 0.01);
	weft_bytes out;
	rc = weft_popen_communicate(p, NULL, 0, WEFT_FOREVER, &out, NULL);
	weft_cancel_scope_exit(&sc);
	int code = 0;
	if (rc != WEFT_ETIMEDOUT || weft_popen_returncode(p, &code) || code != -9)
		bad(w, "scope", rc);
	weft_bytes_free(&out);
	weft_popen_free(p);
}

/* Freed while running: reaped by a later start or free. */
static void abandon_round(struct worker *w)
{
	weft_popen *p;
	int rc = weft_popen_start(&p, ARGV("cat"), &(weft_popen_opts){.stdin_mode = WEFT_PIPE});
	if (rc)
		bad(w, "start abandoned", rc);
	else
		weft_popen_free(p); /* closes stdin: cat ends by itself */
}

static void missing_round(struct worker *w)
{
	weft_completed r;
	int rc = weft_run(ARGV("no-such-program-weft"), &(weft_run_opts){.capture_output = true}, &r);
	if (rc != WEFT_ENOENT)
		bad(w, "missing", rc);
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < w->rounds; i++) {
		switch (rand_r(&w->seed) % 5) {
		case 0:
			kill_round(w);
			break;
		case 1:
			scope_round(w);
			break;
		case 2:
			abandon_round(w);
			break;
		case 3:
			missing_round(w);
			break;
		default:
			echo_round(w);
		}
	}
	return NULL;
}

START_TEST(eight_threads_mixed)
{
	struct worker w[THREADS];
	wt_thread *t[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] =
		    (struct worker){.seed = 1234u + (unsigned)i, .rounds = ROUNDS * (int)wt_stress_scale()};
		t[i] = wt_spawn(worker_main, &w[i]);
	}
	for (int i = 0; i < THREADS; i++) {
		wt_join(t[i]);
		ck_assert_msg(w[i].errors == 0, "thread %d: %d errors, first %s", i, w[i].errors, w[i].msg);
	}
	/* Abandoned children: wait until each has exited, then one more start
	 * reaps them all (the fixture then checks that none is left). */
	siginfo_t si;
	while (waitid(P_ALL, 0, &si, WEXITED | WNOWAIT) == 0) {
		weft_popen *p;
		wt_ok(weft_popen_start(&p, ARGV("true"), NULL));
		wt_ok(weft_popen_wait(p, WEFT_FOREVER, NULL));
		weft_popen_free(p);
	}
}
END_TEST

int main(int argc, char **argv)
{
	sp_helper_main(argc, argv);
	Suite *s = suite_create("subprocess_stress");
	TCase *tc = sp_tcase("stress", 120);
	tcase_add_test(tc, eight_threads_mixed);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
