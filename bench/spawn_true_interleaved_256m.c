/* spawn_true_interleaved with 256 MiB resident in the caller (and in the
 * Python process): fork copies the page tables of all of it, vfork-based
 * spawns (weft, posix_spawn, Python's) do not. Fewer rounds: a fork now
 * costs about 10 ms. */
#define SPAWN_RESIDENT_MIB 256
#define SPAWN_ROUNDS       500
#include "spawn_true_interleaved.c"
