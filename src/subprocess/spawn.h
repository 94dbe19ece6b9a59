/* src/subprocess/spawn.h - starting a child: the plan the parent prepares
 * and the code the child runs between the clone and the exec. */
#ifndef WEFT_SUBPROCESS_SPAWN_H
#define WEFT_SUBPROCESS_SPAWN_H

#include "core/core.h"

#include <stdbool.h>
#include <sys/types.h>
#include <weft/subprocess.h>

/* What the child reports when a step fails (step 0: nothing failed). */
enum weft__child_step {
	WEFT__STEP_NONE = 0,
	WEFT__STEP_EXEC,
	WEFT__STEP_CWD,
	WEFT__STEP_DUP,
	WEFT__STEP_SESSION,
	WEFT__STEP_PGID,
	WEFT__STEP_GROUPS,
	WEFT__STEP_GID,
	WEFT__STEP_UID,
	WEFT__STEP_CLOSE,
};

typedef struct weft__child_report {
	int step;
	int err; /* errno */
} weft__child_report;

/* Everything the child needs, prepared by the parent before the clone:
 * the child shares the parent's memory and may not allocate, lock or call
 * anything but raw system calls. */
typedef struct weft__child_plan {
	char *const *exec_paths; /* candidates to execve, in order, NULL-terminated */
	char *const *argv;
	char *const *envp;
	int src[3];      /* fd to install as 0, 1, 2; -1: leave the inherited one */
	bool err_to_out; /* stderr = stdout, once stdout is installed */
	const char *cwd;
	int umask; /* -1: leave */
	bool setsid;
	pid_t pgid;      /* -1: leave; 0: lead a new group; > 0: join it */
	bool set_groups; /* setgroups(ngroups, groups) */
	const gid_t *groups;
	size_t ngroups;
	bool set_gid, set_uid; /* setregid(gid, gid), setreuid(uid, uid) */
	gid_t gid;
	uid_t uid;
	bool close_fds; /* close every fd >= 3 except keep[] */
	const int *keep;
	size_t nkeep; /* pass_fds, sorted, unique, >= 3 */
	/* Written by the child when a step fails, read by the parent once the
	 * clone returns (the child has exec'd or exited by then). */
	weft__child_report report;
} weft__child_plan;

/* Runs in the child (the clone's function; arg is the plan): applies the
 * plan and executes the program, or fills plan->report and exits with
 * status 255. Never returns. */
int weft__child_main(void *arg);

/* A started child: the caller's pipe ends (-1: none) and its pidfd. */
typedef struct weft__spawned {
	pid_t pid;
	int pidfd;
	int fd[3];
} weft__spawned;

/* Validates opts, starts argv and fills *out. On error returns the code
 * (with a weft_fail message for the child's failures) and leaves no child
 * and no fd behind. */
int weft__spawn(const char *const *argv, const weft_popen_opts *opts, weft__spawned *out);

/* Checks user, group and extra_groups and puts them in the plan (names
 * looked up here, in the parent). WEFT_EINVAL, WEFT_ENOENT (unknown name),
 * WEFT_ENOMEM. */
int weft__resolve_ids(const weft_popen_opts *o, weft__child_plan *plan);

/* Copies a NULL-terminated string array into one allocation (free() it).
 * NULL on ENOMEM. */
char **weft__strv_dup(const char *const *v);

/* errno -> a weft code: the errno twin when weft has one (ENFILE counts as
 * EMFILE, ENOTDIR as ENOENT, ...), WEFT_EIO for the rest. */
int weft__errno_code(int e);

/* Reaps children whose weft_popen was freed while they ran. */
void weft__reap_abandoned(void);

#endif
