/* The _thread module: start_new_thread and stack_size.
 *
 * start_new_thread makes a bare detached thread with no registry record:
 * nobody can join it and the exit join ignores it, as in Python. Its
 * failure still reaches the excepthook (Python: sys.unraisablehook), and its
 * thread-locals are destroyed when it ends. */
#include "threading/thread_impl.h"

#include <stdlib.h>
#include <unistd.h>

static _Atomic size_t stack_setting; /* 0: the system's default */

size_t weft_thread_stack_size(void)
{
	return atomic_load_explicit(&stack_setting, memory_order_relaxed);
}

int weft_thread_set_stack_size(size_t size)
{
	if (size && size < WEFT_THREAD_STACK_MIN)
		return WEFT_EINVAL;
	atomic_store_explicit(&stack_setting, size, memory_order_relaxed);
	return 0;
}

int weft__thread_spawn(void *(*fn)(void *), void *arg, size_t stack, bool detached, pthread_t *pt)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	if (detached)
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	/* Round up to whole pages: some systems refuse other sizes. */
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	int rc = stack ? pthread_attr_setstacksize(&attr, (stack + page - 1) / page * page) : 0;
	if (rc == 0)
		rc = pthread_create(pt, &attr, fn, arg);
	pthread_attr_destroy(&attr);
	if (rc == EAGAIN)
		return WEFT_EAGAIN; /* Python: "can't start new thread" */
	return rc ? WEFT_ENOMEM : 0;
}

struct bare {
	weft_thread_fn fn;
	void *arg;
};

static void *bare_main(void *p)
{
	struct bare b = *(struct bare *)p;
	free(p);
	char *msg;
	weft__thread_call(b.fn, b.arg, NULL, NULL, NULL, &msg);
	free(msg);
	weft__local_thread_exit();
	return NULL;
}

int weft_thread_start_new(weft_thread_fn fn, void *arg, unsigned long *ident)
{
	if (!fn)
		return WEFT_EINVAL;
	struct bare *b = malloc(sizeof *b);
	if (!b)
		return WEFT_ENOMEM;
	*b = (struct bare){fn, arg};
	pthread_t pt;
	int rc = weft__thread_spawn(bare_main, b, weft_thread_stack_size(), true, &pt);
	if (rc) {
		free(b);
		return rc;
	}
	if (ident)
		*ident = (unsigned long)pt;
	return 0;
}
