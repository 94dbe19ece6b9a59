/* Error paths of contextvars under injected allocation failures
 * (wfault.h): each returns WEFT_ENOMEM, changes nothing, leaks nothing
 * (ASan) and the next call succeeds. Each test runs in a new thread, whose
 * caches of freed objects are empty. Faults are disarmed before any
 * assertion (Check allocates). */
#include "wtest.h"
#include "wfault.h"

#define P(x) ((void *)(uintptr_t)(x))
#define I(p) ((int)(uintptr_t)(p))

static void *in_thread(void *(*fn)(void *))
{
	return wt_join(wt_spawn(fn, NULL));
}

static void *var_new_faults(void *unused)
{
	weft_context_var *v = NULL;
	wt_fault_arm(WT_FAULT_ALLOC, 0, 1);
	int rc = weft_context_var_new(&v, "v", NULL);
	wt_fault_disarm();
	wt_rc(rc, WEFT_ENOMEM);
	wt_ok(weft_context_var_new(&v, "v", NULL));
	weft_context_var_free(v);
	return NULL;
}

START_TEST(var_new_out_of_memory)
{
	in_thread(var_new_faults);
}
END_TEST

static void *context_faults(void *unused)
{
	weft_context *c = NULL;
	wt_fault_arm(WT_FAULT_ALLOC, 0, -1);
	int rc1 = weft_context_new(&c);
	int rc2 = weft_context_copy_current(&c);
	wt_fault_disarm();
	wt_rc(rc1, WEFT_ENOMEM);
	wt_rc(rc2, WEFT_ENOMEM);
	wt_ok(weft_context_new(&c));
	weft_context *d = NULL;
	wt_fault_arm(WT_FAULT_ALLOC, 0, -1);
	int rc3 = weft_context_copy(c, &d);
	wt_fault_disarm();
	wt_rc(rc3, WEFT_ENOMEM);
	wt_ok(weft_context_copy(c, &d));
	weft_context_free(d);
	weft_context_free(c);
	return NULL;
}

START_TEST(contexts_out_of_memory)
{
	in_thread(context_faults);
}
END_TEST

/* Every allocation a set can make (the token, the context object a token
 * needs, the trie's nodes), each failing in turn. */
static void *set_faults(void *unused)
{
	enum { NV = 40 };
	weft_context_var *v[NV];
	for (int i = 0; i < NV; i++)
		wt_ok(weft_context_var_new(&v[i], "v", NULL));
	for (int i = 0; i < NV; i++) {
		for (int k = 0;; k++) {
			ck_assert_int_lt(k, 64);
			weft_context_token *t = NULL;
			wt_fault_arm(WT_FAULT_ALLOC, k, 1);
			int rc = weft_context_var_set(v[i], P(i + 1), i % 2 ? &t : NULL);
			int hits = wt_fault_hits();
			wt_fault_disarm();
			void *x;
			if (rc) {
				wt_rc(rc, WEFT_ENOMEM);
				/* Nothing changed: the variable is still unset. */
				wt_rc(weft_context_var_get(v[i], &x), WEFT_ENOENT);
				continue;
			}
			wt_ok(weft_context_var_get(v[i], &x));
			ck_assert_int_eq(I(x), i + 1);
			weft_context_token_free(t);
			if (!hits)
				break;
			/* A success with a fault absorbed cannot happen: the
			 * allocations of a set are all needed. */
			ck_abort_msg("set succeeded with a failed allocation");
		}
		for (int j = 0; j <= i; j++) {
			void *x;
			wt_ok(weft_context_var_get(v[j], &x));
			ck_assert_int_eq(I(x), j + 1);
		}
	}
	for (int i = 0; i < NV; i++)
		weft_context_var_free(v[i]);
	return NULL;
}

START_TEST(set_out_of_memory)
{
	in_thread(set_faults);
}
END_TEST

/* A reset copies the trie when a copy of the context shares it; if that
 * fails the token stays unused and can be used again. The tokens are made
 * in a context on one thread; the resets run on a new thread (whose cache
 * of freed trie nodes is empty, so they must allocate) that enters it. */
struct reset_state {
	weft_context *ctx, *snap;
	weft_context_var *a, *b;
	weft_context_token *t1, *t2;
};

static void *make_tokens(void *arg)
{
	struct reset_state *r = arg;
	wt_ok(weft_context_var_set(r->b, P(2), NULL));
	wt_ok(weft_context_var_set(r->a, P(1), &r->t1)); /* reset deletes */
	wt_ok(weft_context_var_set(r->b, P(3), &r->t2)); /* reset restores 2 */
	return NULL;
}

static void *reset_faults(void *arg)
{
	struct reset_state *r = arg;
	wt_ok(weft_context_enter(r->ctx));
	wt_fault_arm(WT_FAULT_ALLOC, 0, -1);
	int rc1 = weft_context_var_reset(r->b, r->t2);
	int rc2 = weft_context_var_reset(r->a, r->t1);
	wt_fault_disarm();
	wt_rc(rc1, WEFT_ENOMEM);
	wt_rc(rc2, WEFT_ENOMEM);
	ck_assert(!weft_context_token_used(r->t1));
	ck_assert(!weft_context_token_used(r->t2));
	ck_assert_int_eq(I(weft_context_var_get_or(r->a, NULL)), 1);
	ck_assert_int_eq(I(weft_context_var_get_or(r->b, NULL)), 3);
	wt_ok(weft_context_var_reset(r->b, r->t2));
	wt_ok(weft_context_var_reset(r->a, r->t1));
	ck_assert_int_eq(I(weft_context_var_get_or(r->a, P(9))), 9);
	ck_assert_int_eq(I(weft_context_var_get_or(r->b, NULL)), 2);
	wt_ok(weft_context_exit(r->ctx));
	return NULL;
}

START_TEST(reset_out_of_memory)
{
	struct reset_state r = {0};
	wt_ok(weft_context_var_new(&r.a, "a", NULL));
	wt_ok(weft_context_var_new(&r.b, "b", NULL));
	wt_ok(weft_context_new(&r.ctx));
	wt_ok(weft_context_run(r.ctx, make_tokens, &r, NULL));
	wt_ok(weft_context_copy(r.ctx, &r.snap)); /* shares the map */
	wt_join(wt_spawn(reset_faults, &r));
	void *x;
	wt_ok(weft_context_get(r.snap, r.a, &x)); /* the copy kept its values */
	ck_assert_int_eq(I(x), 1);
	weft_context_free(r.snap);
	weft_context_free(r.ctx);
	weft_context_token_free(r.t1);
	weft_context_token_free(r.t2);
	weft_context_var_free(r.a);
	weft_context_var_free(r.b);
}
END_TEST

static void *run_body(void *arg)
{
	return arg;
}

/* A pool call runs in a copy of the submitter's context; entering it
 * allocates nothing, so a pool whose workers cannot allocate still runs
 * calls that set no variable. */
static void *pool_ctx_faults(void *unused)
{
	weft_context_var *v;
	wt_ok(weft_context_var_new(&v, "v", NULL));
	wt_ok(weft_context_var_set(v, P(5), NULL));
	weft_executor *ex;
	wt_ok(weft_thread_pool_new(&ex, &(weft_thread_pool_opts){.max_workers = 1}));
	weft_future *f;
	wt_ok(weft_executor_submit(ex, &f, run_body, P(1)));
	wt_ok(weft_future_result(f, 30, NULL));
	weft_future_release(f);
	wt_ok(weft_executor_submit(ex, &f, run_body, P(2)));
	wt_fault_arm_global(WT_FAULT_ALLOC, 0, -1);
	void *r = NULL;
	int rc = weft_future_result(f, 30, &r);
	wt_fault_disarm();
	wt_ok(rc);
	ck_assert_int_eq(I(r), 2);
	weft_future_release(f);
	weft_executor_free(ex);
	weft_context_var_free(v);
	return NULL;
}

START_TEST(pool_calls_in_context_out_of_memory)
{
	in_thread(pool_ctx_faults);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("contextvars_faults");
	TCase *tc = wt_tcase("faults", 30);
	tcase_add_test(tc, var_new_out_of_memory);
	tcase_add_test(tc, contexts_out_of_memory);
	tcase_add_test(tc, set_out_of_memory);
	tcase_add_test(tc, reset_out_of_memory);
	tcase_add_test(tc, pool_calls_in_context_out_of_memory);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
