/* threading.excepthook: the process-wide hook a failed thread reports to,
 * and the default one (threading.__excepthook__). */
#include "threading/thread_impl.h"

#include <stdio.h>

static _Atomic(weft_excepthook) hook = weft_thread_default_excepthook;

weft_excepthook weft__excepthook(void)
{
	return atomic_load_explicit(&hook, memory_order_acquire);
}

weft_excepthook weft_thread_set_excepthook(weft_excepthook h)
{
	return atomic_exchange_explicit(&hook, h ? h : weft_thread_default_excepthook, memory_order_acq_rel);
}

void weft_thread_default_excepthook(const weft_excepthook_args *args)
{
	if (!args)
		return;
	const char *msg = args->message && *args->message ? args->message : weft_strerror(args->code);
	/* One fprintf: stderr is unbuffered, so one call keeps the line whole
	 * when several threads fail at once. */
	if (args->thread)
		fprintf(stderr, "Exception in thread %s: %s: %s\n", weft_thread_name(args->thread),
		        weft_errname(args->code), msg);
	else
		fprintf(stderr, "Exception in thread %lu: %s: %s\n", weft_thread_get_ident(),
		        weft_errname(args->code), msg);
}
