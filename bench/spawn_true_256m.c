/* spawn_true with 256 MiB resident in the caller: fork copies the page
 * tables of all of it, vfork-based spawns (weft, posix_spawn) do not. */
#define SPAWN_RESIDENT_MIB 256
#define SPAWN_N            200
#include "spawn_true.c"
