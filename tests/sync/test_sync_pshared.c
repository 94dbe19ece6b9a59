/* Process-shared primitives (WEFT_PSHARED) in MAP_SHARED memory, used by a
 * parent and fork()ed children. The memory is a memfd; children map it a
 * second time at another address and use both mappings, which proves that
 * nothing inside depends on where the memory is mapped. */
#include "sync_test.h"

#include <sys/mman.h>
#include <sys/wait.h>

typedef struct shared {
	weft_lock lock;
	weft_rlock rlock;
	weft_sem sem;
	weft_event go, ready;
	weft_cond cond; /* over lock */
	weft_barrier barrier;
	int seen[3][8]; /* barrier indices per pass, by process */
	long counter;
	int turn;
} shared;

static int memfd = -1;
static shared *sh; /* the parent's mapping */

static void setup(void)
{
	memfd = memfd_create("weft-sync-test", MFD_CLOEXEC);
	ck_assert_int_ge(memfd, 0);
	ck_assert_int_eq(ftruncate(memfd, 4096), 0);
	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	ck_assert_ptr_ne(sh, MAP_FAILED);
	wt_ok(weft_lock_init(&sh->lock, WEFT_PSHARED));
	wt_ok(weft_rlock_init(&sh->rlock, WEFT_PSHARED));
	wt_ok(weft_sem_init(&sh->sem, 0, WEFT_PSHARED));
	wt_ok(weft_event_init(&sh->go, WEFT_PSHARED));
	wt_ok(weft_event_init(&sh->ready, WEFT_PSHARED));
	wt_ok(weft_cond_init(&sh->cond, &(weft_cond_opts){.lock = &sh->lock}));
	wt_ok(weft_barrier_init(&sh->barrier, 3, &(weft_barrier_opts){.flags = WEFT_PSHARED}));
	sh->counter = 0;
	sh->turn = 0;
}

static void teardown(void)
{
	munmap(sh, 4096);
	close(memfd);
}

/* In a child: a second mapping of the same memory at another address. */
static shared *remap(void)
{
	shared *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (m == MAP_FAILED || m == sh)
		_exit(90);
	return m;
}

/* Children report failures through their exit status (the line number). */
#define CHILD_CHECK(x)                             \
	do {                                       \
		if (!(x))                          \
			_exit(__LINE__ % 200 + 1); \
	} while (0)

static pid_t child(void (*fn)(int), int arg)
{
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		fn(arg);
		_exit(0);
	}
	return pid;
}

static void reap(pid_t pid)
{
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed: status %d (line %% 200 + 1)",
	              WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st));
}

enum { ROUNDS = 20000 };

static void count_in_child(int arg)
{
	shared *views[2] = {sh, remap()};
	for (int i = 0; i < ROUNDS; i++) {
		shared *v = views[(i + arg) & 1]; /* alternate between the mappings */
		CHILD_CHECK(weft_lock_acquire(&v->lock, 30.0) == 0);
		v->counter++;
		CHILD_CHECK(weft_lock_release(&v->lock) == 0);
	}
}

START_TEST(lock_between_processes)
{
	setup();
	pid_t a = child(count_in_child, 0), b = child(count_in_child, 1);
	for (int i = 0; i < ROUNDS; i++) {
		wt_ok(weft_lock_acquire(&sh->lock, 30.0));
		sh->counter++;
		wt_ok(weft_lock_release(&sh->lock));
	}
	reap(a);
	reap(b);
	ck_assert_int_eq(sh->counter, 3 * ROUNDS);
	ck_assert_uint_eq(st_word(sh->lock.word), 0);
	teardown();
}
END_TEST

static void rlock_child(int arg)
{
	(void)arg;
	shared *m = remap();
	CHILD_CHECK(weft_rlock_acquire(&m->rlock, 0) == 0);
	CHILD_CHECK(weft_rlock_acquire(&sh->rlock, 0) == 0); /* same lock, other mapping */
	CHILD_CHECK(weft_rlock_count(&m->rlock) == 2);
	CHILD_CHECK(weft_event_set(&m->ready) == 0);
	CHILD_CHECK(weft_event_wait(&m->go, 30.0) == 0);
	CHILD_CHECK(weft_rlock_release(&sh->rlock) == 0);
	CHILD_CHECK(weft_rlock_release(&m->rlock) == 0);
}

START_TEST(rlock_owned_by_other_process)
{
	setup();
	pid_t c = child(rlock_child, 0);
	wt_ok(weft_event_wait(&sh->ready, 30.0));
	ck_assert(weft_rlock_locked(&sh->rlock));
	ck_assert(!weft_rlock_is_owned(&sh->rlock));
	wt_rc(weft_rlock_acquire(&sh->rlock, 0), WEFT_ETIMEDOUT);
	wt_rc(weft_rlock_release(&sh->rlock), WEFT_EPERM);
	wt_ok(weft_event_set(&sh->go));
	wt_ok(weft_rlock_acquire(&sh->rlock, 30.0)); /* after the child lets go */
	wt_ok(weft_rlock_release(&sh->rlock));
	reap(c);
	teardown();
}
END_TEST

static void sem_child(int arg)
{
	shared *m = arg ? remap() : sh;
	/* Block until the parent releases: a cross-process wakeup. */
	for (int i = 0; i < 100; i++)
		CHILD_CHECK(weft_sem_acquire(&m->sem, 30.0) == 0);
	CHILD_CHECK(weft_sem_release(&m->sem, 1) == 0); /* give one back */
}

START_TEST(semaphore_between_processes)
{
	setup();
	pid_t a = child(sem_child, 0), b = child(sem_child, 1);
	for (int i = 0; i < 200; i++)
		wt_ok(weft_sem_release(&sh->sem, 1));
	reap(a);
	reap(b);
	ck_assert_int_eq(weft_sem_value(&sh->sem), 2);
	ck_assert_uint_eq(st_word(sh->sem.waiters), 0);
	teardown();
}
END_TEST

static void event_child(int arg)
{
	shared *m = arg ? remap() : sh;
	CHILD_CHECK(weft_sem_release(&m->sem, 1) == 0); /* "I am about to wait" */
	CHILD_CHECK(weft_event_wait(&m->go, 30.0) == 0);
	CHILD_CHECK(weft_event_is_set(&sh->go));
}

START_TEST(event_between_processes)
{
	setup();
	pid_t a = child(event_child, 0), b = child(event_child, 1);
	wt_ok(weft_sem_acquire(&sh->sem, 30.0));
	wt_ok(weft_sem_acquire(&sh->sem, 30.0));
	wt_rc(weft_event_wait(&sh->go, 0.01), WEFT_ETIMEDOUT);
	wt_ok(weft_event_set(&sh->go));
	reap(a);
	reap(b);
	teardown();
}
END_TEST

/* Ping-pong through a condition over a shared lock: the child works only
 * through its second mapping, where the condition finds its lock by
 * offset. */
static void cond_child(int arg)
{
	(void)arg;
	shared *m = remap();
	CHILD_CHECK(weft_cond_acquire(&m->cond, 30.0) == 0);
	for (int i = 0; i < 200; i++) {
		while (m->turn != 1)
			CHILD_CHECK(weft_cond_wait(&m->cond, 30.0) == 0);
		m->turn = 0;
		CHILD_CHECK(weft_cond_notify(&m->cond, 1) == 0);
	}
	CHILD_CHECK(weft_cond_release(&m->cond) == 0);
}

START_TEST(condition_between_processes)
{
	setup();
	pid_t c = child(cond_child, 0);
	wt_ok(weft_cond_acquire(&sh->cond, 30.0));
	for (int i = 0; i < 200; i++) {
		sh->turn = 1;
		wt_ok(weft_cond_notify(&sh->cond, 1));
		while (sh->turn != 0)
			wt_ok(weft_cond_wait(&sh->cond, 30.0));
	}
	wt_ok(weft_cond_release(&sh->cond));
	reap(c);
	ck_assert(!weft_lock_locked(&sh->lock));
	teardown();
}
END_TEST

enum { PASSES = 8 };

static void barrier_child(int who)
{
	shared *views[2] = {sh, remap()};
	for (int p = 0; p < PASSES; p++) {
		int i = -1;
		CHILD_CHECK(weft_barrier_wait(&views[p & 1]->barrier, 30.0, &i) == 0);
		views[p & 1]->seen[who][p] = i;
	}
}

START_TEST(barrier_between_processes)
{
	setup();
	pid_t a = child(barrier_child, 1), b = child(barrier_child, 2);
	for (int p = 0; p < PASSES; p++) {
		int i = -1;
		wt_ok(weft_barrier_wait(&sh->barrier, 30.0, &i));
		sh->seen[0][p] = i;
	}
	reap(a);
	reap(b);
	for (int p = 0; p < PASSES; p++) {
		int mask = 0;
		for (int w = 0; w < 3; w++)
			mask |= 1 << sh->seen[w][p];
		ck_assert_int_eq(mask, 7); /* indices 0, 1, 2 once each */
	}
	ck_assert_int_eq(weft_barrier_n_waiting(&sh->barrier), 0);
	ck_assert(!weft_barrier_broken(&sh->barrier));
	/* abort from one process breaks it for the others */
	wt_ok(weft_barrier_abort(&sh->barrier));
	pid_t c = fork();
	if (c == 0)
		_exit(weft_barrier_wait(&remap()->barrier, 30.0, NULL) == WEFT_EBROKEN ? 0 : 1);
	reap(c);
	teardown();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sync_pshared");
	TCase *tc = wt_tcase("pshared", 120);
	tcase_add_test(tc, lock_between_processes);
	tcase_add_test(tc, rlock_owned_by_other_process);
	tcase_add_test(tc, semaphore_between_processes);
	tcase_add_test(tc, event_between_processes);
	tcase_add_test(tc, condition_between_processes);
	tcase_add_test(tc, barrier_between_processes);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
