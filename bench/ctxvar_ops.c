/* contextvars: the cost of copy_context(), ContextVar.set() and
 * ContextVar.get() in ns per operation, weft against Python's contextvars
 * (C-implemented HAMT), each with ten variables set in the context. A copy
 * takes one reference to the map. A set on a map nobody else holds writes
 * in place; after a copy it copies the path (the copy + set case). */
#include "bench.h"

#include <weft.h>

enum { OPS = 2000000, VARS = 10 };

static weft_context_var *vars[VARS];

static double weft_copy(void *arg)
{
	double t0 = bench_now();
	for (int i = 0; i < OPS; i++) {
		weft_context *c;
		if (weft_context_copy_current(&c))
			return -1;
		weft_context_free(c);
	}
	return (bench_now() - t0) / OPS * 1e9;
}

static double weft_set(void *arg)
{
	double t0 = bench_now();
	for (int i = 0; i < OPS; i++)
		if (weft_context_var_set(vars[i % VARS], (void *)(intptr_t)i, NULL))
			return -1;
	return (bench_now() - t0) / OPS * 1e9;
}

/* A set on a map that a copy shares: the path is copied. */
static double weft_copy_set(void *arg)
{
	double t0 = bench_now();
	for (int i = 0; i < OPS; i++) {
		weft_context *c;
		if (weft_context_copy_current(&c) ||
		    weft_context_var_set(vars[i % VARS], (void *)(intptr_t)i, NULL))
			return -1;
		weft_context_free(c);
	}
	return (bench_now() - t0) / OPS * 1e9;
}

static double weft_get(void *arg)
{
	double t0 = bench_now();
	uintptr_t sum = 0;
	for (int i = 0; i < OPS; i++) {
		void *v;
		if (weft_context_var_get(vars[i % VARS], &v))
			return -1;
		sum += (uintptr_t)v;
	}
	bench_keep(sum);
	return (bench_now() - t0) / OPS * 1e9;
}

#define PY_SETUP                                                        \
	"import contextvars, timeit\n"                                  \
	"vs = [contextvars.ContextVar('v%d' % i) for i in range(10)]\n" \
	"for i, v in enumerate(vs):\n"                                  \
	"    v.set(i)\n"                                                \
	"n = 1000000\n"

static double python_copy(void *arg)
{
	return bench_python(PY_SETUP "t = timeit.timeit(contextvars.copy_context, number=n)\n"
	                             "print(t / n * 1e9)\n");
}

static double python_set(void *arg)
{
	return bench_python(PY_SETUP "s = vs[3].set\n"
	                             "t = timeit.timeit(lambda: s(5), number=n)\n"
	                             "e = timeit.timeit(lambda: None, number=n)\n"
	                             "print((t - e) / n * 1e9)\n");
}

static double python_copy_set(void *arg)
{
	return bench_python(PY_SETUP "s = vs[3].set\n"
	                             "cc = contextvars.copy_context\n"
	                             "def f():\n"
	                             "    c = cc()\n"
	                             "    s(5)\n"
	                             "t = timeit.timeit(f, number=n)\n"
	                             "e = timeit.timeit(lambda: None, number=n)\n"
	                             "print((t - e) / n * 1e9)\n");
}

static double python_get(void *arg)
{
	return bench_python(PY_SETUP "g = vs[3].get\n"
	                             "t = timeit.timeit(g, number=n)\n"
	                             "print(t / n * 1e9)\n");
}

int main(void)
{
	for (int i = 0; i < VARS; i++) {
		if (weft_context_var_new(&vars[i], "v", NULL) ||
		    weft_context_var_set(vars[i], (void *)(intptr_t)i, NULL))
			return 1;
	}
	int rc = 0;
	bench_case copy[] = {{"weft_context_copy_current", weft_copy, NULL},
	                     {"Python contextvars.copy_context()", python_copy, NULL}};
	rc |= bench_run(&(bench_spec){.title = "copy_context, 10 variables set", .unit = "ns/op"}, copy, 2);
	bench_case set[] = {{"weft_context_var_set", weft_set, NULL},
	                    {"Python ContextVar.set()", python_set, NULL}};
	rc |= bench_run(&(bench_spec){.title = "ContextVar.set, 10 variables set", .unit = "ns/op"}, set, 2);
	bench_case copy_set[] = {{"weft copy_current + var_set", weft_copy_set, NULL},
	                         {"Python copy_context() + set()", python_copy_set, NULL}};
	rc |= bench_run(
	    &(bench_spec){.title = "copy_context then ContextVar.set (the set copies the shared map)",
	                  .unit = "ns/op"},
	    copy_set, 2);
	bench_case get[] = {{"weft_context_var_get", weft_get, NULL},
	                    {"Python ContextVar.get()", python_get, NULL}};
	rc |= bench_run(&(bench_spec){.title = "ContextVar.get, 10 variables set", .unit = "ns/op"}, get, 2);
	for (int i = 0; i < VARS; i++)
		weft_context_var_free(vars[i]);
	return rc;
}
