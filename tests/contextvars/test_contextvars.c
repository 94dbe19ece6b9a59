/* contextvars: the behaviours of CPython's Lib/test/test_context.py, in C. */
#include "wtest.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#define P(x) ((void *)(uintptr_t)(x))
#define I(p) ((int)(uintptr_t)(p))

static weft_context_var *var_new(const char *name)
{
	weft_context_var *v;
	wt_ok(weft_context_var_new(&v, name, NULL));
	return v;
}

static weft_context_var *var_default(const char *name, void *dflt)
{
	weft_context_var *v;
	wt_ok(weft_context_var_new(&v, name,
	                           &(weft_context_var_opts){.has_default = true, .default_value = dflt}));
	return v;
}

/* Runs fn in a fresh empty context, as test_context's isolated_context. */
static void isolated(void *(*fn)(void *), void *arg)
{
	weft_context *ctx;
	wt_ok(weft_context_new(&ctx));
	wt_ok(weft_context_run(ctx, fn, arg, NULL));
	weft_context_free(ctx);
}

START_TEST(var_new_checks_arguments)
{
	weft_context_var *v;
	wt_rc(weft_context_var_new(NULL, "a", NULL), WEFT_EINVAL);
	wt_rc(weft_context_var_new(&v, NULL, NULL), WEFT_EINVAL);
	v = var_new("aaa");
	ck_assert_str_eq(weft_context_var_name(v), "aaa");
	ck_assert_str_eq(weft_context_var_name(NULL), "");
	weft_context_var_free(v);
	weft_context_var_free(NULL);
}
END_TEST

static void *getset_1(void *unused)
{
	weft_context_var *c = var_new("c");
	void *val;
	wt_rc(weft_context_var_get(c, &val), WEFT_ENOENT); /* LookupError */
	ck_assert_ptr_null(weft_context_var_get_or(c, NULL));

	weft_context_token *t0, *t;
	wt_ok(weft_context_var_set(c, P(42), &t0));
	wt_ok(weft_context_var_get(c, &val));
	ck_assert_int_eq(I(val), 42);
	wt_rc(weft_context_token_old_value(t0, &val), WEFT_ENOENT); /* Token.MISSING */
	ck_assert_ptr_eq(weft_context_token_var(t0), c);

	wt_ok(weft_context_var_set(c, P(7), &t));
	ck_assert_int_eq(I(weft_context_var_get_or(c, NULL)), 7);
	wt_ok(weft_context_token_old_value(t, &val));
	ck_assert_int_eq(I(val), 42);
	ck_assert(!weft_context_token_used(t));
	wt_ok(weft_context_var_reset(c, t));
	ck_assert(weft_context_token_used(t));
	ck_assert_int_eq(I(weft_context_var_get_or(c, NULL)), 42);

	wt_ok(weft_context_var_set(c, P(8), NULL));
	wt_rc(weft_context_var_reset(c, t), WEFT_ESTATE); /* has already been used */
	ck_assert_int_eq(I(weft_context_var_get_or(c, NULL)), 8);

	weft_context *ctx1;
	wt_ok(weft_context_copy_current(&ctx1));
	ck_assert(weft_context_contains(ctx1, c));

	wt_ok(weft_context_var_reset(c, t0));
	wt_rc(weft_context_var_reset(c, t0), WEFT_ESTATE);
	ck_assert_ptr_null(weft_context_var_get_or(c, NULL));

	/* The copy is a snapshot. */
	ck_assert(weft_context_contains(ctx1, c));
	wt_ok(weft_context_get(ctx1, c, &val));
	ck_assert_int_eq(I(val), 8);
	ck_assert_uint_eq(weft_context_len(ctx1), 1);

	weft_context *ctx2;
	wt_ok(weft_context_copy_current(&ctx2));
	ck_assert(!weft_context_contains(ctx2, c));
	wt_rc(weft_context_get(ctx2, c, &val), WEFT_ENOENT); /* KeyError */
	ck_assert_uint_eq(weft_context_len(ctx2), 0);

	weft_context_free(ctx1);
	weft_context_free(ctx2);
	weft_context_token_free(t0);
	weft_context_token_free(t);
	weft_context_var_free(c);
	return NULL;
}

START_TEST(getset_and_tokens)
{
	isolated(getset_1, NULL);
}
END_TEST

static void *getset_2(void *unused)
{
	weft_context_var *v1 = var_new("v1"), *v2 = var_new("v2");
	weft_context_token *t1;
	wt_ok(weft_context_var_set(v1, P(42), &t1));
	wt_rc(weft_context_var_reset(v2, t1), WEFT_EINVAL); /* by a different ContextVar */
	wt_rc(weft_context_var_reset(NULL, t1), WEFT_EINVAL);
	wt_rc(weft_context_var_reset(v1, NULL), WEFT_EINVAL);
	weft_context_token_free(t1);
	weft_context_var_free(v1);
	weft_context_var_free(v2);
	return NULL;
}

START_TEST(reset_with_another_variables_token)
{
	isolated(getset_2, NULL);
}
END_TEST

struct set_arg {
	weft_context_var *c;
	weft_context_token *tok;
};

static void *set_in(void *arg)
{
	struct set_arg *a = arg;
	wt_ok(weft_context_var_set(a->c, P(1), &a->tok));
	return NULL;
}

START_TEST(reset_in_another_context)
{
	/* test_context_getset_4: tok = ctx.run(c.set, 1); c.reset(tok) fails. */
	struct set_arg a = {var_default("c", P(42)), NULL};
	weft_context *ctx;
	wt_ok(weft_context_new(&ctx));
	wt_ok(weft_context_run(ctx, set_in, &a, NULL));
	wt_rc(weft_context_var_reset(a.c, a.tok), WEFT_EINVAL); /* different Context */
	ck_assert_int_eq(I(weft_context_var_get_or(a.c, P(-1))), -1);
	ck_assert_int_eq(I(weft_context_var_get_or(a.c, NULL)), 0);
	void *v;
	wt_ok(weft_context_var_get(a.c, &v)); /* the default */
	ck_assert_int_eq(I(v), 42);
	weft_context_token_free(a.tok);
	weft_context_free(ctx);
	weft_context_var_free(a.c);
}
END_TEST

struct run3 {
	weft_context *ctx;
	weft_context_var *c;
};

static void *run_6(void *arg)
{
	struct run3 *r = arg;
	void *v;
	wt_ok(weft_context_var_get(r->c, &v));
	ck_assert_int_eq(I(v), 0);
	wt_rc(weft_context_get(r->ctx, r->c, &v), WEFT_ENOENT);
	wt_ok(weft_context_var_set(r->c, P(42), NULL));
	wt_ok(weft_context_var_get(r->c, &v));
	ck_assert_int_eq(I(v), 42);
	wt_ok(weft_context_get(r->ctx, r->c, &v));
	ck_assert_int_eq(I(v), 42);
	return P(5);
}

START_TEST(run_sets_in_the_context_and_returns)
{
	struct run3 r = {NULL, var_default("a", P(0))};
	wt_ok(weft_context_new(&r.ctx));
	void *ret = NULL;
	wt_ok(weft_context_run(r.ctx, run_6, &r, &ret));
	ck_assert_int_eq(I(ret), 5);
	/* Outside, the value is the default again. */
	ck_assert_int_eq(I(weft_context_var_get_or(r.c, P(9))), 9);
	ck_assert_uint_eq(weft_context_len(r.ctx), 1);
	wt_rc(weft_context_run(NULL, run_6, &r, NULL), WEFT_EINVAL);
	wt_rc(weft_context_run(r.ctx, NULL, &r, NULL), WEFT_EINVAL);
	weft_context_free(r.ctx);
	weft_context_var_free(r.c);
}
END_TEST

static void *run_7(void *arg)
{
	struct run3 *r = arg;
	wt_rc(weft_context_run(r->ctx, run_7, r, NULL), WEFT_EBUSY); /* is already entered */
	return NULL;
}

START_TEST(run_twice_is_refused)
{
	struct run3 r = {NULL, NULL};
	wt_ok(weft_context_new(&r.ctx));
	wt_ok(weft_context_run(r.ctx, run_7, &r, NULL));
	/* And enterable again afterwards. */
	wt_ok(weft_context_run(r.ctx, run_7, &r, NULL));
	weft_context_free(r.ctx);
}
END_TEST

struct run4 {
	weft_context *ctx1, *ctx2;
	weft_context_var *var;
	weft_context *returned;
};

static void *run4_f2(void *arg)
{
	struct run4 *r = arg;
	ck_assert_ptr_null(weft_context_var_get_or(r->var, NULL));
	return NULL;
}

static void *run4_f1(void *arg)
{
	struct run4 *r = arg;
	ck_assert_ptr_null(weft_context_var_get_or(r->var, NULL));
	wt_ok(weft_context_var_set(r->var, P(3), NULL));
	wt_ok(weft_context_run(r->ctx2, run4_f2, r, NULL));
	ck_assert_int_eq(I(weft_context_var_get_or(r->var, NULL)), 3);
	weft_context *cur;
	wt_ok(weft_context_copy_current(&cur));
	ck_assert_uint_eq(weft_context_len(cur), 1);
	void *v;
	wt_ok(weft_context_get(cur, r->var, &v));
	ck_assert_int_eq(I(v), 3);
	r->returned = cur;
	return NULL;
}

START_TEST(run_nested_contexts)
{
	struct run4 r = {0};
	wt_ok(weft_context_new(&r.ctx1));
	wt_ok(weft_context_new(&r.ctx2));
	r.var = var_new("var");
	wt_ok(weft_context_run(r.ctx1, run4_f1, &r, NULL));
	void *v;
	wt_ok(weft_context_get(r.ctx1, r.var, &v));
	ck_assert_int_eq(I(v), 3);
	ck_assert(weft_context_contains(r.returned, r.var));
	ck_assert_uint_eq(weft_context_len(r.ctx2), 0);
	weft_context_free(r.returned);
	weft_context_free(r.ctx1);
	weft_context_free(r.ctx2);
	weft_context_var_free(r.var);
}
END_TEST

struct copy1 {
	weft_context *ctx1, *ctx2;
	weft_context_var *c;
};

static void *ctx2_fun(void *arg)
{
	struct copy1 *a = arg;
	ck_assert_int_eq(I(weft_context_var_get_or(a->c, NULL)), 10);
	wt_ok(weft_context_var_set(a->c, P(30), NULL));
	ck_assert_int_eq(I(weft_context_var_get_or(a->c, NULL)), 30);
	return NULL;
}

static int ctx_val(weft_context *ctx, weft_context_var *var)
{
	void *v = NULL;
	wt_ok(weft_context_get(ctx, var, &v));
	return I(v);
}

static void *ctx1_fun(void *arg)
{
	struct copy1 *a = arg;
	wt_ok(weft_context_var_set(a->c, P(10), NULL));
	wt_ok(weft_context_copy(a->ctx1, &a->ctx2));
	ck_assert_int_eq(ctx_val(a->ctx2, a->c), 10);
	wt_ok(weft_context_var_set(a->c, P(20), NULL));
	ck_assert_int_eq(ctx_val(a->ctx1, a->c), 20);
	ck_assert_int_eq(ctx_val(a->ctx2, a->c), 10);
	wt_ok(weft_context_run(a->ctx2, ctx2_fun, a, NULL));
	ck_assert_int_eq(ctx_val(a->ctx1, a->c), 20);
	ck_assert_int_eq(ctx_val(a->ctx2, a->c), 30);
	return NULL;
}

START_TEST(copy_is_a_snapshot)
{
	struct copy1 a = {0};
	wt_ok(weft_context_new(&a.ctx1));
	a.c = var_default("c", P(42));
	wt_ok(weft_context_run(a.ctx1, ctx1_fun, &a, NULL));
	wt_rc(weft_context_copy(NULL, &a.ctx2), WEFT_EINVAL);
	wt_rc(weft_context_copy(a.ctx1, NULL), WEFT_EINVAL);
	weft_context_free(a.ctx1);
	weft_context_free(a.ctx2);
	weft_context_var_free(a.c);
}
END_TEST

START_TEST(enter_and_exit_like_with)
{
	/* test_context_manager and the seed example: a value set inside a
	 * copied context stays unchanged outside. */
	weft_context_var *cvar = var_default("cvar", "initial");
	void *v;
	wt_ok(weft_context_var_get(cvar, &v));
	ck_assert_str_eq(v, "initial");
	weft_context *ctx;
	wt_ok(weft_context_copy_current(&ctx));
	wt_ok(weft_context_enter(ctx));
	wt_rc(weft_context_enter(ctx), WEFT_EBUSY); /* not reentrant */
	wt_ok(weft_context_var_set(cvar, "updated", NULL));
	wt_ok(weft_context_var_get(cvar, &v));
	ck_assert_str_eq(v, "updated");
	wt_ok(weft_context_exit(ctx));
	wt_ok(weft_context_var_get(cvar, &v));
	ck_assert_str_eq(v, "initial");
	/* Enter again after exit: the value is still there. */
	wt_ok(weft_context_enter(ctx));
	wt_ok(weft_context_var_get(cvar, &v));
	ck_assert_str_eq(v, "updated");
	wt_ok(weft_context_exit(ctx));
	/* Exiting a context that is not entered, or not the current one. */
	wt_rc(weft_context_exit(ctx), WEFT_EPERM);
	weft_context *outer, *inner;
	wt_ok(weft_context_copy_current(&outer));
	wt_ok(weft_context_copy_current(&inner));
	wt_ok(weft_context_enter(outer));
	wt_ok(weft_context_enter(inner));
	wt_rc(weft_context_exit(outer), WEFT_EPERM);
	wt_ok(weft_context_exit(inner));
	wt_ok(weft_context_exit(outer));
	wt_rc(weft_context_enter(NULL), WEFT_EINVAL);
	wt_rc(weft_context_exit(NULL), WEFT_EINVAL);
	weft_context_free(inner);
	weft_context_free(outer);
	weft_context_free(ctx);
	weft_context_var_free(cvar);
}
END_TEST

static void *enter_only(void *arg)
{
	wt_ok(weft_context_enter(arg));
	return NULL;
}

struct holder {
	weft_context *ctx;
	int entered;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int release;
};

static void *enter_and_hold(void *arg)
{
	struct holder *h = arg;
	wt_ok(weft_context_enter(h->ctx));
	pthread_mutex_lock(&h->mu);
	h->entered = 1;
	pthread_cond_broadcast(&h->cv);
	while (!h->release)
		pthread_cond_wait(&h->cv, &h->mu);
	pthread_mutex_unlock(&h->mu);
	wt_ok(weft_context_exit(h->ctx));
	return NULL;
}

START_TEST(entered_in_another_thread_is_busy)
{
	struct holder h = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
	wt_ok(weft_context_new(&h.ctx));
	wt_thread *t = wt_spawn(enter_and_hold, &h);
	pthread_mutex_lock(&h.mu);
	while (!h.entered)
		pthread_cond_wait(&h.cv, &h.mu);
	pthread_mutex_unlock(&h.mu);
	wt_rc(weft_context_run(h.ctx, run_6, NULL, NULL), WEFT_EBUSY);
	wt_rc(weft_context_enter(h.ctx), WEFT_EBUSY);
	pthread_mutex_lock(&h.mu);
	h.release = 1;
	pthread_cond_broadcast(&h.cv);
	pthread_mutex_unlock(&h.mu);
	wt_join(t);
	wt_ok(weft_context_enter(h.ctx));
	wt_ok(weft_context_exit(h.ctx));
	weft_context_free(h.ctx);
}
END_TEST

START_TEST(exit_from_another_thread_is_refused)
{
	weft_context *ctx;
	wt_ok(weft_context_copy_current(&ctx));
	wt_join(wt_spawn(enter_only, ctx)); /* the thread ends with ctx entered */
	wt_rc(weft_context_exit(ctx), WEFT_EPERM);
	/* The thread's end released its hold on ctx: it can be entered now. */
	wt_ok(weft_context_enter(ctx));
	wt_ok(weft_context_exit(ctx));
	weft_context_free(ctx);
}
END_TEST

struct many {
	weft_context_var *vars[200];
	int seen[200];
};

static int visit(weft_context_var *var, void *value, void *arg)
{
	struct many *m = arg;
	int i = I(value);
	ck_assert_ptr_eq(m->vars[i], var);
	m->seen[i]++;
	return 0;
}

static int stop_at_3(weft_context_var *var, void *value, void *arg)
{
	(*(int *)arg)++;
	return *(int *)arg == 3 ? 77 : 0;
}

START_TEST(many_variables_iterate_and_delete)
{
	/* Enough variables for several trie levels; every one found, every
	 * copy unaffected by later changes, resets shrink the map back. */
	struct many m = {0};
	weft_context *ctx;
	wt_ok(weft_context_new(&ctx));
	wt_ok(weft_context_enter(ctx));
	weft_context_token *toks[200];
	for (int i = 0; i < 200; i++) {
		char name[16];
		snprintf(name, sizeof name, "v%d", i);
		m.vars[i] = var_new(name);
		wt_ok(weft_context_var_set(m.vars[i], P(i), &toks[i]));
	}
	weft_context *snap;
	wt_ok(weft_context_copy_current(&snap));
	ck_assert_uint_eq(weft_context_len(snap), 200);
	wt_ok(weft_context_foreach(snap, visit, &m));
	for (int i = 0; i < 200; i++)
		ck_assert_int_eq(m.seen[i], 1);
	int count = 0;
	ck_assert_int_eq(weft_context_foreach(snap, stop_at_3, &count), 77);
	ck_assert_int_eq(count, 3);
	wt_rc(weft_context_foreach(NULL, visit, &m), WEFT_EINVAL);
	wt_rc(weft_context_foreach(snap, NULL, &m), WEFT_EINVAL);
	/* Overwrite then reset every other one, in a scrambled order. */
	for (int k = 0; k < 200; k++) {
		int i = (k * 37) % 200;
		if (i % 2)
			wt_ok(weft_context_var_reset(m.vars[i], toks[i]));
	}
	ck_assert_uint_eq(weft_context_len(ctx), 100);
	for (int i = 0; i < 200; i++) {
		void *v;
		int rc = weft_context_var_get(m.vars[i], &v);
		if (i % 2) {
			wt_rc(rc, WEFT_ENOENT);
		} else {
			wt_ok(rc);
			ck_assert_int_eq(I(v), i);
		}
		ck_assert_int_eq(ctx_val(snap, m.vars[i]), i);
	}
	for (int i = 0; i < 200; i += 2)
		wt_ok(weft_context_var_reset(m.vars[i], toks[i]));
	ck_assert_uint_eq(weft_context_len(ctx), 0);
	ck_assert_uint_eq(weft_context_len(snap), 200);
	wt_ok(weft_context_exit(ctx));
	for (int i = 0; i < 200; i++)
		weft_context_token_free(toks[i]);
	/* Retired variables vanish from the contexts that held them. */
	for (int i = 0; i < 100; i++)
		weft_context_var_free(m.vars[i]);
	ck_assert_uint_eq(weft_context_len(snap), 100);
	memset(m.seen, 0, sizeof m.seen);
	wt_ok(weft_context_foreach(snap, visit, &m));
	for (int i = 0; i < 200; i++)
		ck_assert_int_eq(m.seen[i], i >= 100);
	void *v;
	wt_rc(weft_context_get(snap, m.vars[0], &v), WEFT_EINVAL);
	ck_assert(!weft_context_contains(snap, m.vars[0]));
	for (int i = 100; i < 200; i++)
		weft_context_var_free(m.vars[i]);
	ck_assert_uint_eq(weft_context_len(snap), 0);
	weft_context_free(snap);
	weft_context_free(ctx);
}
END_TEST

struct thr {
	weft_context_var *var;
	int base;
	int ok;
};

static void *thread_sets(void *arg)
{
	struct thr *t = arg;
	/* A new thread starts with an empty context. */
	if (weft_context_var_get_or(t->var, P(-1)) != P(-1))
		return NULL;
	for (int i = 0; i < 1000; i++) {
		wt_ok(weft_context_var_set(t->var, P(t->base + i), NULL));
		if (weft_context_var_get_or(t->var, NULL) != P(t->base + i))
			return NULL;
	}
	t->ok = 1;
	return NULL;
}

START_TEST(threads_have_their_own_context)
{
	/* test_context_threads_1 */
	weft_context_var *var = var_new("cvar");
	wt_ok(weft_context_var_set(var, P(5), NULL));
	struct thr t[4];
	wt_thread *th[4];
	for (int i = 0; i < 4; i++) {
		t[i] = (struct thr){var, 1000 * (i + 1), 0};
		th[i] = wt_spawn(thread_sets, &t[i]);
	}
	for (int i = 0; i < 4; i++) {
		wt_join(th[i]);
		ck_assert_int_eq(t[i].ok, 1);
	}
	ck_assert_int_eq(I(weft_context_var_get_or(var, NULL)), 5);
	weft_context_var_free(var);
}
END_TEST

struct reader {
	weft_context *ctx;
	weft_context_var *var;
	_Atomic int stop;
	long reads;
};

static void *read_other(void *arg)
{
	struct reader *r = arg;
	while (!atomic_load(&r->stop)) {
		void *v;
		int rc = weft_context_get(r->ctx, r->var, &v);
		ck_assert(rc == 0 || rc == WEFT_ENOENT);
		/* A copy's value never changes afterwards, whatever the owner
		 * sets (in place, when nothing else holds its map). */
		weft_context *c;
		wt_ok(weft_context_copy(r->ctx, &c));
		void *a = NULL, *b = NULL;
		rc = weft_context_get(c, r->var, &a);
		for (int i = 0; i < 20; i++)
			sched_yield();
		ck_assert_int_eq(weft_context_get(c, r->var, &b), rc);
		ck_assert_ptr_eq(a, b);
		weft_context_free(c);
		r->reads++;
	}
	return NULL;
}

START_TEST(other_threads_read_an_entered_context)
{
	struct reader r = {0};
	wt_ok(weft_context_new(&r.ctx));
	r.var = var_new("x");
	wt_thread *th = wt_spawn(read_other, &r);
	wt_ok(weft_context_enter(r.ctx));
	for (int i = 0; i < 20000; i++)
		wt_ok(weft_context_var_set(r.var, P(i), NULL));
	wt_ok(weft_context_exit(r.ctx));
	atomic_store(&r.stop, 1);
	wt_join(th);
	ck_assert_int_eq(ctx_val(r.ctx, r.var), 19999);
	weft_context_free(r.ctx);
	weft_context_var_free(r.var);
}
END_TEST

/* A set updates the map in place when nothing shares it: copies taken
 * before (contexts, snapshots that pool tasks run in) must keep their
 * values, at every depth of the trie. */
static void *in_place_fun(void *arg)
{
	enum { NV = 100 };
	weft_context_var *v[NV];
	for (int i = 0; i < NV; i++) {
		v[i] = var_new("v");
		wt_ok(weft_context_var_set(v[i], P(i), NULL));
	}
	for (int round = 1; round <= 3; round++) {
		weft_context *snap;
		wt_ok(weft_context_copy_current(&snap));
		for (int i = 0; i < NV; i++)
			wt_ok(weft_context_var_set(v[i], P(round * 1000 + i), NULL));
		/* The first set after the copy copied the path; these go in
		 * place, and the copy must not see them either. */
		for (int i = 0; i < NV; i++)
			wt_ok(weft_context_var_set(v[i], P(round * 1000 + i + 1), NULL));
		for (int i = 0; i < NV; i++) {
			ck_assert_int_eq(ctx_val(snap, v[i]), (round - 1) * 1000 + i + (round > 1));
			void *x;
			wt_ok(weft_context_var_get(v[i], &x));
			ck_assert_int_eq(I(x), round * 1000 + i + 1);
		}
		weft_context_free(snap);
	}
	/* A token's old value is the one before an in-place set. */
	weft_context_token *t;
	wt_ok(weft_context_var_set(v[7], P(77), &t));
	void *old;
	wt_ok(weft_context_token_old_value(t, &old));
	ck_assert_int_eq(I(old), 3007 + 1);
	wt_ok(weft_context_var_reset(v[7], t));
	ck_assert_int_eq(I(weft_context_var_get_or(v[7], NULL)), 3008);
	weft_context_token_free(t);
	for (int i = 0; i < NV; i++)
		weft_context_var_free(v[i]);
	return NULL;
}

START_TEST(set_in_place_keeps_copies)
{
	isolated(in_place_fun, NULL);
	in_place_fun(NULL); /* the thread's implicit level too */
}
END_TEST

START_TEST(argument_errors)
{
	void *v;
	weft_context *ctx;
	wt_rc(weft_context_var_get(NULL, &v), WEFT_EINVAL);
	weft_context_var *var = var_new("v");
	wt_rc(weft_context_var_get(var, NULL), WEFT_EINVAL);
	ck_assert_int_eq(I(weft_context_var_get_or(NULL, P(3))), 3);
	wt_rc(weft_context_var_set(NULL, P(1), NULL), WEFT_EINVAL);
	wt_rc(weft_context_new(NULL), WEFT_EINVAL);
	wt_rc(weft_context_copy_current(NULL), WEFT_EINVAL);
	wt_ok(weft_context_new(&ctx));
	wt_rc(weft_context_get(NULL, var, &v), WEFT_EINVAL);
	wt_rc(weft_context_get(ctx, NULL, &v), WEFT_EINVAL);
	wt_rc(weft_context_get(ctx, var, NULL), WEFT_EINVAL);
	ck_assert(!weft_context_contains(NULL, var));
	ck_assert(!weft_context_contains(ctx, NULL));
	ck_assert_uint_eq(weft_context_len(NULL), 0);
	wt_rc(weft_context_token_old_value(NULL, &v), WEFT_EINVAL);
	ck_assert_ptr_null(weft_context_token_var(NULL));
	ck_assert(!weft_context_token_used(NULL));
	weft_context_token_free(NULL);
	weft_context_free(NULL);
	weft_context_free(ctx);
	weft_context_var_free(var);
}
END_TEST

START_TEST(retired_variables_refuse_calls)
{
	weft_context_var *v = var_default("r", P(1));
	wt_ok(weft_context_var_set(v, P(2), NULL));
	weft_context_var_free(v);
	weft_context_var_free(v); /* twice: harmless */
	void *val;
	wt_rc(weft_context_var_get(v, &val), WEFT_EINVAL);
	ck_assert_int_eq(I(weft_context_var_get_or(v, P(9))), 9);
	wt_rc(weft_context_var_set(v, P(3), NULL), WEFT_EINVAL);
	ck_assert_str_eq(weft_context_var_name(v), "r"); /* still readable memory */
}
END_TEST

START_TEST(null_default_is_a_default)
{
	weft_context_var *v = var_default("d", NULL);
	void *val = P(1);
	wt_ok(weft_context_var_get(v, &val));
	ck_assert_ptr_null(val);
	weft_context_var_free(v);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("contextvars");
	TCase *tc = wt_tcase("contextvars", 30);
	tcase_add_test(tc, var_new_checks_arguments);
	tcase_add_test(tc, getset_and_tokens);
	tcase_add_test(tc, reset_with_another_variables_token);
	tcase_add_test(tc, reset_in_another_context);
	tcase_add_test(tc, run_sets_in_the_context_and_returns);
	tcase_add_test(tc, run_twice_is_refused);
	tcase_add_test(tc, run_nested_contexts);
	tcase_add_test(tc, copy_is_a_snapshot);
	tcase_add_test(tc, enter_and_exit_like_with);
	tcase_add_test(tc, entered_in_another_thread_is_busy);
	tcase_add_test(tc, exit_from_another_thread_is_refused);
	tcase_add_test(tc, many_variables_iterate_and_delete);
	tcase_add_test(tc, threads_have_their_own_context);
	tcase_add_test(tc, other_threads_read_an_entered_context);
	tcase_add_test(tc, set_in_place_keeps_copies);
	tcase_add_test(tc, argument_errors);
	tcase_add_test(tc, retired_variables_refuse_calls);
	tcase_add_test(tc, null_default_is_a_default);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
