/* user=, group= and extra_groups=: checked and resolved in the parent
 * (names through getpwnam_r / getgrnam_r, as Python's pwd and grp lookups),
 * so the child only makes the raw setgroups / setregid / setreuid calls. */
#include "subprocess/spawn.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <unistd.h>

#ifndef NGROUPS_MAX
#define NGROUPS_MAX 65536
#endif

enum { LOOKUP_BUF = 1024, LOOKUP_BUF_MAX = 1 << 20 };

/* Looks name up with getpwnam_r (user) or getgrnam_r (group), growing the
 * buffer on ERANGE. 0 and the id; WEFT_ENOENT (no such name, with Python's
 * KeyError message), WEFT_ENOMEM, or the lookup's error. */
static int lookup(const char *name, bool user, unsigned *id)
{
	size_t size = LOOKUP_BUF;
	for (;;) {
		char *buf = malloc(size);
		if (!buf)
			return WEFT_ENOMEM;
		struct passwd pw, *pwp = NULL;
		struct group gr, *grp = NULL;
		int e =
		    user ? getpwnam_r(name, &pw, buf, size, &pwp) : getgrnam_r(name, &gr, buf, size, &grp);
		if (pwp)
			*id = pwp->pw_uid;
		if (grp)
			*id = grp->gr_gid;
		free(buf);
		if (pwp || grp)
			return 0;
		if (e == ERANGE && size < LOOKUP_BUF_MAX) {
			size *= 2;
			continue;
		}
		if (e == 0 || e == ENOENT || e == ESRCH || e == EBADF || e == EPERM)
			return weft_fail(WEFT_ENOENT, "%s(): name not found: '%s'",
			                 user ? "getpwnam" : "getgrnam", name);
		return e == ENOMEM ? WEFT_ENOMEM : weft__errno_code(e);
	}
}

int weft__resolve_ids(const weft_popen_opts *o, weft__child_plan *plan)
{
	if ((o->user && o->set_uid) || (o->group && o->set_gid))
		return WEFT_EINVAL;
	if ((o->set_uid && o->uid == (uid_t)-1) || (o->set_gid && o->gid == (gid_t)-1))
		return WEFT_EINVAL; /* Python: "User ID cannot be negative" */
	if (o->nextra_groups && !o->extra_groups)
		return WEFT_EINVAL;
	if (o->nextra_groups > NGROUPS_MAX)
		return WEFT_EINVAL;
	for (size_t i = 0; i < o->nextra_groups; i++)
		if (o->extra_groups[i] == (gid_t)-1)
			return WEFT_EINVAL;
	int rc;
	unsigned id;
	if (o->user) {
		if ((rc = lookup(o->user, true, &id)))
			return rc;
		plan->set_uid = true;
		plan->uid = (uid_t)id;
	} else if (o->set_uid) {
		plan->set_uid = true;
		plan->uid = o->uid;
	}
	if (o->group) {
		if ((rc = lookup(o->group, false, &id)))
			return rc;
		plan->set_gid = true;
		plan->gid = (gid_t)id;
	} else if (o->set_gid) {
		plan->set_gid = true;
		plan->gid = o->gid;
	}
	if (o->extra_groups) {
		plan->set_groups = true;
		plan->groups = o->extra_groups;
		plan->ngroups = o->nextra_groups;
	}
	return 0;
}
