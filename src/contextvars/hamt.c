/* The persistent hash array mapped trie (hamt.h). Every change builds new
 * nodes along one path and takes references to the child nodes it copies;
 * nothing reachable from a shared root ever changes: the one exception,
 * weft__hamt_set_in_place, writes only into nodes nobody else holds. Leaves hold no
 * reference to their variable: variables live until the process exits. */
#include "contextvars/hamt.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { BITS = 5, WIDTH = 1 << BITS };

typedef struct slot {
	weft_context_var *key; /* NULL: val is a child node */
	void *val;
} slot;

struct weft__hamt {
	_Atomic uint32_t refs;
	uint32_t bitmap;
	size_t count; /* entries in this subtree */
	slot s[];
};

/* Population count without a library call (baseline x86-64 has no
 * popcnt instruction, and this is on every lookup). */
static unsigned popcount32(uint32_t x)
{
	x = x - ((x >> 1) & 0x55555555u);
	x = (x & 0x33333333u) + ((x >> 2) & 0x33333333u);
	x = (x + (x >> 4)) & 0x0f0f0f0fu;
	return (x * 0x01010101u) >> 24;
}

static unsigned width_of(const weft__hamt *n)
{
	return popcount32(n->bitmap);
}

static unsigned index_at(uint64_t hash, unsigned shift)
{
	return (unsigned)(hash >> shift) & (WIDTH - 1);
}

static unsigned pos_of(uint32_t bitmap, uint32_t bit)
{
	return popcount32(bitmap & (bit - 1));
}

/* Nodes are made and dropped at the rate of sets on shared maps: each
 * thread keeps up to NODE_CACHE freed nodes of each width to reuse,
 * released when the thread ends. A node's first slot links it in the
 * list. */
enum { NODE_CACHE = 16 };

static WEFT__TLS struct {
	weft__hamt *free[WIDTH + 1];
	unsigned char n[WIDTH + 1];
	bool registered, exited;
} nodes;

static pthread_key_t nodes_key;
static pthread_once_t nodes_once = PTHREAD_ONCE_INIT;

static void nodes_drain(void *unused)
{
	(void)unused;
	for (unsigned w = 0; w <= WIDTH; w++) {
		while (nodes.free[w]) {
			weft__hamt *n = nodes.free[w];
			nodes.free[w] = n->s[0].val;
			free(n);
		}
		nodes.n[w] = 0;
	}
	nodes.exited = true;
}

static void nodes_key_make(void)
{
	pthread_key_create(&nodes_key, nodes_drain);
}

static weft__hamt *node_new(unsigned width)
{
	weft__hamt *n = nodes.free[width];
	if (n) {
		nodes.free[width] = n->s[0].val;
		nodes.n[width]--;
	} else {
		n = malloc(sizeof *n + width * sizeof(slot));
		if (!n)
			return NULL;
	}
	atomic_init(&n->refs, 1);
	return n;
}

static void node_free(weft__hamt *n, unsigned width)
{
	if (width == 0 || nodes.n[width] >= NODE_CACHE || nodes.exited) {
		free(n);
		return;
	}
	if (!nodes.registered) {
		pthread_once(&nodes_once, nodes_key_make);
		nodes.registered = pthread_setspecific(nodes_key, (void *)1) == 0;
		if (!nodes.registered) {
			free(n);
			return;
		}
	}
	n->s[0].val = nodes.free[width];
	nodes.free[width] = n;
	nodes.n[width]++;
}

weft__hamt *weft__hamt_retain(weft__hamt *root)
{
	if (root)
		atomic_fetch_add_explicit(&root->refs, 1, memory_order_relaxed);
	return root;
}

static void slot_retain(const slot *s)
{
	if (!s->key)
		weft__hamt_retain(s->val);
}

static void slot_release(const slot *s)
{
	if (!s->key)
		weft__hamt_release(s->val);
}

void weft__hamt_release(weft__hamt *n)
{
	/* The only reference needs no RMW: nobody else can take or drop one
	 * (acquire: pairs with the release RMWs of earlier holders). */
	if (!n || (atomic_load_explicit(&n->refs, memory_order_acquire) != 1 &&
	           atomic_fetch_sub_explicit(&n->refs, 1, memory_order_acq_rel) != 1))
		return;
	unsigned w = width_of(n);
	for (unsigned i = 0; i < w; i++)
		slot_release(&n->s[i]);
	node_free(n, w);
}

/* A copy of n with room for `extra` more slots (0 or 1) inserted at pos,
 * or one fewer (extra -1) removing pos; every kept slot is retained. */
static weft__hamt *copy_node(const weft__hamt *n, int extra, unsigned pos, uint32_t bitmap)
{
	unsigned w = width_of(n);
	weft__hamt *c = node_new((unsigned)((int)w + extra));
	if (!c)
		return NULL;
	c->bitmap = bitmap;
	c->count = n->count;
	unsigned j = 0;
	for (unsigned i = 0; i < w; i++) {
		if (extra > 0 && i == pos)
			j++; /* leave the new slot for the caller */
		if (extra < 0 && i == pos)
			continue;
		c->s[j] = n->s[i];
		slot_retain(&c->s[j]);
		j++;
	}
	return c;
}

bool weft__hamt_find(const weft__hamt *n, const weft_context_var *key, void **value)
{
	for (unsigned shift = 0; n; shift += BITS) {
		uint32_t bit = 1u << index_at(key->hash, shift);
		if (!(n->bitmap & bit))
			return false;
		const slot *s = &n->s[pos_of(n->bitmap, bit)];
		if (s->key) {
			if (s->key != key)
				return false;
			*value = s->val;
			return true;
		}
		n = s->val;
	}
	return false;
}

bool weft__hamt_set_in_place(weft__hamt *n, const weft_context_var *key, void *value)
{
	for (unsigned shift = 0; n; shift += BITS) {
		/* Acquire: a reference dropped by another thread (a snapshot
		 * that ran out) was dropped after its last read of the node. */
		if (atomic_load_explicit(&n->refs, memory_order_acquire) != 1)
			return false;
		uint32_t bit = 1u << index_at(key->hash, shift);
		if (!(n->bitmap & bit))
			return false;
		slot *s = &n->s[pos_of(n->bitmap, bit)];
		if (s->key) {
			if (s->key != key)
				return false;
			s->val = value;
			return true;
		}
		n = s->val;
	}
	return false;
}

/* A node holding two leaves whose hashes agree below shift. */
static weft__hamt *pair(const slot *a, weft_context_var *kb, void *vb, unsigned shift)
{
	unsigned ia = index_at(a->key->hash, shift), ib = index_at(kb->hash, shift);
	if (ia == ib) {
		weft__hamt *child = pair(a, kb, vb, shift + BITS);
		if (!child)
			return NULL;
		weft__hamt *n = node_new(1);
		if (!n) {
			weft__hamt_release(child);
			return NULL;
		}
		n->bitmap = 1u << ia;
		n->count = 2;
		n->s[0] = (slot){NULL, child};
		return n;
	}
	weft__hamt *n = node_new(2);
	if (!n)
		return NULL;
	n->bitmap = (1u << ia) | (1u << ib);
	n->count = 2;
	slot sb = {kb, vb};
	n->s[ia < ib ? 0 : 1] = *a;
	n->s[ia < ib ? 1 : 0] = sb;
	return n;
}

static weft__hamt *set_at(weft__hamt *n, weft_context_var *key, void *value, unsigned shift)
{
	if (!n) {
		weft__hamt *leaf = node_new(1);
		if (!leaf)
			return NULL;
		leaf->bitmap = 1u << index_at(key->hash, shift);
		leaf->count = 1;
		leaf->s[0] = (slot){key, value};
		return leaf;
	}
	uint32_t bit = 1u << index_at(key->hash, shift);
	unsigned pos = pos_of(n->bitmap, bit);
	if (!(n->bitmap & bit)) {
		weft__hamt *c = copy_node(n, 1, pos, n->bitmap | bit);
		if (!c)
			return NULL;
		c->s[pos] = (slot){key, value};
		c->count++;
		return c;
	}
	const slot *s = &n->s[pos];
	slot repl;
	size_t grew = 0;
	if (s->key == key) {
		if (s->val == value)
			return weft__hamt_retain(n);
		repl = (slot){key, value};
	} else if (s->key) {
		weft__hamt *sub = pair(s, key, value, shift + BITS);
		if (!sub)
			return NULL;
		repl = (slot){NULL, sub};
		grew = 1;
	} else {
		weft__hamt *child = s->val;
		weft__hamt *sub = set_at(child, key, value, shift + BITS);
		if (!sub)
			return NULL;
		grew = sub->count - child->count;
		repl = (slot){NULL, sub};
	}
	weft__hamt *c = copy_node(n, 0, pos, n->bitmap);
	if (!c) {
		slot_release(&repl);
		return NULL;
	}
	/* copy_node retained the old slot; swap in the replacement. */
	slot_release(&c->s[pos]);
	c->s[pos] = repl;
	c->count += grew;
	return c;
}

weft__hamt *weft__hamt_set(weft__hamt *root, weft_context_var *key, void *value)
{
	return set_at(root, key, value, 0);
}

/* Returns the new node (NULL = empty), or n itself retained when key is
 * absent; *oom on allocation failure (then the result is NULL too). */
static weft__hamt *del_at(weft__hamt *n, const weft_context_var *key, unsigned shift, bool *oom)
{
	uint32_t bit = 1u << index_at(key->hash, shift);
	if (!(n->bitmap & bit))
		return weft__hamt_retain(n);
	unsigned pos = pos_of(n->bitmap, bit);
	const slot *s = &n->s[pos];
	slot repl = {NULL, NULL};
	bool remove = false;
	if (s->key) {
		if (s->key != key)
			return weft__hamt_retain(n);
		remove = true;
	} else {
		weft__hamt *child = s->val;
		weft__hamt *sub = del_at(child, key, shift + BITS, oom);
		if (*oom)
			return NULL;
		if (sub == child) {
			weft__hamt_release(sub);
			return weft__hamt_retain(n);
		}
		if (!sub) {
			remove = true;
		} else if (width_of(sub) == 1 && sub->s[0].key) {
			/* A lone leaf moves up: the trie stays as shallow as a
			 * fresh insert would make it. */
			repl = sub->s[0];
			weft__hamt_release(sub);
		} else {
			repl = (slot){NULL, sub};
		}
	}
	if (remove && width_of(n) == 1)
		return NULL;
	weft__hamt *c = remove ? copy_node(n, -1, pos, n->bitmap & ~bit) : copy_node(n, 0, pos, n->bitmap);
	if (!c) {
		*oom = true;
		if (!remove)
			slot_release(&repl);
		return NULL;
	}
	if (!remove) {
		slot_release(&c->s[pos]);
		c->s[pos] = repl;
	}
	c->count--;
	return c;
}

weft__hamt *weft__hamt_del(weft__hamt *root, const weft_context_var *key, bool *oom)
{
	*oom = false;
	if (!root)
		return NULL;
	return del_at(root, key, 0, oom);
}

size_t weft__hamt_len(const weft__hamt *root)
{
	return root ? root->count : 0;
}

int weft__hamt_foreach(const weft__hamt *n, int (*fn)(weft_context_var *, void *, void *), void *arg)
{
	if (!n)
		return 0;
	unsigned w = width_of(n);
	for (unsigned i = 0; i < w; i++) {
		int rc = n->s[i].key ? fn(n->s[i].key, n->s[i].val, arg)
		                     : weft__hamt_foreach(n->s[i].val, fn, arg);
		if (rc)
			return rc;
	}
	return 0;
}
