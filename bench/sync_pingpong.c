/* Ping-pong: two threads hand a turn back and forth, µs per round trip,
 * through an Event pair, a Semaphore pair and a Lock pair (Locks used as
 * binary semaphores, released by the other thread, which is how Python's
 * Condition wakes its waiters), against a POSIX sem_t pair
 * and a GLib GMutex + GCond pair; weft with its bounded spin before
 * sleeping and without it (weft__sync_spin = 0). Once with the threads on
 * different cores (waking a sleeper on another core is slow on a virtual
 * machine), once with both on one core (there a spinner only delays the
 * thread it waits for). */
#include "bench.h"
#include "sync/sync_int.h"

#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#ifdef WEFT_HAVE_GLIB
#include <glib.h>
#endif

enum { TRIPS = 3000 };

typedef struct pair pair;
struct pair {
	void (*signal)(pair *, int side); /* wake side (0: a, 1: b) */
	void (*wait)(pair *, int side);   /* side waits for its turn */
	weft_event ev[2];
	weft_sem sem[2];
	weft_lock lock[2]; /* binary semaphores, as Python's Condition uses Locks */
	sem_t psem[2];
#ifdef WEFT_HAVE_GLIB
	GMutex mu;
	GCond cond;
	int turn;
#endif
	int cpu[2];
};

static void pin(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *side_b(void *arg)
{
	pair *p = arg;
	pin(p->cpu[1]);
	for (int i = 0; i < TRIPS; i++) {
		p->wait(p, 1);
		p->signal(p, 0);
	}
	return NULL;
}

static void *side_a(void *arg)
{
	pair *p = arg;
	pin(p->cpu[0]);
	double *dt = malloc(sizeof *dt);
	double t0 = bench_now();
	for (int i = 0; i < TRIPS; i++) {
		p->signal(p, 1);
		p->wait(p, 0);
	}
	*dt = bench_now() - t0;
	return dt;
}

static double run(pair *p, bool one_core)
{
	p->cpu[0] = 0;
	p->cpu[1] = one_core ? 0 : 1;
	pthread_t a, b;
	void *dt;
	pthread_create(&b, NULL, side_b, p);
	pthread_create(&a, NULL, side_a, p);
	pthread_join(a, &dt);
	pthread_join(b, NULL);
	double us = *(double *)dt / TRIPS * 1e6;
	free(dt);
	return us;
}

static void ev_signal(pair *p, int side)
{
	weft_event_set(&p->ev[side]);
}
static void ev_wait(pair *p, int side)
{
	weft_event_wait(&p->ev[side], WEFT_FOREVER);
	weft_event_clear(&p->ev[side]);
}

static void ws_signal(pair *p, int side)
{
	weft_sem_release(&p->sem[side], 1);
}
static void ws_wait(pair *p, int side)
{
	weft_sem_acquire(&p->sem[side], WEFT_FOREVER);
}

static void wl_signal(pair *p, int side)
{
	weft_lock_release(&p->lock[side]);
}
static void wl_wait(pair *p, int side)
{
	weft_lock_acquire(&p->lock[side], WEFT_FOREVER);
}

static void ps_signal(pair *p, int side)
{
	sem_post(&p->psem[side]);
}
static void ps_wait(pair *p, int side)
{
	sem_wait(&p->psem[side]);
}

#ifdef WEFT_HAVE_GLIB
static void gc_signal(pair *p, int side)
{
	g_mutex_lock(&p->mu);
	p->turn = side;
	g_cond_broadcast(&p->cond);
	g_mutex_unlock(&p->mu);
}
static void gc_wait(pair *p, int side)
{
	g_mutex_lock(&p->mu);
	while (p->turn != side)
		g_cond_wait(&p->cond, &p->mu);
	g_mutex_unlock(&p->mu);
}
#endif

typedef struct variant {
	void (*signal)(pair *, int);
	void (*wait)(pair *, int);
	int spin; /* -1: the default */
	bool one_core;
} variant;

static double run_variant(void *arg)
{
	variant *v = arg;
	pair p = {.signal = v->signal, .wait = v->wait};
	weft_lock_acquire(&p.lock[0], 0); /* both start held: "not your turn" */
	weft_lock_acquire(&p.lock[1], 0);
	sem_init(&p.psem[0], 0, 0);
	sem_init(&p.psem[1], 0, 0);
#ifdef WEFT_HAVE_GLIB
	g_mutex_init(&p.mu);
	g_cond_init(&p.cond);
	p.turn = 0;
#endif
	int saved = weft__sync_spin;
	if (v->spin >= 0)
		weft__sync_spin = v->spin;
	double r = run(&p, v->one_core);
	weft__sync_spin = saved;
#ifdef WEFT_HAVE_GLIB
	g_cond_clear(&p.cond);
	g_mutex_clear(&p.mu);
#endif
	return r;
}

int main(void)
{
	for (int one = 0; one < 2; one++) {
		variant v[] = {
		    {ws_signal, ws_wait, -1, one}, {ws_signal, ws_wait, 0, one},
		    {ev_signal, ev_wait, -1, one}, {ev_signal, ev_wait, 0, one},
		    {wl_signal, wl_wait, -1, one}, {wl_signal, wl_wait, 0, one},
		    {ps_signal, ps_wait, -1, one},
#ifdef WEFT_HAVE_GLIB
		    {gc_signal, gc_wait, -1, one},
#endif
		};
		bench_case cases[] = {
		    {"weft Semaphore pair", run_variant, &v[0]},
		    {"weft Semaphore pair, no spin", run_variant, &v[1]},
		    {"weft Event pair", run_variant, &v[2]},
		    {"weft Event pair, no spin", run_variant, &v[3]},
		    {"weft Lock pair", run_variant, &v[4]},
		    {"weft Lock pair, no spin", run_variant, &v[5]},
		    {"POSIX sem_t pair", run_variant, &v[6]},
#ifdef WEFT_HAVE_GLIB
		    {"GLib GMutex+GCond pair", run_variant, &v[7]},
#endif
		};
		bench_spec spec = {.title = one ? "ping-pong, both threads on one core"
		                                : "ping-pong, threads on two cores",
		                   .unit = "us/round trip"};
		if (bench_run(&spec, cases, sizeof cases / sizeof cases[0]))
			return 1;
	}
	return 0;
}
