/* The named-task registry. A lock-free list: tasks are pushed by
 * constructors (before main, possibly from several shared objects) and never
 * removed, so readers walk it without a lock.
 *
 * Why constructors and not a linker section: the __start/__stop symbols of a
 * section exist per linked module, so libweft.so could not see the tasks of
 * the program that links it. A constructor runs in every module, before main,
 * in the parent and in every forked or re-executed child alike. */
#include "core/core.h"

#include <stdatomic.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <weft/task.h>

static _Atomic(weft_task *) head;
void (*_Atomic weft__task_registered_hook)(const weft_task *task);

int weft_task_register(weft_task *task)
{
	if (!task || !task->name || !task->fn)
		return WEFT_EINVAL;
	weft_task *old = atomic_load(&head);
	do
		task->next = old;
	while (!atomic_compare_exchange_weak(&head, &old, task));
	void (*hook)(const weft_task *) = atomic_load(&weft__task_registered_hook);
	if (hook)
		hook(task);
	return 0;
}

/* The list is newest first; the first registration of a name wins, so keep
 * the last match while walking. */
const weft_task *weft_task_lookup(const char *name)
{
	if (!name)
		return NULL;
	const weft_task *found = NULL;
	for (weft_task *t = atomic_load(&head); t; t = t->next)
		if (strcmp(t->name, name) == 0)
			found = t;
	return found;
}

const weft_task *weft_task_find(weft_task_fn fn)
{
	if (!fn)
		return NULL;
	const weft_task *found = NULL;
	for (weft_task *t = atomic_load(&head); t; t = t->next)
		if (t->fn == fn)
			found = t;
	return found;
}

int weft_bytes_set(weft_bytes *out, const void *data, size_t len)
{
	if (!out || (!data && len))
		return WEFT_EINVAL;
	/* The block it holds is big enough: reuse it (a task called in a loop
	 * with one output, as the process pool's fixed-record map does, then
	 * allocates once; that loop empties len before each call, so it asks
	 * the allocator for the block's size). memmove: data may point into
	 * it. */
	if (len && out->data && len <= malloc_usable_size(out->data)) {
		memmove(out->data, data, len);
		out->len = len;
		return 0;
	}
	void *copy = NULL;
	if (len) {
		copy = malloc(len);
		if (!copy)
			return WEFT_ENOMEM;
		memcpy(copy, data, len);
	}
	free(out->data);
	out->data = copy;
	out->len = len;
	return 0;
}

void weft_bytes_free(weft_bytes *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
}
