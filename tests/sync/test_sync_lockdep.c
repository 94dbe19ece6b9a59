/* Lock-order checking (WEFT_DEBUG_LOCKS=1). Each scenario runs in a forked
 * child with stderr going to a pipe; the threads are sequenced with events,
 * so the inverted orders never actually deadlock, and the report must come
 * anyway, once. One scenario re-executes this program with the variable in
 * its environment to check that it is read. */
#include "sync_test.h"

#include <sys/wait.h>

static weft_lock A, B, C;
static weft_rlock R;
static weft_event step1, step2;

static void ab(weft_lock *x, weft_lock *y)
{
	wt_ok(weft_lock_acquire(x, WEFT_FOREVER));
	wt_ok(weft_lock_acquire(y, 1.0));
	wt_ok(weft_lock_release(y));
	wt_ok(weft_lock_release(x));
}

static void *first_ab(void *arg)
{
	(void)arg;
	ab(&A, &B);
	weft_event_set(&step1);
	return NULL;
}

static void *then_ba(void *arg)
{
	(void)arg;
	weft_event_wait(&step1, WEFT_FOREVER);
	ab(&B, &A); /* inverted: reported here, before it could block */
	ab(&B, &A); /* seen before: not reported again */
	return NULL;
}

static void scenario_ab_ba(void)
{
	wt_thread *t1 = wt_spawn(first_ab, NULL), *t2 = wt_spawn(then_ba, NULL);
	wt_join(t1);
	wt_join(t2);
}

/* Runs fn in a child (lock-order checking on unless `off`) and returns what
 * it wrote to stderr (malloc'd). */
static char *capture(void (*fn)(void), bool off)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		weft__lockdep_on = !off;
		fn();
		_exit(0);
	}
	close(p[1]);
	size_t cap = 65536, len = 0;
	char *out = malloc(cap);
	ssize_t n;
	while ((n = read(p[0], out + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = 0;
	close(p[0]);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "scenario failed: %s", out);
	return out;
}

static int count(const char *hay, const char *needle)
{
	int n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p++)
		n++;
	return n;
}

static bool names(const char *report, const void *lock)
{
	char addr[32];
	snprintf(addr, sizeof addr, "%p", lock);
	return strstr(report, addr) != NULL;
}

#define INVERSION "lock order inversion"

START_TEST(ab_ba_is_reported_once)
{
	char *out = capture(scenario_ab_ba, false);
	ck_assert_msg(count(out, INVERSION) == 1, "report: %s", out);
	ck_assert(names(out, &A) && names(out, &B));
	/* the two call sites of the new order and the two of the old one */
	ck_assert_int_ge(count(out, "test_sync_lockdep"), 4);
	ck_assert_msg(strstr(out, "cycle: "), "%s", out);
	free(out);
}
END_TEST

START_TEST(off_by_default)
{
	char *out = capture(scenario_ab_ba, true);
	ck_assert_str_eq(out, "");
	free(out);
}
END_TEST

static void *t_bc(void *arg)
{
	(void)arg;
	weft_event_wait(&step1, WEFT_FOREVER);
	ab(&B, &C);
	weft_event_set(&step2);
	return NULL;
}

static void *t_ca(void *arg)
{
	(void)arg;
	weft_event_wait(&step2, WEFT_FOREVER);
	ab(&C, &A); /* closes A -> B -> C -> A */
	return NULL;
}

static void scenario_cycle3(void)
{
	wt_thread *t1 = wt_spawn(first_ab, NULL), *t2 = wt_spawn(t_bc, NULL), *t3 = wt_spawn(t_ca, NULL);
	wt_join(t1);
	wt_join(t2);
	wt_join(t3);
}

START_TEST(three_lock_cycle)
{
	char *out = capture(scenario_cycle3, false);
	ck_assert_msg(count(out, INVERSION) == 1, "report: %s", out);
	ck_assert(names(out, &A) && names(out, &B) && names(out, &C));
	free(out);
}
END_TEST

static void scenario_harmless(void)
{
	/* RLock recursion, consistent orders, polls against the order, and
	 * re-initialized locks are no inversion. */
	wt_ok(weft_rlock_acquire(&R, WEFT_FOREVER));
	wt_ok(weft_lock_acquire(&A, WEFT_FOREVER));
	wt_ok(weft_rlock_acquire(&R, WEFT_FOREVER));
	wt_ok(weft_rlock_release(&R));
	wt_ok(weft_lock_release(&A));
	wt_ok(weft_rlock_release(&R));
	ab(&A, &B);
	ab(&A, &B);
	wt_ok(weft_lock_acquire(&B, WEFT_FOREVER));
	wt_ok(weft_lock_acquire(&A, 0)); /* a poll cannot deadlock */
	wt_ok(weft_lock_release(&A));
	wt_ok(weft_lock_release(&B));
	weft_lock_init(&A, 0);
	weft_lock_init(&B, 0);
	ab(&B, &A); /* new locks at the old addresses */
}

START_TEST(no_false_reports)
{
	char *out = capture(scenario_harmless, false);
	ck_assert_str_eq(out, "");
	free(out);
}
END_TEST

static void *release_a(void *arg)
{
	(void)arg;
	wt_ok(weft_lock_release(&A));
	return NULL;
}

static void *b_then_a(void *arg)
{
	(void)arg;
	ab(&B, &A);
	return NULL;
}

static void scenario_foreign_release(void)
{
	/* A Lock released by another thread is no longer held by its taker:
	 * otherwise "B while holding A" here and B -> A in another thread
	 * would be reported. */
	wt_ok(weft_lock_acquire(&A, WEFT_FOREVER));
	wt_join(wt_spawn(release_a, NULL));
	ab(&B, &C);
	wt_join(wt_spawn(b_then_a, NULL));
	ab(&C, &B); /* but this one inverts B -> C */
}

START_TEST(release_by_another_thread)
{
	char *out = capture(scenario_foreign_release, false);
	ck_assert_msg(count(out, INVERSION) == 1, "report: %s", out);
	ck_assert(names(out, &B) && names(out, &C));
	free(out);
}
END_TEST

START_TEST(environment_variable_turns_it_on)
{
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		setenv("WEFT_DEBUG_LOCKS", "1", 1);
		execl("/proc/self/exe", "test_sync_lockdep", "--ab-ba", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	char out[65536];
	size_t len = 0;
	ssize_t n;
	while ((n = read(p[0], out + len, sizeof out - 1 - len)) > 0)
		len += (size_t)n;
	out[len] = 0;
	close(p[0]);
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	ck_assert_msg(count(out, INVERSION) == 1, "report: %s", out);
}
END_TEST

/* The re-executed child: plain code (Check's asserts need a test run). */
static void *plain_ab(void *arg)
{
	(void)arg;
	weft_lock_acquire(&A, WEFT_FOREVER);
	weft_lock_acquire(&B, WEFT_FOREVER);
	weft_lock_release(&B);
	weft_lock_release(&A);
	return NULL;
}

static int reexec_child(void)
{
	if (!weft__lockdep_on) /* only the environment can have turned it on */
		return 3;
	pthread_t t;
	if (pthread_create(&t, NULL, plain_ab, NULL) || pthread_join(t, NULL))
		return 4;
	weft_lock_acquire(&B, WEFT_FOREVER);
	weft_lock_acquire(&A, WEFT_FOREVER);
	weft_lock_release(&A);
	weft_lock_release(&B);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--ab-ba") == 0)
		return reexec_child();
	Suite *s = suite_create("sync_lockdep");
	TCase *tc = wt_tcase("lockdep", 60);
	tcase_add_test(tc, ab_ba_is_reported_once);
	tcase_add_test(tc, off_by_default);
	tcase_add_test(tc, three_lock_cycle);
	tcase_add_test(tc, no_false_reports);
	tcase_add_test(tc, release_by_another_thread);
	tcase_add_test(tc, environment_variable_turns_it_on);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
