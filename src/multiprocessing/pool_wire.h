/* src/multiprocessing/pool_wire.h - the messages between the pool's
 * manager and its workers (internal). Each message is one connection frame
 * (connection.c); fields are in host order (both ends are one program).
 *
 * Request (manager -> worker): a unit of work.
 *   mpw_req header, then per item a u64 (length | MPW_SKIP) and the bytes.
 *   A skipped item (cancelled, or already done before a requeue) is not
 *   run and gets no record. The task is named by its weft_task address:
 *   workers are forked, so the registry lives at the same address.
 *
 * Reply (worker -> manager): one or more mpw_rec records, each followed by
 * its message (msglen bytes) and output (outlen bytes). A worker sends
 * MPW_READY (or MPW_INITFAIL) once after its initializer, MPW_START before
 * an item of a timed unit (so the manager knows when its clock starts),
 * and MPW_RESULT after every item it ran. Successful items of a unit of
 * several items that follow one another go into one MPW_RESULTS record
 * instead: {seq, item = the first one, ns, outlen = the body's size} and
 * a body of {u64 length, the output} per item (16 bytes of framing per
 * item instead of 32). Records of several items and units share a message
 * while the worker has more requests waiting, for up to FLUSH_NS.
 */
#ifndef WEFT_MP_POOL_WIRE_H
#define WEFT_MP_POOL_WIRE_H

#include <stdatomic.h>
#include <stdint.h>

#define MPW_SKIP (UINT64_C(1) << 63)

enum { MPW_TIMED = 1, MPW_FIXED = 2 }; /* mpw_req.flags */
/* MPW_TIMED: report MPW_START before each item.
 * MPW_FIXED: a fixed-record map's chunk (pool_fixed.c). The unit has one
 * item, whose bytes are an mpw_fixed: the records are in the engine's
 * arena (pool_arena.c), the worker calls the task on each input record in
 * order and writes each output at its place in the arena, and replies with
 * one MPW_RESULT for the whole chunk: code 0, or the first failure (the
 * records after it do not run), its message naming the record. With
 * MPW_TIMED, an MPW_START (item 0) precedes each record, so the timeout is
 * per record. */

typedef struct mpw_req {
	uint32_t seq; /* the unit's number on this worker */
	uint32_t flags;
	uint64_t task; /* const weft_task * */
	uint64_t nitems;
} mpw_req;

typedef struct mpw_fixed {
	uint64_t in_off, out_off;   /* offsets of record 0 in the arena */
	uint64_t count;             /* records */
	uint64_t in_size, out_size; /* each record's size */
	uint64_t map_size;          /* the worker maps the arena's first map_size bytes */
	uint64_t first;             /* the map's index of record 0 (messages) */
} mpw_fixed;

enum { MPW_READY = 1, MPW_INITFAIL = 2, MPW_START = 3, MPW_RESULT = 4, MPW_RESULTS = 5 };

typedef struct mpw_rec {
	uint32_t type;
	uint32_t seq;
	uint32_t item; /* units hold fewer than 2^32 items */
	int32_t code;  /* 0 or the failure code */
	uint32_t msglen;
	uint32_t ns; /* MPW_RESULT: about how long the item ran (saturated) */
	uint64_t outlen;
} mpw_rec;

/* A page each worker shares with the manager (MAP_SHARED, made before
 * the fork): which item it is running. Read after the worker died, it says
 * which item to blame even when the worker was killed before it could
 * report anything (SIGKILL). */
typedef struct mpw_progress {
	_Atomic uint32_t running; /* 1 while (seq, item) runs */
	_Atomic uint32_t seq;
	_Atomic uint64_t item;
} mpw_progress;

_Static_assert(sizeof(mpw_req) == 24 && sizeof(mpw_rec) == 32, "wire records have no padding");

#endif
