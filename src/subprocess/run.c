/* run() and the functions Python builds on it: call, check_call,
 * check_output, getstatusoutput, getoutput. */
#include "subprocess/popen.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void weft_completed_free(weft_completed *res)
{
	if (!res)
		return;
	free(res->args);
	weft_bytes_free(&res->out);
	weft_bytes_free(&res->err);
	*res = (weft_completed){.args = NULL};
}

/* The command as Python prints it in exception messages, shortened. */
static void describe(const char *const *argv, char *buf, size_t size)
{
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; argv[i] && len + 1 < size; i++) {
		int n = snprintf(buf + len, size - len, "%s%s", i ? " " : "", argv[i]);
		if (n < 0)
			break;
		len += (size_t)n;
	}
	if (len >= size && size > 4)
		memcpy(buf + size - 4, "...", 4);
}

static int fail_called(const char *const *argv, int returncode)
{
	char cmd[160];
	describe(argv, cmd, sizeof cmd);
	if (returncode < 0)
		return weft_fail(WEFT_ECALLEDPROCESS, "Command '%s' died with signal %d.", cmd, -returncode);
	return weft_fail(WEFT_ECALLEDPROCESS, "Command '%s' returned non-zero exit status %d.", cmd,
	                 returncode);
}

static int fail_timeout(const char *const *argv, double timeout)
{
	char cmd[160];
	describe(argv, cmd, sizeof cmd);
	return weft_fail(WEFT_ETIMEDOUT, "Command '%s' timed out after %g seconds", cmd, timeout);
}

int weft_run(const char *const *argv, const weft_run_opts *opts, weft_completed *res)
{
	static const weft_run_opts defaults;
	if (!opts)
		opts = &defaults;
	if (res)
		*res = (weft_completed){.args = NULL};
	if (!argv || !argv[0] || !res || (!opts->input && opts->input_len))
		return WEFT_EINVAL;
	double timeout = opts->timeout == 0 ? WEFT_FOREVER : opts->timeout;
	if (!weft__timeout_valid(timeout))
		return WEFT_EINVAL;
	weft_popen_opts po = opts->popen;
	if (opts->input) {
		if (po.stdin_mode != WEFT_INHERIT)
			return WEFT_EINVAL; /* stdin and input arguments may not both be used */
		po.stdin_mode = WEFT_PIPE;
	}
	if (opts->capture_output) {
		if (po.stdout_mode != WEFT_INHERIT || po.stderr_mode != WEFT_INHERIT)
			return WEFT_EINVAL; /* stdout and stderr arguments may not be used with capture_output
			                     */
		po.stdout_mode = po.stderr_mode = WEFT_PIPE;
	}
	res->args = weft__strv_dup(argv);
	if (!res->args)
		return WEFT_ENOMEM;
	weft_popen *p;
	int rc = weft_popen_start(&p, argv, &po);
	if (rc) {
		weft_completed_free(res); /* no child: nothing to report */
		return rc;
	}
	int64_t deadline;
	weft__deadline(timeout, &deadline); /* valid: checked above */
	/* Empty input still gives a pipe, closed at once. run's own timeout,
	 * unlike Popen's, kills the child (the whole group when it leads one)
	 * and reaps it. */
	rc = weft__communicate(p, opts->input, opts->input_len, deadline, true, &res->out, &res->err);
	if (rc == WEFT_ETIMEDOUT && !weft__cancel_status())
		fail_timeout(argv, timeout);
	else if (rc && rc != WEFT_ECANCELED && rc != WEFT_ETIMEDOUT)
		weft__popen_kill_and_reap(p); /* ENOMEM or a read error */
	weft_popen_returncode(p, &res->returncode);
	weft_popen_free(p);
	if (rc == 0 && opts->check && res->returncode != 0)
		rc = fail_called(argv, res->returncode);
	return rc;
}

int weft_call(const char *const *argv, const weft_run_opts *opts, int *returncode)
{
	if (!returncode)
		return WEFT_EINVAL;
	weft_run_opts o = opts ? *opts : (weft_run_opts){.check = false};
	o.check = false;
	weft_completed r;
	int rc = weft_run(argv, &o, &r);
	*returncode = r.returncode;
	weft_completed_free(&r);
	return rc;
}

int weft_check_call(const char *const *argv, const weft_run_opts *opts)
{
	weft_run_opts o = opts ? *opts : (weft_run_opts){.check = true};
	o.check = true;
	weft_completed r;
	int rc = weft_run(argv, &o, &r);
	weft_completed_free(&r);
	return rc;
}

int weft_check_output(const char *const *argv, const weft_run_opts *opts, weft_bytes *out)
{
	if (!out)
		return WEFT_EINVAL;
	*out = (weft_bytes){0};
	weft_run_opts o = opts ? *opts : (weft_run_opts){.check = true};
	if (o.popen.stdout_mode != WEFT_INHERIT || o.capture_output)
		return WEFT_EINVAL; /* stdout argument not allowed, it will be overridden */
	o.check = true;
	o.popen.stdout_mode = WEFT_PIPE;
	weft_completed r;
	int rc = weft_run(argv, &o, &r);
	*out = r.out;
	r.out = (weft_bytes){0};
	weft_completed_free(&r);
	return rc;
}

int weft_getstatusoutput(const char *cmd, int *status, char **output)
{
	if (!cmd || !status || !output)
		return WEFT_EINVAL;
	*output = NULL;
	weft_run_opts o = {
	    .popen = {.shell = true, .stdout_mode = WEFT_PIPE, .stderr_mode = WEFT_STDOUT},
	};
	weft_completed r;
	int rc = weft_run((const char *const[]){cmd, NULL}, &o, &r);
	if (rc == 0 && weft__mapped_contains(r.out.data)) {
		/* A large output lives in a mapping; *output is free()'d. */
		char *copy = malloc(r.out.len + 1);
		if (copy) {
			memcpy(copy, r.out.data, r.out.len + 1);
			weft_bytes_free(&r.out);
			r.out.data = copy; /* the length is kept */
		} else {
			rc = WEFT_ENOMEM;
		}
	}
	if (rc == 0) {
		char *s = r.out.data;
		size_t len = r.out.len;
		if (len && s[len - 1] == '\n')
			s[--len] = '\0';
		*status = r.returncode;
		*output = s;
		r.out = (weft_bytes){0};
	}
	weft_completed_free(&r);
	return rc;
}

int weft_getoutput(const char *cmd, char **output)
{
	int status;
	return weft_getstatusoutput(cmd, &status, output);
}
