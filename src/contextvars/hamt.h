/* src/contextvars/hamt.h - the persistent map behind contexts.
 *
 * A hash array mapped trie (Bagwell; CPython's context uses one too):
 * nodes of up to 32 slots indexed by 5 bits of the key's hash, a bitmap
 * saying which slots are present, each slot a leaf (variable, value) or a
 * child node. Updates copy the path from the root (O(log32 n) nodes) and
 * share the rest, so an old root stays a valid snapshot: copying a
 * context is taking a reference to its root.
 *
 * Keys are variables; a variable's hash is a bijective mix of a unique
 * 64-bit id, so two variables never have equal hashes and no collision
 * nodes are needed (two hashes always differ within the 13 levels).
 *
 * Nodes are immutable once published and reference counted atomically
 * (snapshots travel between threads). Leaves hold no reference to their
 * variable: a variable lives until the process exits (weft_context_var_free
 * only retires it), which keeps a set free of atomic operations per
 * copied slot -- Python's advice is the same: context variables are made
 * once, at module level.
 */
#ifndef WEFT_CONTEXTVARS_HAMT_H
#define WEFT_CONTEXTVARS_HAMT_H

#include "core/core.h"

#include <weft/contextvars.h>

struct weft_context_var {
	_Atomic bool dead; /* weft_context_var_free was called */
	bool has_default;
	uint64_t hash;
	void *default_value;
	struct weft_context_var *next; /* every variable, for the exit-time list */
	char name[];
};

typedef struct weft__hamt weft__hamt;

/* Lookup: true and *value when key is present. root may be NULL. */
bool weft__hamt_find(const weft__hamt *root, const weft_context_var *key, void **value);

/* A new root with key -> value (one reference for the caller), or NULL
 * when out of memory. root (may be NULL) is not consumed. */
weft__hamt *weft__hamt_set(weft__hamt *root, weft_context_var *key, void *value);

/* Replaces key's value in place when key is present and root and every
 * node on the way to its leaf are referenced once -- nobody else can see
 * them. true when done; false changes nothing. The caller makes sure no
 * other thread takes a reference to root meanwhile. */
bool weft__hamt_set_in_place(weft__hamt *root, const weft_context_var *key, void *value);

/* A new root without key (NULL when that leaves the map empty; *oom set on
 * allocation failure). root is not consumed. */
weft__hamt *weft__hamt_del(weft__hamt *root, const weft_context_var *key, bool *oom);

size_t weft__hamt_len(const weft__hamt *root);

/* Calls fn on every entry until it returns non-zero (returned). */
int weft__hamt_foreach(const weft__hamt *root, int (*fn)(weft_context_var *, void *, void *), void *arg);

weft__hamt *weft__hamt_retain(weft__hamt *root); /* NULL-safe, returns root */
void weft__hamt_release(weft__hamt *root);       /* NULL-safe */

#endif
