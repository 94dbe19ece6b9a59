/* spawn_true_interleaved with 256 MiB resident in the caller. */
#define SPAWN_RESIDENT_MIB 256
#include "spawn_true_interleaved.c"
