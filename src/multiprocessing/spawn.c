/* The spawn start method: re-execute the program and run a named task in it.
 *
 * Parent: the request (task name, argument bytes, the child's name,
 * identity, daemon flag and parent pid) goes into a memfd, which the child
 * inherits at the same number (posix_spawn's dup2(fd, fd) clears its
 * close-on-exec flag); WEFT_SPAWN_FD names it in the child's environment.
 *
 * Child: spawn_boot, a constructor of libweft, finds WEFT_SPAWN_FD, reads
 * and closes the request and removes the variable (the child's own children
 * must not see it). The task runs as soon as it is registered, so that main
 * never runs in the child:
 *  - libweft.so's constructors run before the program's, so the task is
 *    usually not registered yet: spawn_boot installs the core's
 *    registration hook and the program's WEFT_TASK constructor, calling
 *    weft_task_register, runs the task from there;
 *  - statically linked, the program's constructors usually come first and
 *    spawn_boot finds the task registered already.
 * Either way the child _exit()s when the task returns. A task from a
 * library the program dlopen()s would never register in the child (main
 * would run instead), so the parent refuses such a task (weft__mp_spawnable
 * checks it lives in a module loaded before main). */
#include "multiprocessing/mp.h"

#include <errno.h>
#include <link.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

#define SPAWN_ENV   "WEFT_SPAWN_FD"
#define SPAWN_MAGIC 0x77667370u /* "wfsp" */

/* ---- modules loaded before main ------------------------------------------------ */

enum { MAX_MODULES = 512 };
static uintptr_t startup_bases[MAX_MODULES];
static int n_startup;

static int note_module(struct dl_phdr_info *info, size_t size, void *ctx)
{
	if (n_startup < MAX_MODULES)
		startup_bases[n_startup++] = info->dlpi_addr;
	return 0;
}

struct find_ctx {
	uintptr_t addr, base;
	bool found;
};

static int find_module(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct find_ctx *c = arg;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && c->addr >= lo && c->addr < lo + ph->p_memsz) {
			c->base = info->dlpi_addr;
			c->found = true;
			return 1;
		}
	}
	return 0;
}

bool weft__mp_spawnable(const weft_task *t)
{
	struct find_ctx c = {.addr = (uintptr_t)t};
	dl_iterate_phdr(find_module, &c);
	if (!c.found)
		return false;
	for (int i = 0; i < n_startup; i++)
		if (startup_bases[i] == c.base)
			return true;
	return false;
}

/* ---- the request ------------------------------------------------------------------- */

typedef struct buf {
	char *p;
	size_t len, cap;
	bool failed;
} buf;

static void put(buf *b, const void *data, size_t len)
{
	if (b->failed || !len)
		return;
	if (b->len + len > b->cap) {
		size_t cap = (b->len + len) * 2 + 64;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
}

static void put_u64(buf *b, uint64_t v)
{
	put(b, &v, sizeof v);
}

static void put_str(buf *b, const char *s)
{
	put_u64(b, strlen(s));
	put(b, s, strlen(s));
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static char **child_env(int fd)
{
	size_t n = 0;
	while (environ && environ[n])
		n++;
	char **env = calloc(n + 2, sizeof *env);
	if (!env)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], SPAWN_ENV "=", sizeof SPAWN_ENV) != 0)
			env[k++] = environ[i];
	if (asprintf(&env[k], SPAWN_ENV "=%d", fd) < 0) {
		free(env);
		return NULL;
	}
	return env;
}

int weft__mp_spawn(const mp_child_desc *d, pid_t *pid)
{
	buf b = {0};
	uint64_t magic = SPAWN_MAGIC;
	put_u64(&b, magic);
	put_u64(&b, (uint64_t)d->parent_pid);
	put_u64(&b, d->daemon);
	put_str(&b, d->name);
	put_str(&b, d->identity);
	put_str(&b, d->task);
	put_u64(&b, d->arg_len);
	put(&b, d->arg, d->arg_len);
	if (b.failed) {
		free(b.p);
		return WEFT_ENOMEM;
	}
	int fd = memfd_create("weft-spawn", MFD_CLOEXEC);
	if (fd < 0) {
		free(b.p);
		return -errno;
	}
	int rc = write_all(fd, b.p, b.len);
	free(b.p);
	char **env = rc ? NULL : child_env(fd);
	if (!rc && !env)
		rc = WEFT_ENOMEM;
	posix_spawn_file_actions_t fa;
	if (!rc && (rc = -posix_spawn_file_actions_init(&fa)) == 0) {
		rc = -posix_spawn_file_actions_adddup2(&fa, fd, fd);
		for (size_t i = 0; !rc && i < d->n_pass_fds; i++)
			rc = -posix_spawn_file_actions_adddup2(&fa, d->pass_fds[i], d->pass_fds[i]);
		char *argv[] = {program_invocation_name, NULL};
		if (!rc)
			rc = -posix_spawn(pid, "/proc/self/exe", &fa, NULL, argv, env);
		posix_spawn_file_actions_destroy(&fa);
	}
	if (env) {
		size_t n = 0;
		while (env[n + 1])
			n++;
		free(env[n]); /* ours: the last entry */
		free(env);
	}
	close(fd);
	return rc;
}

/* ---- the child ----------------------------------------------------------------------- */

static mp_child_desc pending;
static const char *pending_task;

typedef struct rd {
	const char *p;
	size_t left;
	bool bad;
} rd;

static uint64_t get_u64(rd *r)
{
	uint64_t v = 0;
	if (r->left < sizeof v) {
		r->bad = true;
		return 0;
	}
	memcpy(&v, r->p, sizeof v);
	r->p += sizeof v;
	r->left -= sizeof v;
	return v;
}

/* Strings are copied out NUL-terminated; they live as long as the child. */
static const char *get_bytes(rd *r, size_t *len_out)
{
	uint64_t len = get_u64(r);
	if (r->bad || len > r->left) {
		r->bad = true;
		return "";
	}
	char *s = malloc(len + 1);
	if (!s) {
		r->bad = true;
		return "";
	}
	memcpy(s, r->p, len);
	s[len] = '\0';
	r->p += len;
	r->left -= len;
	if (len_out)
		*len_out = len;
	return s;
}

static void on_register(const weft_task *t)
{
	if (pending_task && strcmp(t->name, pending_task) == 0)
		weft__mp_run_child(t->fn, pending.arg, pending.arg_len);
}

__attribute__((constructor)) static void spawn_boot(void)
{
	dl_iterate_phdr(note_module, NULL);
	const char *s = getenv(SPAWN_ENV);
	if (!s)
		return;
	int fd = atoi(s);
	unsetenv(SPAWN_ENV);
	struct stat st;
	char *req = NULL;
	if (fstat(fd, &st) == 0 && st.st_size > 0 && (req = malloc((size_t)st.st_size)) &&
	    pread(fd, req, (size_t)st.st_size, 0) != st.st_size) {
		free(req);
		req = NULL;
	}
	close(fd);
	rd r = {req, req ? (size_t)st.st_size : 0, !req};
	if (get_u64(&r) != SPAWN_MAGIC)
		r.bad = true;
	pending.parent_pid = (pid_t)get_u64(&r);
	pending.daemon = get_u64(&r) != 0;
	pending.name = get_bytes(&r, NULL);
	pending.identity = get_bytes(&r, NULL);
	const char *task = get_bytes(&r, NULL);
	pending.arg = get_bytes(&r, &pending.arg_len);
	free(req);
	if (r.bad) {
		fprintf(stderr, "weft: a spawned process could not read its request\n");
		_exit(1);
	}
	weft__mp_become_child(&pending);
	if (!*task)
		weft__mp_run_child(NULL, NULL, 0);
	const weft_task *t = weft_task_lookup(task);
	if (t)
		weft__mp_run_child(t->fn, pending.arg, pending.arg_len);
	pending_task = task;
	atomic_store(&weft__task_registered_hook, on_register);
}
