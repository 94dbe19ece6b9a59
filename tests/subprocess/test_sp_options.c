/* The Popen options Python grew in 3.9 and 3.10: user, group,
 * extra_groups, pipesize (and process_group beside them). Modelled on
 * test_subprocess.py's test_user, test_group, test_extra_groups and
 * test_pipesizes. The suite runs as root, so the child can change
 * identity; `id` in the child tells what it got. */
#include "sp_helpers.h"

#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <weft.h>

#define ARGV(...) ((const char *[]){__VA_ARGS__, NULL})

/* Runs `id <flag>` with opts and returns its output without the newline
 * (static buffer). */
static const char *id_of(const char *flag, const weft_popen_opts *opts)
{
	static char out[256];
	weft_run_opts o = {.popen = *opts, .capture_output = true, .check = true};
	weft_completed r;
	int rc = weft_run(ARGV("id", flag), &o, &r);
	ck_assert_msg(rc == 0, "id %s: %s (%s)", flag, weft_errname(rc), weft_last_failure_message());
	snprintf(out, sizeof out, "%s", (const char *)r.out.data);
	out[strcspn(out, "\n")] = '\0';
	weft_completed_free(&r);
	return out;
}

static bool am_root(void)
{
	return geteuid() == 0;
}

START_TEST(user_by_name_and_number)
{
	if (!am_root())
		return;
	struct passwd *pw = getpwnam("nobody");
	ck_assert_ptr_nonnull(pw);
	char want[32];
	snprintf(want, sizeof want, "%u", (unsigned)pw->pw_uid);
	ck_assert_str_eq(id_of("-u", &(weft_popen_opts){.user = "nobody"}), want);
	ck_assert_str_eq(id_of("-ru", &(weft_popen_opts){.user = "nobody"}), want); /* real too */
	ck_assert_str_eq(id_of("-u", &(weft_popen_opts){.set_uid = true, .uid = pw->pw_uid}), want);
	/* uid 0 is a number like any other: set_uid tells it from "not given" */
	ck_assert_str_eq(id_of("-u", &(weft_popen_opts){.set_uid = true, .uid = 0}), "0");
	/* and without the option the child stays who we are */
	ck_assert_str_eq(id_of("-u", &(weft_popen_opts){0}), "0");
}
END_TEST

START_TEST(group_by_name_and_number)
{
	if (!am_root())
		return;
	struct group *gr = getgrnam("daemon");
	ck_assert_ptr_nonnull(gr);
	char want[32];
	snprintf(want, sizeof want, "%u", (unsigned)gr->gr_gid);
	ck_assert_str_eq(id_of("-g", &(weft_popen_opts){.group = "daemon"}), want);
	ck_assert_str_eq(id_of("-rg", &(weft_popen_opts){.group = "daemon"}), want);
	ck_assert_str_eq(id_of("-g", &(weft_popen_opts){.set_gid = true, .gid = gr->gr_gid}), want);
}
END_TEST

START_TEST(extra_groups_set_and_cleared)
{
	if (!am_root())
		return;
	/* id -G: the effective group, then the supplementary ones */
	gid_t two[] = {1, 2};
	ck_assert_str_eq(
	    id_of("-G",
	          &(weft_popen_opts){.set_gid = true, .gid = 0, .extra_groups = two, .nextra_groups = 2}),
	    "0 1 2");
	/* non-NULL with a count of 0: none at all (Python's extra_groups=[]) */
	ck_assert_str_eq(id_of("-G", &(weft_popen_opts){.extra_groups = two, .nextra_groups = 0}), "0");
	/* all three together, as Python's test_subprocess does: groups first,
	 * then the group, then the user (after which none could change) */
	ck_assert_str_eq(id_of("-G", &(weft_popen_opts){.user = "nobody",
	                                                .group = "daemon",
	                                                .extra_groups = two,
	                                                .nextra_groups = 1}),
	                 "1"); /* daemon's gid is 1, and the one extra group is 1 as well */
	ck_assert_str_eq(id_of("-un", &(weft_popen_opts){.user = "nobody",
	                                                 .group = "daemon",
	                                                 .extra_groups = two,
	                                                 .nextra_groups = 2}),
	                 "nobody");
}
END_TEST

/* A child that is no longer root cannot take another identity: the
 * failure names the step and comes back as WEFT_EPERM, with nothing left
 * behind (the fixture checks fds and zombies). */
START_TEST(identity_change_refused)
{
	if (!am_root())
		return;
	/* As nobody, run ourselves asking to become root again. */
	weft_completed r;
	int rc = weft_run(ARGV(sp_self, "--become-root"),
	                  &(weft_run_opts){.popen.user = "nobody", .capture_output = true}, &r);
	wt_ok(rc);
	ck_assert_str_eq(r.out.data, "WEFT_EPERM setreuid\n");
	weft_completed_free(&r);
}
END_TEST

START_TEST(bad_identity_arguments)
{
	weft_popen *p;
	gid_t g = 0, bad = (gid_t)-1;
	wt_rc(weft_popen_start(&p, ARGV("true"), &(weft_popen_opts){.user = "x", .set_uid = true}),
	      WEFT_EINVAL);
	wt_rc(weft_popen_start(&p, ARGV("true"), &(weft_popen_opts){.group = "x", .set_gid = true}),
	      WEFT_EINVAL);
	wt_rc(weft_popen_start(&p, ARGV("true"), &(weft_popen_opts){.set_uid = true, .uid = (uid_t)-1}),
	      WEFT_EINVAL);
	wt_rc(weft_popen_start(&p, ARGV("true"), &(weft_popen_opts){.set_gid = true, .gid = (gid_t)-1}),
	      WEFT_EINVAL);
	wt_rc(weft_popen_start(&p, ARGV("true"), &(weft_popen_opts){.nextra_groups = 1}), WEFT_EINVAL);
	wt_rc(
	    weft_popen_start(&p, ARGV("true"), &(weft_popen_opts){.extra_groups = &bad, .nextra_groups = 1}),
	    WEFT_EINVAL);
	wt_rc(weft_popen_start(&p, ARGV("true"),
	                       &(weft_popen_opts){.extra_groups = &g, .nextra_groups = (size_t)1 << 20}),
	      WEFT_EINVAL);
	ck_assert_ptr_null(p);
	/* unknown names: Python's KeyError, a message naming the name */
	wt_rc(weft_popen_start(&p, ARGV("true"), &(weft_popen_opts){.user = "no_such_user_i_hope"}),
	      WEFT_ENOENT);
	ck_assert_ptr_nonnull(strstr(weft_last_failure_message(), "no_such_user_i_hope"));
	wt_rc(weft_popen_start(&p, ARGV("true"), &(weft_popen_opts){.group = "no_such_group_i_hope"}),
	      WEFT_ENOENT);
	ck_assert_ptr_nonnull(strstr(weft_last_failure_message(), "no_such_group_i_hope"));
	/* through run too, and nothing is started */
	weft_completed r;
	wt_rc(weft_run(ARGV("true"), &(weft_run_opts){.popen.user = "no_such_user_i_hope"}, &r), WEFT_ENOENT);
	ck_assert_ptr_null(r.args);
}
END_TEST

START_TEST(pipesize_sets_every_pipe)
{
	weft_popen *p;
	int size = 1 << 20;
	wt_ok(weft_popen_start(&p, ARGV("sleep", "30"), /* never reads its stdin */
	                       &(weft_popen_opts){.stdin_mode = WEFT_PIPE,
	                                          .stdout_mode = WEFT_PIPE,
	                                          .stderr_mode = WEFT_PIPE,
	                                          .pipesize = size}));
	ck_assert_int_eq(fcntl(weft_popen_stdin_fd(p), F_GETPIPE_SZ), size);
	ck_assert_int_eq(fcntl(weft_popen_stdout_fd(p), F_GETPIPE_SZ), size);
	ck_assert_int_eq(fcntl(weft_popen_stderr_fd(p), F_GETPIPE_SZ), size);
	/* the whole megabyte fits without the child reading: a write that
	 * would block on a default 64 KiB pipe does not */
	char *buf = calloc(1, (size_t)size);
	int fd = weft_popen_stdin_fd(p);
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	ck_assert_int_eq(write(fd, buf, (size_t)size), size);
	free(buf);
	wt_ok(weft_popen_kill(p));
	wt_ok(weft_popen_wait(p, WEFT_FOREVER, NULL));
	weft_popen_free(p);
	/* a size that is not a power of two is rounded up */
	wt_ok(weft_popen_start(&p, ARGV("true"),
	                       &(weft_popen_opts){.stdout_mode = WEFT_PIPE, .pipesize = 100000}));
	ck_assert_int_eq(fcntl(weft_popen_stdout_fd(p), F_GETPIPE_SZ), 128 * 1024);
	wt_ok(weft_popen_wait(p, WEFT_FOREVER, NULL));
	weft_popen_free(p);
	/* 0 leaves the default; no pipe, nothing to size */
	wt_ok(weft_popen_start(&p, ARGV("true"), &(weft_popen_opts){.stdout_mode = WEFT_PIPE}));
	ck_assert_int_eq(fcntl(weft_popen_stdout_fd(p), F_GETPIPE_SZ), 64 * 1024);
	wt_ok(weft_popen_wait(p, WEFT_FOREVER, NULL));
	weft_popen_free(p);
	/* run with capture_output gets big pipes too */
	weft_completed r;
	wt_ok(weft_run(ARGV("echo", "hi"), &(weft_run_opts){.capture_output = true, .popen.pipesize = size},
	               &r));
	ck_assert_str_eq(r.out.data, "hi\n");
	weft_completed_free(&r);
}
END_TEST

START_TEST(pipesize_errors)
{
	weft_popen *p;
	wt_rc(
	    weft_popen_start(&p, ARGV("true"), &(weft_popen_opts){.stdout_mode = WEFT_PIPE, .pipesize = -1}),
	    WEFT_EINVAL);
	ck_assert_ptr_null(p);
	/* Above /proc/sys/fs/pipe-max-size (1 MiB by default) only a
	 * privileged caller may grow a pipe: others get the kernel's EPERM,
	 * with nothing left open (the fixture checks). */
	if (!am_root()) {
		wt_rc(weft_popen_start(&p, ARGV("true"),
		                       &(weft_popen_opts){.stdout_mode = WEFT_PIPE, .pipesize = 64 << 20}),
		      WEFT_EPERM);
		ck_assert_ptr_null(p);
	}
}
END_TEST

/* process_group=N: the child joins an existing group. */
START_TEST(process_group_joins_a_group)
{
	weft_popen *leader;
	wt_ok(weft_popen_start(&leader, ARGV("sleep", "30"), &(weft_popen_opts){.new_process_group = true}));
	pid_t pg = weft_popen_pid(leader);
	char want[32];
	snprintf(want, sizeof want, "%d", (int)pg);
	weft_completed r;
	wt_ok(weft_run(ARGV("sh", "-c", "ps -o pgid= -p $$ | tr -d ' '"),
	               &(weft_run_opts){.capture_output = true, .popen.process_group = pg}, &r));
	ck_assert_str_eq(r.out.data, strcat(want, "\n"));
	weft_completed_free(&r);
	wt_ok(weft_popen_kill(leader));
	wt_ok(weft_popen_wait(leader, WEFT_FOREVER, NULL));
	weft_popen_free(leader);
}
END_TEST

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--become-root") == 0) {
		/* run by identity_change_refused as nobody */
		weft_completed r;
		int rc = weft_run((const char *[]){"true", NULL},
		                  &(weft_run_opts){.popen.set_uid = true, .popen.uid = 0}, &r);
		const char *m = weft_last_failure_message();
		printf("%s %s\n", weft_errname(rc), m && strstr(m, "setreuid") ? "setreuid" : m ? m : "-");
		weft_completed_free(&r);
		return 0;
	}
	sp_helper_main(argc, argv);
	Suite *s = suite_create("subprocess_options");
	TCase *tc = sp_tcase("options", 60);
	tcase_add_test(tc, user_by_name_and_number);
	tcase_add_test(tc, group_by_name_and_number);
	tcase_add_test(tc, extra_groups_set_and_cleared);
	tcase_add_test(tc, identity_change_refused);
	tcase_add_test(tc, bad_identity_arguments);
	tcase_add_test(tc, pipesize_sets_every_pipe);
	tcase_add_test(tc, pipesize_errors);
	tcase_add_test(tc, process_group_joins_a_group);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
