/* weft/contextvars.h - context variables: Python's contextvars.
 *
 * A context variable (ContextVar) has a value per context rather than per
 * thread; a context (Context) maps variables to values. Every thread has a
 * current context, empty when the thread starts. Copying a context is O(1)
 * (the map is persistent, a hash array mapped trie as in CPython), and a
 * copy is a snapshot: setting a variable inside it never shows outside.
 *
 *   Python                                  weft
 *   v = ContextVar('v', default=d)          weft_context_var_new(&v, "v",
 * &(weft_context_var_opts){.has_default = true, .default_value = d}) v.get()  /  v.get(fallback)
 * weft_context_var_get(v, &value)  /  weft_context_var_get_or(v, fallback) tok = v.set(x); v.reset(tok)
 * weft_context_var_set(v, x, &tok); weft_context_var_reset(v, tok) ctx = copy_context()
 * weft_context_copy_current(&ctx) Context()  /  ctx.copy()                weft_context_new(&ctx)  /
 * weft_context_copy(ctx, &c2) ctx.run(fn, arg)                        weft_context_run(ctx, fn, arg, &ret)
 *   with ctx: ...                           weft_context_enter(ctx); ...; weft_context_exit(ctx)
 *   ctx[v], v in ctx, len(ctx), ctx.items() weft_context_get, _contains, _len, _foreach
 *
 * Propagation (the one table; docs/contextvars.md explains it):
 *   weft_executor_submit / _submit_task   the call runs in a copy of the submitter's context
 *   weft_task_group_spawn                 the task runs in a copy of the spawner's context
 *   weft_parallel_for / _reduce           each piece runs in a copy of the caller's context
 *   done callbacks                        the context of the thread that completes the future
 *   a new thread                          an empty context (Python's Thread(context=ctx) is
 *                                         weft_context_run(ctx, ...) in the thread's target)
 *
 * Values are void * owned by the caller: weft stores the pointers only.
 * Variables are made once and live until the process exits, as Python
 * advises (module-level ContextVars): weft_context_var_free retires one --
 * calls on it return WEFT_EINVAL and contexts stop showing it -- and its
 * few bytes are reclaimed at exit. This keeps a set free of reference
 * counting on every variable of the copied trie nodes.
 *
 * Thread-safety: all functions are thread-safe. A context is current in at
 * most one thread at a time (entering it elsewhere is WEFT_EBUSY); only that
 * thread changes it, and any thread may read it. Contexts and tokens are
 * reference counted internally: a context freed by its owner lives on while
 * a token or a running weft_context_run still refers to it.
 * Fork: the child keeps the forking thread's contexts. Contexts other
 * threads had entered stay entered in the child (those threads are gone),
 * and one that another thread was changing at the instant of the fork (a
 * pointer swap under a spin lock) may be left locked: in the child, use
 * the forking thread's contexts and fresh ones.
 */
#ifndef WEFT_CONTEXTVARS_H
#define WEFT_CONTEXTVARS_H

#include <weft/common.h>
#include <weft/error.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_context_var weft_context_var;
typedef struct weft_context weft_context;
typedef struct weft_context_token weft_context_token;

/* Keyword arguments of ContextVar (NULL = no default). */
typedef struct weft_context_var_opts {
	bool has_default; /* Python passes default=...; NULL is a valid default */
	void *default_value;
} weft_context_var_opts;

/* ---- variables --------------------------------------------------------------------- */

/* A new variable; name is copied. EINVAL (out or name NULL), ENOMEM. */
WEFT_EXTERN int weft_context_var_new(weft_context_var **out, const char *name,
                                     const weft_context_var_opts *opts);

/* Retires the variable: later calls on it return WEFT_EINVAL, contexts no
 * longer show its values; the memory goes at exit. NULL is ignored. */
WEFT_EXTERN void weft_context_var_free(weft_context_var *var);

/* The variable's name; "" for NULL. */
WEFT_EXTERN const char *weft_context_var_name(const weft_context_var *var);

/* The value in the current context, else the default. ENOENT when there is
 * neither (Python's LookupError); EINVAL (var or value NULL, var retired). */
WEFT_EXTERN int weft_context_var_get(const weft_context_var *var, void **value);

/* Python's var.get(fallback): the value, else fallback if given -- here
 * always -- before the variable's default. NULL or retired var: fallback. */
WEFT_EXTERN void *weft_context_var_get_or(const weft_context_var *var, void *fallback);

/* Sets the value in the current context. With token non-NULL, *token
 * receives a token to restore the previous value (free it with
 * weft_context_token_free). EINVAL (var NULL or retired), ENOMEM. */
WEFT_EXTERN int weft_context_var_set(weft_context_var *var, void *value, weft_context_token **token);

/* Restores the value the variable had before the set that made token.
 * ESTATE when the token was already used; EINVAL when it belongs to another
 * variable or was made in another context (or NULL arguments), ENOMEM. */
WEFT_EXTERN int weft_context_var_reset(weft_context_var *var, weft_context_token *token);

/* ---- tokens -------------------------------------------------------------------------- */

/* The token's variable (borrowed), or NULL for NULL. */
WEFT_EXTERN weft_context_var *weft_context_token_var(const weft_context_token *token);

/* The value before the set; ENOENT when there was none (Token.MISSING),
 * EINVAL (NULL). */
WEFT_EXTERN int weft_context_token_old_value(const weft_context_token *token, void **value);

/* true once the token was used by reset. */
WEFT_EXTERN bool weft_context_token_used(const weft_context_token *token);

/* Frees the token. NULL is ignored. */
WEFT_EXTERN void weft_context_token_free(weft_context_token *token);

/* ---- contexts ------------------------------------------------------------------------ */

/* A new empty context (Python's Context()). EINVAL (out NULL), ENOMEM. */
WEFT_EXTERN int weft_context_new(weft_context **out);

/* A copy of the calling thread's current context (copy_context()), O(1).
 * EINVAL, ENOMEM. */
WEFT_EXTERN int weft_context_copy_current(weft_context **out);

/* A copy of ctx (ctx.copy()), O(1). EINVAL, ENOMEM. */
WEFT_EXTERN int weft_context_copy(const weft_context *ctx, weft_context **out);

/* Drops the caller's reference. NULL is ignored. */
WEFT_EXTERN void weft_context_free(weft_context *ctx);

/* Runs fn(arg) with ctx as the current context, then restores the previous
 * one; *result (may be NULL) gets fn's return value. EBUSY when ctx is
 * already entered (in this or another thread), EINVAL (ctx or fn NULL). */
WEFT_EXTERN int weft_context_run(weft_context *ctx, void *(*fn)(void *arg), void *arg, void **result);

/* Makes ctx current in the calling thread (`with ctx:`) until
 * weft_context_exit. EBUSY (already entered), EINVAL (NULL). */
WEFT_EXTERN int weft_context_enter(weft_context *ctx);

/* Leaves ctx, restoring the context that was current before. EPERM when
 * ctx is not the calling thread's current entered context, EINVAL. */
WEFT_EXTERN int weft_context_exit(weft_context *ctx);

/* ctx[var]: ENOENT when ctx has no value for var (defaults do not count),
 * EINVAL (NULL arguments). */
WEFT_EXTERN int weft_context_get(const weft_context *ctx, const weft_context_var *var, void **value);

/* var in ctx; false for NULL arguments. */
WEFT_EXTERN bool weft_context_contains(const weft_context *ctx, const weft_context_var *var);

/* len(ctx); 0 for NULL. */
WEFT_EXTERN size_t weft_context_len(const weft_context *ctx);

/* Calls fn(var, value, arg) for every variable set in ctx (a snapshot: fn
 * may change contexts meanwhile; retired variables are skipped), in no
 * particular order; stops at and returns the first non-zero value fn
 * returns, else 0. EINVAL (NULL). */
WEFT_EXTERN int weft_context_foreach(const weft_context *ctx,
                                     int (*fn)(weft_context_var *var, void *value, void *arg), void *arg);

#ifdef __cplusplus
}
#endif
#endif
