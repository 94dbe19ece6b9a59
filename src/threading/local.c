/* threading.local: one void * per thread and local object.
 *
 * Each local owns a slot number; each thread that sets a value owns a
 * table of values indexed by slot. get reads the caller's own table with
 * no lock. Tables are on a global list, so weft_local_free can call the
 * destructor on every thread's value (Python drops every thread's value
 * when the local object dies; pthread_key_delete would not).
 *
 * mu guards the slot registry, the list of tables, each table's size, and
 * every access one thread makes to another thread's table. A thread
 * touches its own entries without the lock: the only cross-thread writes
 * are to the slot of a local being freed, which no thread may use then.
 *
 * A thread's values are destroyed when it ends: threads weft runs do it
 * before they count as finished (so after join nothing of theirs remains);
 * other threads through a pthread key destructor. Destructors never run
 * with mu held; like pthread keys, values set by destructors are destroyed
 * in up to four further rounds.
 *
 * Fork: mu is held across fork; the child forgets every table but its own
 * thread's (those threads do not exist there; no destructor runs). */
#include "threading/thread_impl.h"

#include <stdlib.h>

struct weft_local {
	size_t slot;
};

typedef struct table {
	void **values;
	size_t n;
	struct table *next, *prev;
} table;

typedef void (*dtor_fn)(void *);

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static table *tables;
static dtor_fn *dtors; /* per slot */
static bool *used;     /* per slot */
static size_t nslots;
static __thread table *mine;
static pthread_key_t exit_key;

enum { ROUNDS = 4 };

static void key_exit(void *p)
{
	(void)p;
	weft__local_thread_exit();
}

static void atfork_prepare(void)
{
	pthread_mutex_lock(&mu);
}

static void atfork_parent(void)
{
	pthread_mutex_unlock(&mu);
}

static void atfork_child(void)
{
	for (table *t = tables, *next; t; t = next) {
		next = t->next;
		if (t != mine) {
			free(t->values);
			free(t);
		}
	}
	tables = mine;
	if (mine)
		mine->next = mine->prev = NULL;
	pthread_mutex_unlock(&mu);
}

__attribute__((constructor)) static void local_init(void)
{
	pthread_key_create(&exit_key, key_exit);
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

int weft_local_new(weft_local **out, void (*destructor)(void *value))
{
	if (!out)
		return WEFT_EINVAL;
	*out = NULL;
	weft_local *l = malloc(sizeof *l);
	if (!l)
		return WEFT_ENOMEM;
	pthread_mutex_lock(&mu);
	size_t s = 0;
	while (s < nslots && used[s])
		s++;
	if (s == nslots) {
		size_t n = nslots ? nslots * 2 : 8;
		dtor_fn *d = realloc(dtors, n * sizeof *d);
		if (d)
			dtors = d;
		bool *u = d ? realloc(used, n * sizeof *u) : NULL;
		if (!u) {
			pthread_mutex_unlock(&mu);
			free(l);
			return WEFT_ENOMEM;
		}
		used = u;
		for (size_t i = nslots; i < n; i++)
			used[i] = false;
		nslots = n;
	}
	used[s] = true;
	dtors[s] = destructor;
	pthread_mutex_unlock(&mu);
	l->slot = s;
	*out = l;
	return 0;
}

void *weft_local_get(const weft_local *l)
{
	table *t = mine;
	return l && t && l->slot < t->n ? t->values[l->slot] : NULL;
}

int weft_local_set(weft_local *l, void *value)
{
	if (!l)
		return WEFT_EINVAL;
	table *t = mine;
	if (!t) {
		if (!value)
			return 0; /* unset already */
		t = calloc(1, sizeof *t);
		if (!t)
			return WEFT_ENOMEM;
		if (pthread_setspecific(exit_key, t)) {
			free(t);
			return WEFT_ENOMEM;
		}
		pthread_mutex_lock(&mu);
		t->next = tables;
		if (tables)
			tables->prev = t;
		tables = t;
		pthread_mutex_unlock(&mu);
		mine = t;
	}
	if (l->slot >= t->n) {
		pthread_mutex_lock(&mu);
		size_t n = t->n * 2 > l->slot + 1 ? t->n * 2 : l->slot + 1;
		void **v = realloc(t->values, n * sizeof *v);
		if (v) {
			for (size_t i = t->n; i < n; i++)
				v[i] = NULL;
			t->values = v;
			t->n = n;
		}
		pthread_mutex_unlock(&mu);
		if (!v)
			return WEFT_ENOMEM;
	}
	t->values[l->slot] = value;
	return 0;
}

/* Takes one value out of table t's slot s under mu, with its destructor. */
static void *take(table *t, size_t s, dtor_fn *d)
{
	void *v = s < t->n ? t->values[s] : NULL;
	if (v) {
		t->values[s] = NULL;
		*d = dtors[s];
	}
	return v;
}

void weft__local_thread_exit(void)
{
	table *t = mine;
	if (!t)
		return;
	for (int round = 0; round < ROUNDS; round++) {
		bool any = false;
		for (size_t s = 0; s < t->n; s++) {
			dtor_fn d = NULL;
			pthread_mutex_lock(&mu);
			void *v = take(t, s, &d);
			pthread_mutex_unlock(&mu);
			if (v && d) {
				d(v);
				any = true;
			}
		}
		if (!any)
			break;
	}
	pthread_mutex_lock(&mu);
	if (t->prev)
		t->prev->next = t->next;
	else
		tables = t->next;
	if (t->next)
		t->next->prev = t->prev;
	pthread_mutex_unlock(&mu);
	mine = NULL;
	pthread_setspecific(exit_key, NULL);
	free(t->values);
	free(t);
}

void weft_local_free(weft_local *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&mu);
	/* One value at a time, restarting the scan after each destructor (which
	 * runs unlocked, while tables may come and go). */
	for (table *t = tables; t;) {
		dtor_fn d = NULL;
		void *v = take(t, l->slot, &d);
		if (!v) {
			t = t->next;
			continue;
		}
		pthread_mutex_unlock(&mu);
		if (d)
			d(v);
		pthread_mutex_lock(&mu);
		t = tables;
	}
	used[l->slot] = false;
	dtors[l->slot] = NULL;
	pthread_mutex_unlock(&mu);
	free(l);
}
