/* subprocess: run, call, check_call, check_output, getstatusoutput; the
 * options (env, cwd, executable, shell, stdio, umask, sessions) and the
 * errors, after CPython's Lib/test/test_subprocess.py. */
#include "sp_helpers.h"

#include <math.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>

#define ARGV(...) ((const char *[]){__VA_ARGS__, NULL})

START_TEST(call_returns_exit_status)
{
	int rc = -1;
	wt_ok(weft_call(ARGV("sh", "-c", "exit 47"), NULL, &rc));
	ck_assert_int_eq(rc, 47);
	wt_ok(weft_call(ARGV("true"), NULL, &rc));
	ck_assert_int_eq(rc, 0);
	/* call ignores check */
	wt_ok(weft_call(ARGV("false"), &(weft_run_opts){.check = true}, &rc));
	ck_assert_int_eq(rc, 1);
}
END_TEST

START_TEST(check_call_zero_and_nonzero)
{
	wt_ok(weft_check_call(ARGV("true"), NULL));
	wt_rc(weft_check_call(ARGV("sh", "-c", "exit 47"), NULL), WEFT_ECALLEDPROCESS);
	ck_assert_str_eq(weft_last_failure_message(),
	                 "Command 'sh -c exit 47' returned non-zero exit status 47.");
}
END_TEST

START_TEST(check_output_variants)
{
	weft_bytes out;
	wt_ok(weft_check_output(ARGV("echo", "BDFL"), NULL, &out));
	ck_assert_str_eq(out.data, "BDFL\n");
	weft_bytes_free(&out);
	/* stderr=STDOUT */
	weft_run_opts o = {.popen.stderr_mode = WEFT_STDOUT};
	wt_ok(weft_check_output(ARGV("sh", "-c", "echo BDFL >&2"), &o, &out));
	ck_assert_str_eq(out.data, "BDFL\n");
	weft_bytes_free(&out);
	/* input= */
	o = (weft_run_opts){.input = "pear", .input_len = 4};
	wt_ok(weft_check_output(ARGV("tr", "a-z", "A-Z"), &o, &out));
	ck_assert_str_eq(out.data, "PEAR");
	weft_bytes_free(&out);
	/* stdin from a file */
	FILE *tf = tmpfile();
	fputs("pear", tf);
	fflush(tf);
	rewind(tf);
	o = (weft_run_opts){.popen = {.stdin_mode = WEFT_USE_FD, .stdin_fd = fileno(tf)}};
	wt_ok(weft_check_output(ARGV("tr", "a-z", "A-Z"), &o, &out));
	ck_assert_str_eq(out.data, "PEAR");
	weft_bytes_free(&out);
	/* stdin together with input, and stdout given: refused */
	o.input = "hare";
	o.input_len = 4;
	wt_rc(weft_check_output(ARGV("cat"), &o, &out), WEFT_EINVAL);
	fclose(tf);
	o = (weft_run_opts){.popen.stdout_mode = WEFT_DEVNULL};
	wt_rc(weft_check_output(ARGV("true"), &o, &out), WEFT_EINVAL);
	/* non-zero exit: the output is kept (CalledProcessError.output) */
	wt_rc(weft_check_output(ARGV("sh", "-c", "echo some; exit 5"), NULL, &out), WEFT_ECALLEDPROCESS);
	ck_assert_str_eq(out.data, "some\n");
	weft_bytes_free(&out);
}
END_TEST

START_TEST(run_captures_both_streams)
{
	weft_completed r;
	wt_ok(weft_run(ARGV("sh", "-c", "echo out; echo err >&2; exit 3"),
	               &(weft_run_opts){.capture_output = true}, &r));
	ck_assert_int_eq(r.returncode, 3);
	ck_assert_str_eq(r.out.data, "out\n");
	ck_assert_uint_eq(r.out.len, 4);
	ck_assert_str_eq(r.err.data, "err\n");
	ck_assert_str_eq(r.args[0], "sh");
	ck_assert_str_eq(r.args[2], "echo out; echo err >&2; exit 3");
	ck_assert_ptr_null(r.args[3]);
	weft_completed_free(&r);
	/* not captured: NULL; captured but empty: "" */
	wt_ok(weft_run(ARGV("true"), &(weft_run_opts){.popen.stdout_mode = WEFT_PIPE}, &r));
	ck_assert_ptr_nonnull(r.out.data);
	ck_assert_uint_eq(r.out.len, 0);
	ck_assert_ptr_null(r.err.data);
	weft_completed_free(&r);
	/* capture_output with stdout or stderr set: refused */
	wt_rc(weft_run(ARGV("true"),
	               &(weft_run_opts){.capture_output = true, .popen.stderr_mode = WEFT_DEVNULL}, &r),
	      WEFT_EINVAL);
}
END_TEST

START_TEST(run_check_keeps_output)
{
	weft_completed r;
	wt_rc(weft_run(ARGV("sh", "-c", "echo o; echo e >&2; exit 7"),
	               &(weft_run_opts){.capture_output = true, .check = true}, &r),
	      WEFT_ECALLEDPROCESS);
	ck_assert_int_eq(r.returncode, 7);
	ck_assert_str_eq(r.out.data, "o\n");
	ck_assert_str_eq(r.err.data, "e\n");
	weft_completed_free(&r);
	wt_rc(weft_run(ARGV("sh", "-c", "kill -9 $$"), &(weft_run_opts){.check = true}, &r),
	      WEFT_ECALLEDPROCESS);
	ck_assert_int_eq(r.returncode, -9);
	ck_assert_ptr_nonnull(strstr(weft_last_failure_message(), "died with signal 9"));
	weft_completed_free(&r);
}
END_TEST

START_TEST(run_timeout_kills_and_keeps_output)
{
	weft_completed r;
	double t0 = weft_monotonic();
	int rc = weft_run(ARGV("sh", "-c", "echo before; exec sleep 30"),
	                  &(weft_run_opts){.capture_output = true, .timeout = 0.3}, &r);
	double dt = weft_monotonic() - t0;
	wt_rc(rc, WEFT_ETIMEDOUT);
	ck_assert_msg(dt >= 0.3 && dt < 0.3 + WT_SLACK, "took %f s", dt);
	ck_assert_int_eq(r.returncode, -SIGKILL);
	ck_assert_str_eq(r.out.data, "before\n");
	ck_assert_ptr_nonnull(strstr(weft_last_failure_message(), "timed out after 0.3 seconds"));
	weft_completed_free(&r);
	/* call and check_output time out the same way */
	int code;
	wt_rc(weft_call(ARGV("sleep", "30"), &(weft_run_opts){.timeout = 0.1}, &code), WEFT_ETIMEDOUT);
	weft_bytes out;
	wt_rc(weft_check_output(ARGV("sleep", "30"), &(weft_run_opts){.timeout = 0.1}, &out), WEFT_ETIMEDOUT);
	weft_bytes_free(&out);
}
END_TEST

START_TEST(run_input_and_empty_input)
{
	weft_completed r;
	wt_ok(weft_run(ARGV("cat"), &(weft_run_opts){.input = "", .capture_output = true}, &r));
	ck_assert_uint_eq(r.out.len, 0);
	weft_completed_free(&r);
	/* input with stdin set: refused */
	wt_rc(weft_run(ARGV("cat"),
	               &(weft_run_opts){.input = "x", .input_len = 1, .popen.stdin_mode = WEFT_DEVNULL}, &r),
	      WEFT_EINVAL);
}
END_TEST

START_TEST(env_replaces_and_adds)
{
	weft_completed r;
	const char *env[] = {"FRUIT=banana", "PATH=/usr/bin:/bin", NULL};
	wt_ok(weft_run(ARGV("env"), &(weft_run_opts){.popen.env = env, .capture_output = true}, &r));
	ck_assert_str_eq(r.out.data, "FRUIT=banana\nPATH=/usr/bin:/bin\n");
	weft_completed_free(&r);
	/* additions override and extend */
	const char *add[] = {"FRUIT=apple", "VEG=leek", NULL};
	wt_ok(weft_run(ARGV("env"),
	               &(weft_run_opts){.popen = {.env = env, .env_add = add}, .capture_output = true}, &r));
	ck_assert_str_eq(r.out.data, "FRUIT=apple\nPATH=/usr/bin:/bin\nVEG=leek\n");
	weft_completed_free(&r);
	/* additions on top of the caller's environment */
	setenv("WEFT_TEST_INHERITED", "yes", 1);
	const char *add2[] = {"WEFT_TEST_ADDED=1", NULL};
	wt_ok(weft_run(ARGV("sh", "-c", "echo $WEFT_TEST_INHERITED$WEFT_TEST_ADDED"),
	               &(weft_run_opts){.popen.env_add = add2, .capture_output = true}, &r));
	ck_assert_str_eq(r.out.data, "yes1\n");
	weft_completed_free(&r);
	/* an empty environment */
	const char *none[] = {NULL};
	wt_ok(
	    weft_run(ARGV("/usr/bin/env"), &(weft_run_opts){.popen.env = none, .capture_output = true}, &r));
	ck_assert_str_eq(r.out.data, "");
	weft_completed_free(&r);
	/* entries must be NAME=value */
	const char *bad[] = {"NOEQUALS", NULL};
	wt_rc(weft_run(ARGV("true"), &(weft_run_opts){.popen.env = bad}, &r), WEFT_EINVAL);
	const char *bad2[] = {"=value", NULL};
	wt_rc(weft_run(ARGV("true"), &(weft_run_opts){.popen.env_add = bad2}, &r), WEFT_EINVAL);
}
END_TEST

START_TEST(path_comes_from_the_child_env)
{
	/* As Python: the program is looked up in the PATH the child gets. */
	const char *env[] = {"PATH=/nonexistent_dir", NULL};
	weft_completed r;
	wt_rc(weft_run(ARGV("true"), &(weft_run_opts){.popen.env = env}, &r), WEFT_ENOENT);
	const char *env2[] = {"PATH=/nonexistent_dir::/bin", NULL};
	wt_ok(weft_run(ARGV("true"), &(weft_run_opts){.popen.env = env2}, &r));
	weft_completed_free(&r);
}
END_TEST

START_TEST(cwd_is_used)
{
	char tmpl[] = "/tmp/weft_cwd_XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(tmpl));
	char real[PATH_MAX];
	ck_assert_ptr_nonnull(realpath(tmpl, real));
	weft_completed r;
	wt_ok(weft_run(ARGV("pwd"), &(weft_run_opts){.popen.cwd = tmpl, .capture_output = true}, &r));
	ck_assert_int_eq(strncmp(r.out.data, real, strlen(real)), 0);
	weft_completed_free(&r);
	/* a relative program path is relative to cwd (Python's
	 * test_cwd_with_relative_arg) */
	char script[PATH_MAX];
	snprintf(script, sizeof script, "%s/prog", tmpl);
	FILE *f = fopen(script, "w");
	fputs("#!/bin/sh\necho relative\n", f);
	fclose(f);
	chmod(script, 0755);
	wt_ok(weft_run(ARGV("./prog"), &(weft_run_opts){.popen.cwd = tmpl, .capture_output = true}, &r));
	ck_assert_str_eq(r.out.data, "relative\n");
	weft_completed_free(&r);
	unlink(script);
	rmdir(tmpl);
	/* a missing cwd: ENOENT naming the directory */
	wt_rc(weft_run(ARGV("pwd"), &(weft_run_opts){.popen.cwd = "/nonexistent_weft_dir"}, &r), WEFT_ENOENT);
	ck_assert_ptr_nonnull(strstr(weft_last_failure_message(), "'/nonexistent_weft_dir'"));
}
END_TEST

START_TEST(missing_or_unusable_program)
{
	weft_completed r;
	wt_rc(weft_run(ARGV("nonexisting_i_hope"), NULL, &r), WEFT_ENOENT);
	ck_assert_str_eq(weft_last_failure_message(),
	                 "[Errno 2] No such file or directory: 'nonexisting_i_hope'");
	wt_rc(weft_run(ARGV("/nonexistent/prog"), NULL, &r), WEFT_ENOENT);
	ck_assert_ptr_nonnull(strstr(weft_last_failure_message(), "'/nonexistent/prog'"));
	weft_popen *p = (weft_popen *)1;
	wt_rc(weft_popen_start(&p, ARGV("nonexisting_i_hope"), NULL), WEFT_ENOENT);
	ck_assert_ptr_null(p);
	/* a directory, a file without the x bit, a file of no known format */
	wt_rc(weft_run(ARGV("/tmp"), NULL, &r), WEFT_EACCES);
	char path[] = "/tmp/weft_noexec_XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "\x7f\x01\x02\x03 not a program", 19), 19);
	close(fd);
	chmod(path, 0644);
	wt_rc(weft_run(ARGV(path), NULL, &r), WEFT_EACCES);
	ck_assert_ptr_nonnull(strstr(weft_last_failure_message(), path));
	chmod(path, 0755);
	wt_rc(weft_run(ARGV(path), NULL, &r), WEFT_ENOEXEC);
	unlink(path);
	/* executable= that does not exist */
	wt_rc(weft_run(ARGV("sh", "-c", "exit 0"), &(weft_run_opts){.popen.executable = "nonexisting_i_hope"},
	               &r),
	      WEFT_ENOENT);
}
END_TEST

START_TEST(executable_and_shell)
{
	weft_completed r;
	/* executable= runs instead of argv[0], which the child still sees */
	wt_ok(weft_run(ARGV("doesnotexist", "-c", "echo $0"),
	               &(weft_run_opts){.popen.executable = "/bin/sh", .capture_output = true}, &r));
	ck_assert_str_eq(r.out.data, "doesnotexist\n");
	weft_completed_free(&r);
	/* shell: argv[0] is the command line, the rest $0, $1, ... */
	wt_ok(weft_run(ARGV("echo $0 $1 | tr a-z A-Z", "first", "second"),
	               &(weft_run_opts){.popen.shell = true, .capture_output = true}, &r));
	ck_assert_str_eq(r.out.data, "FIRST SECOND\n");
	weft_completed_free(&r);
	/* executable= replaces the shell */
	wt_ok(weft_run(ARGV("exit 47"), &(weft_run_opts){.popen = {.shell = true, .executable = "/bin/bash"}},
	               &r));
	ck_assert_int_eq(r.returncode, 47);
	weft_completed_free(&r);
}
END_TEST

START_TEST(stdio_modes)
{
	weft_completed r;
	/* DEVNULL in and out */
	wt_ok(weft_run(ARGV("cat"),
	               &(weft_run_opts){.popen.stdin_mode = WEFT_DEVNULL, .popen.stdout_mode = WEFT_PIPE},
	               &r));
	ck_assert_str_eq(r.out.data, "");
	weft_completed_free(&r);
	wt_ok(weft_run(ARGV("sh", "-c", "echo gone; echo kept >&2"),
	               &(weft_run_opts){.popen = {.stdout_mode = WEFT_DEVNULL, .stderr_mode = WEFT_PIPE}},
	               &r));
	ck_assert_str_eq(r.err.data, "kept\n");
	weft_completed_free(&r);
	/* a given fd */
	FILE *tf = tmpfile();
	wt_ok(weft_run(ARGV("echo", "to file"),
	               &(weft_run_opts){.popen = {.stdout_mode = WEFT_USE_FD, .stdout_fd = fileno(tf)}}, &r));
	weft_completed_free(&r);
	char buf[32] = {0};
	rewind(tf);
	ck_assert_ptr_nonnull(fgets(buf, sizeof buf, tf));
	ck_assert_str_eq(buf, "to file\n");
	fclose(tf);
	/* stderr=STDOUT keeps the order of writes */
	wt_ok(weft_run(ARGV("sh", "-c", "echo 1; echo 2 >&2; echo 3"),
	               &(weft_run_opts){.popen = {.stdout_mode = WEFT_PIPE, .stderr_mode = WEFT_STDOUT}},
	               &r));
	ck_assert_str_eq(r.out.data, "1\n2\n3\n");
	weft_completed_free(&r);
	/* STDOUT is for stderr only; a closed or negative fd is refused */
	wt_rc(weft_run(ARGV("true"), &(weft_run_opts){.popen.stdout_mode = WEFT_STDOUT}, &r), WEFT_EINVAL);
	wt_rc(weft_run(ARGV("true"), &(weft_run_opts){.popen.stdin_mode = WEFT_STDOUT}, &r), WEFT_EINVAL);
	wt_rc(weft_run(ARGV("true"),
	               &(weft_run_opts){.popen = {.stdout_mode = WEFT_USE_FD, .stdout_fd = 999}}, &r),
	      WEFT_EBADF);
	wt_rc(weft_run(ARGV("true"), &(weft_run_opts){.popen = {.stdout_mode = WEFT_USE_FD, .stdout_fd = -1}},
	               &r),
	      WEFT_EINVAL);
	wt_rc(weft_run(ARGV("true"), &(weft_run_opts){.popen.stderr_mode = (weft_stdio)42}, &r), WEFT_EINVAL);
}
END_TEST

/* Python's test_swap_fds / test_close_fd_N: the child's stdio set up right
 * whatever fds 0, 1, 2 hold in the parent. */
START_TEST(swapped_and_closed_std_fds)
{
	int saved[3];
	for (int i = 0; i < 3; i++)
		saved[i] = fcntl(i, F_DUPFD_CLOEXEC, 10);
	FILE *in = tmpfile(), *out = tmpfile();
	fputs("swapped", in);
	fflush(in);
	rewind(in);
	/* the input file on fd 1, the output file on fd 0 */
	dup2(fileno(in), 1);
	dup2(fileno(out), 0);
	weft_completed r;
	int rc = weft_run(ARGV("cat"),
	                  &(weft_run_opts){.popen = {.stdin_mode = WEFT_USE_FD,
	                                             .stdin_fd = 1,
	                                             .stdout_mode = WEFT_USE_FD,
	                                             .stdout_fd = 0}},
	                  &r);
	weft_completed_free(&r);
	/* all three closed: our pipes must not land on 0, 1, 2 unseen */
	close(0);
	close(1);
	close(2);
	int rc2 = weft_run(ARGV("sh", "-c", "cat; echo err >&2"),
	                   &(weft_run_opts){.input = "closed", .input_len = 6, .capture_output = true}, &r);
	for (int i = 0; i < 3; i++) {
		dup2(saved[i], i);
		close(saved[i]);
	}
	wt_ok(rc);
	wt_ok(rc2);
	ck_assert_str_eq(r.out.data, "closed");
	ck_assert_str_eq(r.err.data, "err\n");
	weft_completed_free(&r);
	char buf[32] = {0};
	rewind(out);
	ck_assert_ptr_nonnull(fgets(buf, sizeof buf, out));
	ck_assert_str_eq(buf, "swapped");
	fclose(in);
	fclose(out);
}
END_TEST

START_TEST(umask_and_sessions)
{
	weft_completed r;
	wt_ok(weft_run(ARGV("sh", "-c", "umask"),
	               &(weft_run_opts){.popen = {.set_umask = true, .umask = 027}, .capture_output = true},
	               &r));
	ck_assert_str_eq(r.out.data, "0027\n");
	weft_completed_free(&r);
	wt_ok(weft_run(ARGV("sh", "-c", "umask"),
	               &(weft_run_opts){.popen = {.set_umask = true, .umask = 0}, .capture_output = true},
	               &r));
	ck_assert_str_eq(r.out.data, "0000\n");
	weft_completed_free(&r);
	wt_rc(weft_run(ARGV("true"), &(weft_run_opts){.popen = {.set_umask = true, .umask = 01000}}, &r),
	      WEFT_EINVAL);
	/* /proc/self/stat: pid (comm) state ppid pgrp session */
	weft_popen *p;
	int pid, pgrp, sid;
	weft_bytes out;
	weft_popen_opts ns = {.start_new_session = true, .stdout_mode = WEFT_PIPE};
	wt_ok(weft_popen_start(&p, ARGV("cat", "/proc/self/stat"), &ns));
	wt_ok(weft_popen_communicate(p, NULL, 0, WEFT_FOREVER, &out, NULL));
	ck_assert_int_eq(sscanf(out.data, "%d %*s %*c %*d %d %d", &pid, &pgrp, &sid), 3);
	ck_assert_int_eq(pid, weft_popen_pid(p));
	ck_assert_int_eq(pgrp, pid);
	ck_assert_int_eq(sid, pid);
	weft_bytes_free(&out);
	weft_popen_free(p);
	weft_popen_opts ng = {.new_process_group = true, .stdout_mode = WEFT_PIPE};
	wt_ok(weft_popen_start(&p, ARGV("cat", "/proc/self/stat"), &ng));
	wt_ok(weft_popen_communicate(p, NULL, 0, WEFT_FOREVER, &out, NULL));
	ck_assert_int_eq(sscanf(out.data, "%d %*s %*c %*d %d %d", &pid, &pgrp, &sid), 3);
	ck_assert_int_eq(pgrp, pid);
	ck_assert_int_eq(sid, getsid(0));
	weft_bytes_free(&out);
	/* process_group=N joins group N */
	weft_popen *q;
	weft_popen_opts join = {.process_group = pid, .stdout_mode = WEFT_PIPE, .stdin_mode = WEFT_PIPE};
	weft_popen *leader;
	wt_ok(weft_popen_start(&leader, ARGV("cat"),
	                       &(weft_popen_opts){.new_process_group = true, .stdin_mode = WEFT_PIPE}));
	join.process_group = weft_popen_pid(leader);
	wt_ok(weft_popen_start(&q, ARGV("cat", "/proc/self/stat"), &join));
	wt_ok(weft_popen_communicate(q, NULL, 0, WEFT_FOREVER, &out, NULL));
	ck_assert_int_eq(sscanf(out.data, "%d %*s %*c %*d %d", &pid, &pgrp), 2);
	ck_assert_int_eq(pgrp, weft_popen_pid(leader));
	weft_bytes_free(&out);
	wt_ok(weft_popen_communicate(leader, NULL, 0, WEFT_FOREVER, NULL, NULL));
	weft_popen_free(q);
	weft_popen_free(leader);
	weft_popen_free(p);
	/* conflicting options */
	wt_rc(weft_run(ARGV("true"),
	               &(weft_run_opts){.popen = {.start_new_session = true, .new_process_group = true}}, &r),
	      WEFT_EINVAL);
	wt_rc(weft_run(ARGV("true"),
	               &(weft_run_opts){.popen = {.new_process_group = true, .process_group = 1}}, &r),
	      WEFT_EINVAL);
	wt_rc(weft_run(ARGV("true"), &(weft_run_opts){.popen.process_group = -3}, &r), WEFT_EINVAL);
}
END_TEST

START_TEST(getstatusoutput_strips_one_newline)
{
	int status;
	char *s;
	wt_ok(weft_getstatusoutput("echo xyzzy", &status, &s));
	ck_assert_int_eq(status, 0);
	ck_assert_str_eq(s, "xyzzy");
	free(s);
	wt_ok(weft_getstatusoutput("printf 'a\\n\\n'; echo oops >&2; exit 3", &status, &s));
	ck_assert_int_eq(status, 3);
	ck_assert_str_eq(s, "a\n\noops");
	free(s);
	wt_ok(weft_getoutput("printf ''", &s));
	ck_assert_str_eq(s, "");
	free(s);
	wt_rc(weft_getstatusoutput(NULL, &status, &s), WEFT_EINVAL);
	wt_rc(weft_getstatusoutput("true", NULL, &s), WEFT_EINVAL);
	wt_rc(weft_getoutput("true", NULL), WEFT_EINVAL);
}
END_TEST

START_TEST(run_bad_arguments)
{
	weft_completed r;
	int code;
	weft_bytes out;
	wt_rc(weft_run(NULL, NULL, &r), WEFT_EINVAL);
	wt_rc(weft_run((const char *[]){NULL}, NULL, &r), WEFT_EINVAL);
	wt_rc(weft_run(ARGV("true"), NULL, NULL), WEFT_EINVAL);
	wt_rc(weft_run(ARGV("true"), &(weft_run_opts){.timeout = -2}, &r), WEFT_EINVAL);
	wt_rc(weft_run(ARGV("true"), &(weft_run_opts){.timeout = NAN}, &r), WEFT_EINVAL);
	wt_rc(weft_run(ARGV("true"), &(weft_run_opts){.input_len = 3}, &r), WEFT_EINVAL);
	wt_rc(weft_call(ARGV("true"), NULL, NULL), WEFT_EINVAL);
	wt_rc(weft_call(NULL, NULL, &code), WEFT_EINVAL);
	wt_rc(weft_check_call(NULL, NULL), WEFT_EINVAL);
	wt_rc(weft_check_output(ARGV("true"), NULL, NULL), WEFT_EINVAL);
	wt_rc(weft_check_output(NULL, NULL, &out), WEFT_EINVAL);
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	close(fd);
	wt_rc(weft_run(ARGV("true"), &(weft_run_opts){.popen = {.pass_fds = &fd, .npass_fds = 1}}, &r),
	      WEFT_EBADF);
	int neg = -1;
	wt_rc(weft_run(ARGV("true"), &(weft_run_opts){.popen = {.pass_fds = &neg, .npass_fds = 1}}, &r),
	      WEFT_EINVAL);
	wt_rc(weft_run(ARGV("true"), &(weft_run_opts){.popen = {.npass_fds = 1}}, &r), WEFT_EINVAL);
	weft_completed_free(NULL);
	weft_completed_free(&r);
}
END_TEST

/* Out of fds part-way through the setup: WEFT_EMFILE, and nothing is left
 * behind (no fd, no child: the fixture checks both). */
START_TEST(out_of_fds_leaves_nothing)
{
	struct rlimit old;
	getrlimit(RLIMIT_NOFILE, &old);
	int fds = wt_open_fds();
	/* Raise the limit one fd at a time: the first tries run out at each
	 * step of the setup (pipes, the report socket, the pidfd). */
	weft_completed r;
	int rc = WEFT_EMFILE, failures = 0;
	for (int spare = 0; rc == WEFT_EMFILE && spare < 16; spare++) {
		/* the lowest limit that leaves `spare` free fds below it */
		int limit = 0, free_fds = 0;
		while (free_fds < spare || fcntl(limit, F_GETFD) >= 0)
			free_fds += fcntl(limit++, F_GETFD) < 0;
		struct rlimit low = {(rlim_t)limit, old.rlim_max};
		ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &low), 0);
		rc = weft_run(ARGV("echo", "x"), &(weft_run_opts){.capture_output = true}, &r);
		ck_assert_int_eq(setrlimit(RLIMIT_NOFILE, &old), 0);
		if (rc == WEFT_EMFILE) {
			failures++;
			ck_assert_ptr_null(r.args);
			ck_assert_int_eq(wt_open_fds(), fds);
		}
	}
	wt_ok(rc);
	ck_assert_str_eq(r.out.data, "x\n");
	weft_completed_free(&r);
	ck_assert_int_ge(failures, 4);
}
END_TEST

static void on_hup(int sig)
{
	(void)sig;
}

/* The child gets default dispositions and an empty mask whatever ours are
 * (Python restores only what it set itself). */
START_TEST(child_signal_state_is_clean)
{
	signal(SIGINT, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR2, SIG_IGN);
	signal(SIGRTMIN + 3, SIG_IGN); /* above 32: the second half of the mask */
	signal(SIGHUP, on_hup);        /* caught: reset before the mask is emptied */
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	sigaddset(&s, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	weft_completed r;
	wt_ok(weft_run(ARGV("grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"),
	               &(weft_run_opts){.capture_output = true}, &r));
	ck_assert_str_eq(r.out.data, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n");
	weft_completed_free(&r);
	/* and ours are unchanged */
	sigset_t now;
	pthread_sigmask(SIG_BLOCK, NULL, &now);
	ck_assert(sigismember(&now, SIGUSR1));
	ck_assert(!sigismember(&now, SIGINT));
	struct sigaction sa;
	sigaction(SIGINT, NULL, &sa);
	ck_assert(sa.sa_handler == SIG_IGN);
	sigaction(SIGHUP, NULL, &sa);
	ck_assert(sa.sa_handler == on_hup);
	signal(SIGRTMIN + 3, SIG_DFL);
	signal(SIGHUP, SIG_DFL);
}
END_TEST

int main(int argc, char **argv)
{
	sp_helper_main(argc, argv);
	Suite *s = suite_create("subprocess_run");
	TCase *tc = sp_tcase("run", 60);
	tcase_add_test(tc, call_returns_exit_status);
	tcase_add_test(tc, check_call_zero_and_nonzero);
	tcase_add_test(tc, check_output_variants);
	tcase_add_test(tc, run_captures_both_streams);
	tcase_add_test(tc, run_check_keeps_output);
	tcase_add_test(tc, run_timeout_kills_and_keeps_output);
	tcase_add_test(tc, run_input_and_empty_input);
	tcase_add_test(tc, env_replaces_and_adds);
	tcase_add_test(tc, path_comes_from_the_child_env);
	tcase_add_test(tc, cwd_is_used);
	tcase_add_test(tc, missing_or_unusable_program);
	tcase_add_test(tc, executable_and_shell);
	tcase_add_test(tc, stdio_modes);
	tcase_add_test(tc, swapped_and_closed_std_fds);
	tcase_add_test(tc, umask_and_sessions);
	tcase_add_test(tc, getstatusoutput_strips_one_newline);
	tcase_add_test(tc, run_bad_arguments);
	tcase_add_test(tc, child_signal_state_is_clean);
	tcase_add_test(tc, out_of_fds_leaves_nothing);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
