/* weft_fail: the C form of raising. Runners (threads, pools, processes)
 * install a failure record around the task they run; weft_fail fills the
 * innermost one. The record lives in the runner's frame, so no allocation
 * happens unless a task actually fails. */
#include "core/core.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static WEFT__TLS weft__failure *current;
/* Failures outside any task: a fixed buffer, so a thread that ends never
 * leaks a message. */
static __thread char loose_msg[256];

weft__failure *weft__failure_enter(weft__failure *f)
{
	weft__failure *prev = current;
	f->code = 0;
	f->msg = NULL;
	current = f;
	return prev;
}

void weft__failure_leave(weft__failure *previous)
{
	current = previous;
}

void weft__failure_clear(weft__failure *f)
{
	free(f->msg);
	f->msg = NULL;
	f->code = 0;
}

int weft_fail(int code, const char *fmt, ...)
{
	if (code >= 0)
		return WEFT_EINVAL;
	va_list ap;
	va_start(ap, fmt);
	if (current) {
		char *msg = NULL;
		if (fmt && vasprintf(&msg, fmt, ap) < 0)
			msg = NULL;
		free(current->msg);
		current->msg = msg;
		current->code = code;
	} else if (fmt) {
		vsnprintf(loose_msg, sizeof loose_msg, fmt, ap);
	} else {
		loose_msg[0] = '\0';
	}
	va_end(ap);
	return code;
}

const char *weft_last_failure_message(void)
{
	return loose_msg;
}
