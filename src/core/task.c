/* The named-task registry. A lock-free list: tasks are pushed by
 * constructors (before main, possibly from several shared objects) and never
 * removed, so readers walk it without a lock.
 *
 * Why constructors and not a linker section: the __start/__stop symbols of a
 * section exist per linked module, so libweft.so could not see the tasks of
 * the program that links it. A constructor runs in every module, before main,
 * in the parent and in every forked or re-executed child alike. */
#include "core/core.h"

#include <pthread.h>
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
	 * it. Bytes in a module's mapping are no malloc block: replaced. */
	if (len && out->data && !weft__mapped_contains(out->data) && len <= malloc_usable_size(out->data)) {
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
	weft_bytes_free(out);
	out->data = copy;
	out->len = len;
	return 0;
}

/* Bytes that live in a mapping a module owns (a large capture) are listed
 * here, so weft_bytes_free hands them back to their owner instead of
 * free(). The list is usually empty: an ordinary free then costs one
 * relaxed load. A relaxed load suffices: whoever frees the bytes got them
 * from the registering thread through some happens-before edge, so it sees
 * a count that includes them. mapped_mu is a leaf lock held for a list
 * walk; it is taken around fork (atfork) so a child never inherits it held. */
static pthread_mutex_t mapped_mu = PTHREAD_MUTEX_INITIALIZER;
static weft__mapped *mapped_head;
static atomic_size_t mapped_count;

static void mapped_atfork_prepare(void)
{
	pthread_mutex_lock(&mapped_mu);
}
static void mapped_atfork_release(void)
{
	pthread_mutex_unlock(&mapped_mu);
}
__attribute__((constructor)) static void mapped_init(void)
{
	pthread_atfork(mapped_atfork_prepare, mapped_atfork_release, mapped_atfork_release);
}

void weft__mapped_add(weft__mapped *m)
{
	pthread_mutex_lock(&mapped_mu);
	m->prev = NULL;
	m->next = mapped_head;
	if (mapped_head)
		mapped_head->prev = m;
	mapped_head = m;
	atomic_fetch_add_explicit(&mapped_count, 1, memory_order_relaxed);
	pthread_mutex_unlock(&mapped_mu);
}

/* The entry whose data is data, or NULL; mapped_mu held. */
static weft__mapped *mapped_find(const void *data)
{
	weft__mapped *m = mapped_head;
	while (m && m->data != data)
		m = m->next;
	return m;
}

/* Unlists and returns the entry whose data is data, or NULL. */
static weft__mapped *mapped_take(const void *data)
{
	pthread_mutex_lock(&mapped_mu);
	weft__mapped *m = mapped_find(data);
	if (m) {
		if (m->prev)
			m->prev->next = m->next;
		else
			mapped_head = m->next;
		if (m->next)
			m->next->prev = m->prev;
		atomic_fetch_sub_explicit(&mapped_count, 1, memory_order_relaxed);
	}
	pthread_mutex_unlock(&mapped_mu);
	return m;
}

bool weft__mapped_contains(const void *data)
{
	if (!data || !atomic_load_explicit(&mapped_count, memory_order_relaxed))
		return false;
	pthread_mutex_lock(&mapped_mu);
	bool found = mapped_find(data) != NULL;
	pthread_mutex_unlock(&mapped_mu);
	return found;
}

void weft_bytes_free(weft_bytes *b)
{
	if (!b)
		return;
	weft__mapped *m = NULL;
	if (b->data && atomic_load_explicit(&mapped_count, memory_order_relaxed))
		m = mapped_take(b->data);
	if (m)
		m->release(m);
	else
		free(b->data);
	b->data = NULL;
	b->len = 0;
}
