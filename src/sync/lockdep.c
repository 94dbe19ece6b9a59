/* Lock-order checking (WEFT_DEBUG_LOCKS=1): a potential deadlock is
 * reported before it happens.
 *
 * Each Lock/RLock (by address) is a node; "B was acquired while holding A"
 * adds the edge A -> B, with both call sites. Before a thread blocks on L
 * while holding H, a new edge H -> L that closes a path L -> ... -> H is a
 * lock-order inversion: it is reported once (the edge is then recorded,
 * so the same order never reports again). Polls (timeout 0) cannot
 * deadlock and add no edge, but the lock they take counts as held.
 *
 * Everything lives under one pthread mutex (`mu`), a leaf lock: no weft
 * lock and no user code runs under it. This is a debugging aid; it costs
 * nothing when off (the callers test weft__lockdep_on first).
 * Fork: mu is taken across fork; the child drops the records of the
 * threads that did not follow it.
 * Limits: locks are told apart by address, so memory reused for another
 * lock inherits the old lock's history unless it is (re)initialized with
 * weft_lock_init / weft_rlock_init, which forgets it.
 */
#include "sync/sync_int.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int weft__lockdep_on;

__attribute__((constructor)) static void lockdep_env(void)
{
	const char *e = getenv("WEFT_DEBUG_LOCKS");
	weft__lockdep_on = e && e[0] == '1' && e[1] == 0;
}

typedef struct edge {
	uint32_t to, to_gen;       /* target node, valid while its gen matches */
	void *from_site, *to_site; /* where each lock was taken */
} edge;

typedef struct node {
	const void *addr;
	const char *kind;
	uint32_t gen; /* bumped when the address is re-initialized */
	uint32_t nedges, cap;
	edge *edges;
	uint32_t mark, via; /* DFS: visit epoch, edge index into this node's parent */
	uint32_t parent;
} node;

typedef struct held {
	const void *lock;
	void *site;
} held;

typedef struct thread_rec {
	struct thread_rec *next, *prev;
	pid_t tid;
	uint32_t n, cap;
	held *h;
} thread_rec;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static node *nodes;
static uint32_t nnodes, nodes_cap, epoch;
static uint32_t *table; /* open addressing: node index + 1, 0 empty */
static uint32_t table_cap;
static thread_rec *threads;
static pthread_key_t key;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static __thread thread_rec *self;

static void *grow(void *p, uint32_t *cap, size_t size)
{
	uint32_t c = *cap ? *cap * 2 : 8;
	void *q = realloc(p, c * size);
	if (!q)
		return NULL;
	*cap = c;
	return q;
}

static uint32_t hash(const void *p)
{
	uint64_t x = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull;
	return (uint32_t)(x >> 32);
}

static bool rehash(void)
{
	uint32_t cap = table_cap ? table_cap * 2 : 64;
	uint32_t *t = calloc(cap, sizeof *t);
	if (!t)
		return false;
	for (uint32_t i = 0; i < nnodes; i++)
		for (uint32_t j = hash(nodes[i].addr) & (cap - 1);; j = (j + 1) & (cap - 1))
			if (!t[j]) {
				t[j] = i + 1;
				break;
			}
	free(table);
	table = t;
	table_cap = cap;
	return true;
}

/* The node for addr, created when create is set; UINT32_MAX if none. */
static uint32_t find(const void *addr, bool create, const char *kind)
{
	if (table_cap) {
		for (uint32_t j = hash(addr) & (table_cap - 1); table[j]; j = (j + 1) & (table_cap - 1))
			if (nodes[table[j] - 1].addr == addr)
				return table[j] - 1;
	}
	if (!create)
		return UINT32_MAX;
	if (nnodes == nodes_cap) {
		node *n = grow(nodes, &nodes_cap, sizeof *nodes);
		if (!n)
			return UINT32_MAX;
		nodes = n;
	}
	if ((nnodes + 1) * 2 > table_cap && !rehash())
		return UINT32_MAX;
	nodes[nnodes] = (node){.addr = addr, .kind = kind};
	for (uint32_t j = hash(addr) & (table_cap - 1);; j = (j + 1) & (table_cap - 1))
		if (!table[j]) {
			table[j] = nnodes + 1;
			break;
		}
	return nnodes++;
}

static edge *find_edge(node *from, uint32_t to)
{
	for (uint32_t i = 0; i < from->nedges; i++)
		if (from->edges[i].to == to && from->edges[i].to_gen == nodes[to].gen)
			return &from->edges[i];
	return NULL;
}

/* Depth-first search from `from` for `to`; on success the path is left in
 * the nodes' parent/via fields (walk back from `to`). */
static bool reaches(uint32_t from, uint32_t to)
{
	uint32_t *stack = malloc(nnodes * sizeof *stack), sp = 0;
	if (!stack)
		return false;
	epoch++;
	nodes[from].mark = epoch;
	stack[sp++] = from;
	bool found = false;
	while (sp && !found) {
		uint32_t n = stack[--sp];
		for (uint32_t i = 0; i < nodes[n].nedges; i++) {
			edge *e = &nodes[n].edges[i];
			if (e->to_gen != nodes[e->to].gen || nodes[e->to].mark == epoch)
				continue;
			nodes[e->to].mark = epoch;
			nodes[e->to].parent = n;
			nodes[e->to].via = i;
			if (e->to == to) {
				found = true;
				break;
			}
			stack[sp++] = e->to;
		}
	}
	free(stack);
	return found;
}

static size_t put_site(char *buf, size_t len, void *site)
{
	Dl_info di;
	if (dladdr(site, &di) && di.dli_fname) {
		if (di.dli_sname)
			return (size_t)snprintf(buf, len, "%s(%s+0x%lx) [%p]", di.dli_fname, di.dli_sname,
			                        (unsigned long)((char *)site - (char *)di.dli_saddr), site);
		return (size_t)snprintf(buf, len, "%s(+0x%lx) [%p]", di.dli_fname,
		                        (unsigned long)((char *)site - (char *)di.dli_fbase), site);
	}
	return (size_t)snprintf(buf, len, "[%p]", site);
}

#define PUT(...)                                                                        \
	do {                                                                            \
		if (at < sizeof buf)                                                    \
			at += (size_t)snprintf(buf + at, sizeof buf - at, __VA_ARGS__); \
	} while (0)
#define SITE(s)                                                         \
	do {                                                            \
		if (at < sizeof buf)                                    \
			at += put_site(buf + at, sizeof buf - at, (s)); \
	} while (0)

/* Reports the new edge h -> l (sites hs, ls) closing the path l -> ... -> h
 * found by reaches(l, h). */
static void report(uint32_t h, void *hs, uint32_t l, void *ls)
{
	char buf[8192];
	size_t at = 0;
	PUT("weft: WEFT_DEBUG_LOCKS: lock order inversion (possible deadlock)\n");
	PUT("  thread %d is acquiring %s %p\n    at ", (int)gettid(), nodes[l].kind, nodes[l].addr);
	SITE(ls);
	PUT("\n  while holding %s %p\n    taken at ", nodes[h].kind, nodes[h].addr);
	SITE(hs);
	PUT("\n  but the opposite order was seen before:\n");
	/* Walk the path back from h to l, then print it forwards. */
	uint32_t path[64], np = 0;
	for (uint32_t n = h; n != l && np < 64; n = nodes[n].parent)
		path[np++] = n;
	for (uint32_t k = np; k-- > 0;) {
		node *to = &nodes[path[k]], *from = &nodes[to->parent];
		edge *e = &from->edges[to->via];
		PUT("    %s %p taken at ", to->kind, to->addr);
		SITE(e->to_site);
		PUT("\n      while holding %s %p taken at ", from->kind, from->addr);
		SITE(e->from_site);
		PUT("\n");
	}
	PUT("  cycle: %p", nodes[h].addr);
	PUT(" -> %p", nodes[l].addr);
	for (uint32_t k = np; k-- > 0;)
		PUT(" -> %p", nodes[path[k]].addr);
	PUT("\n  (file(+offset) sites: addr2line -f -e file offset names them)\n");
	if (at >= sizeof buf)
		at = sizeof buf - 1;
	ssize_t wr = write(STDERR_FILENO, buf, at);
	(void)wr;
}

/* pthread key destructor, in the exiting thread: a lock taken by a later
 * destructor gets a fresh record (and this destructor runs again). */
static void thread_gone(void *p)
{
	thread_rec *t = p;
	self = NULL;
	pthread_mutex_lock(&mu);
	if (t->prev)
		t->prev->next = t->next;
	else
		threads = t->next;
	if (t->next)
		t->next->prev = t->prev;
	pthread_mutex_unlock(&mu);
	free(t->h);
	free(t);
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
	/* Only the forking thread lives on; drop the others' records. */
	for (thread_rec *t = threads, *next; t; t = next) {
		next = t->next;
		if (t != self) {
			free(t->h);
			free(t);
		}
	}
	threads = self;
	if (self) {
		self->next = self->prev = NULL;
		self->tid = gettid();
	}
	pthread_mutex_unlock(&mu);
}

static void setup(void)
{
	pthread_key_create(&key, thread_gone);
	pthread_atfork(atfork_prepare, atfork_parent, atfork_child);
}

/* The calling thread's record (mu held), or NULL when out of memory. */
static thread_rec *me(void)
{
	if (!self) {
		thread_rec *t = calloc(1, sizeof *t);
		if (!t)
			return NULL;
		t->tid = gettid();
		t->next = threads;
		if (threads)
			threads->prev = t;
		threads = t;
		self = t;
		pthread_setspecific(key, t);
	}
	return self;
}

static bool holds(thread_rec *t, const void *lock)
{
	for (uint32_t i = 0; i < t->n; i++)
		if (t->h[i].lock == lock)
			return true;
	return false;
}

void weft__lockdep_before(const void *lock, const char *kind, bool trylock, void *site)
{
	pthread_once(&once, setup);
	pthread_mutex_lock(&mu);
	thread_rec *t = me();
	uint32_t l = find(lock, true, kind);
	if (!t || l == UINT32_MAX || holds(t, lock) || trylock)
		goto out;
	nodes[l].kind = kind;
	for (uint32_t i = t->n; i-- > 0;) {
		uint32_t h = find(t->h[i].lock, false, NULL);
		if (h == UINT32_MAX || find_edge(&nodes[h], l))
			continue;
		if (reaches(l, h))
			report(h, t->h[i].site, l, site);
		node *hn = &nodes[h];
		if (hn->nedges == hn->cap) {
			edge *e = grow(hn->edges, &hn->cap, sizeof *e);
			if (!e)
				continue;
			hn->edges = e;
		}
		hn->edges[hn->nedges++] = (edge){l, nodes[l].gen, t->h[i].site, site};
	}
out:
	pthread_mutex_unlock(&mu);
}

void weft__lockdep_acquired(const void *lock, void *site)
{
	pthread_once(&once, setup);
	pthread_mutex_lock(&mu);
	thread_rec *t = me();
	if (t && t->n == t->cap) {
		held *h = grow(t->h, &t->cap, sizeof *h);
		if (h)
			t->h = h;
	}
	if (t && t->n < t->cap)
		t->h[t->n++] = (held){lock, site};
	pthread_mutex_unlock(&mu);
}

static bool drop(thread_rec *t, const void *lock)
{
	for (uint32_t i = t->n; i-- > 0;)
		if (t->h[i].lock == lock) {
			memmove(&t->h[i], &t->h[i + 1], (t->n - i - 1) * sizeof *t->h);
			t->n--;
			return true;
		}
	return false;
}

void weft__lockdep_released(const void *lock)
{
	pthread_once(&once, setup);
	pthread_mutex_lock(&mu);
	/* Usually the releasing thread holds it; a Lock may be released by
	 * another thread, which then ends the holder's claim. */
	if (!self || !drop(self, lock))
		for (thread_rec *t = threads; t; t = t->next)
			if (drop(t, lock))
				break;
	pthread_mutex_unlock(&mu);
}

void weft__lockdep_forget(const void *lock)
{
	pthread_once(&once, setup);
	pthread_mutex_lock(&mu);
	uint32_t n = find(lock, false, NULL);
	if (n != UINT32_MAX) {
		nodes[n].gen++;
		nodes[n].nedges = 0;
	}
	pthread_mutex_unlock(&mu);
}
