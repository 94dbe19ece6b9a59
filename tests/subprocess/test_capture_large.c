/* Large captured output (past 1 MiB it lives in a mapping weft owns and
 * recycles, src/subprocess/bigbuf.c): the bytes are exact on stdout and
 * stderr at once, around every size where the buffer changes hands, from a
 * fresh mapping and from a recycled one holding an older output; a timeout
 * keeps what was read and a later communicate returns all of it;
 * weft_bytes_free, weft_bytes_set and getstatusoutput handle such bytes
 * (ASan reports a free() of them); captures race from several threads
 * (TSan); every allocation on the way fails in turn (wfault.h). Each test
 * ends with the fd and zombie check. */
#include "sp_helpers.h"
#include "wfault.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <weft.h>

#define ARGV(...) ((const char *[]){__VA_ARGS__, NULL})
#define MIB       ((size_t)1 << 20)

/* Byte i of stream seed: not periodic at any power of two, so a chunk
 * lost, repeated or moved shows. */
static unsigned char pattern(size_t i, unsigned seed)
{
	return (unsigned char)(i ^ (i >> 9) ^ (i >> 17) ^ (i >> 25) ^ seed);
}

static bool is_pattern(const weft_bytes *b, size_t len, unsigned seed)
{
	if (b->len != len || !b->data || ((const char *)b->data)[len] != '\0')
		return false;
	const unsigned char *d = b->data;
	for (size_t i = 0; i < len; i++)
		if (d[i] != pattern(i, seed))
			return false;
	return true;
}

static void write_all(int fd, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k <= 0)
			_exit(3);
		p += k;
		n -= (size_t)k;
	}
}

/* Writes out bytes of stream seed to fd 1 and err bytes of stream seed+1
 * to fd 2, in turns of 64 KiB so both pipes fill at once; start is the
 * offset in the streams. */
static void emit(size_t start, size_t out, size_t err, unsigned seed)
{
	enum { CHUNK = 64 * 1024 };
	static unsigned char buf[CHUNK];
	for (size_t o = 0, e = 0; o < out || e < err;) {
		size_t n = out - o < CHUNK ? out - o : CHUNK;
		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(start + o + i, seed);
		write_all(1, buf, n);
		o += n;
		n = err - e < CHUNK ? err - e : CHUNK;
		for (size_t i = 0; i < n; i++)
			buf[i] = pattern(start + e + i, seed + 1);
		write_all(2, buf, n);
		e += n;
	}
}

/* Helper mode: --emit OUT ERR SEED [WAITFD MORE]: emits OUT and ERR bytes;
 * with WAITFD, then reads a byte from it (or EOF) and emits MORE more
 * bytes of stdout. */
static void emit_main(int argc, char **argv)
{
	if (argc < 5 || strcmp(argv[1], "--emit") != 0)
		return;
	size_t out = strtoull(argv[2], NULL, 10), err = strtoull(argv[3], NULL, 10);
	unsigned seed = (unsigned)atoi(argv[4]);
	emit(0, out, err, seed);
	if (argc >= 7) {
		char c;
		while (read(atoi(argv[5]), &c, 1) < 0 && errno == EINTR)
			;
		emit(out, strtoull(argv[6], NULL, 10), 0, seed);
	}
	_exit(0);
}

static int capture(size_t out, size_t err, unsigned seed, weft_completed *r)
{
	char a[32], b[32], s[16];
	snprintf(a, sizeof a, "%zu", out);
	snprintf(b, sizeof b, "%zu", err);
	snprintf(s, sizeof s, "%u", seed);
	return weft_run(ARGV(sp_self, "--emit", a, b, s), &(weft_run_opts){.capture_output = true}, r);
}

static void check_capture(size_t out, size_t err, unsigned seed)
{
	weft_completed r;
	wt_ok(capture(out, err, seed, &r));
	ck_assert_int_eq(r.returncode, 0);
	ck_assert_msg(is_pattern(&r.out, out, seed), "stdout of %zu bytes (got %zu)", out, r.out.len);
	ck_assert_msg(is_pattern(&r.err, err, seed + 1), "stderr of %zu bytes (got %zu)", err, r.err.len);
	weft_completed_free(&r);
}

/* Both streams large at once, then again (the second capture recycles the
 * first's mappings, which still hold the older bytes), then shorter ones
 * into the same mappings. */
START_TEST(large_both_streams_exact_and_recycled)
{
	check_capture(5 * MIB + 17, 3 * MIB + 1, 1);
	check_capture(5 * MIB + 17, 3 * MIB + 1, 7);
	check_capture(2 * MIB - 5, 1 * MIB + 3, 11);
	check_capture(6 * MIB, 4 * MIB, 13);
}
END_TEST

/* Around the sizes where the buffer changes: the move into a mapping at
 * 1 MiB, the end of a pipeful, a round output filling a mapping to its
 * last byte before the NUL. */
START_TEST(sizes_around_the_thresholds)
{
	const size_t sizes[] = {MIB - 1, MIB, MIB + 1, MIB + 65536, 2 * MIB, 4 * MIB - 64};
	for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++)
		check_capture(sizes[k], sizes[k] / 3, (unsigned)k);
}
END_TEST

/* Past the first mapping (64 MiB and a page): the output moves into a
 * bigger one, and that one is too big to be kept for recycling. Then a
 * capture that fits the first size again. */
START_TEST(output_outgrowing_the_first_mapping)
{
	check_capture(66 * MIB + 12345, 0, 3);
	check_capture(3 * MIB, 0, 5);
}
END_TEST

/* A timeout keeps what was read; a later communicate returns the whole
 * output from the start, however much came after. */
START_TEST(timeout_keeps_partial_then_communicate_returns_rest)
{
	int ctl[2];
	char fd[16];
	sp_gate(ctl, fd);
	weft_popen *p;
	wt_ok(weft_popen_start(
	    &p, ARGV(sp_self, "--emit", "3145728", "1048577", "21", fd, "2097153"),
	    &(weft_popen_opts){
	        .stdout_mode = WEFT_PIPE, .stderr_mode = WEFT_PIPE, .pass_fds = &ctl[0], .npass_fds = 1}));
	close(ctl[0]);
	weft_bytes out, err;
	/* The child blocks on ctl after its first 3 MiB + 1 MiB, so the
	 * timeout expires; by then it has long written them (generous bound). */
	wt_rc(weft_popen_communicate(p, NULL, 0, 2.0, &out, &err), WEFT_ETIMEDOUT);
	ck_assert(is_pattern(&out, 3145728, 21));
	ck_assert(is_pattern(&err, 1048577, 22));
	weft_bytes_free(&out);
	weft_bytes_free(&err);
	ck_assert_int_eq(write(ctl[1], "g", 1), 1);
	close(ctl[1]);
	wt_ok(weft_popen_communicate(p, NULL, 0, WEFT_FOREVER, &out, &err));
	ck_assert(is_pattern(&out, 3145728 + 2097153, 21));
	ck_assert(is_pattern(&err, 1048577, 22));
	weft_bytes_free(&out);
	weft_bytes_free(&err);
	int code = -1;
	wt_ok(weft_popen_wait(p, WEFT_FOREVER, &code));
	ck_assert_int_eq(code, 0);
	weft_popen_free(p);
}
END_TEST

/* run() with a timeout: the child is killed, the output so far is kept,
 * and freeing the Popen that still held a mapping releases it. */
START_TEST(run_timeout_keeps_large_partial_output)
{
	int ctl[2];
	char fd[16];
	sp_gate(ctl, fd);
	weft_run_opts o = {
	    .capture_output = true, .timeout = 1.0, .popen = {.pass_fds = &ctl[0], .npass_fds = 1}};
	weft_completed r;
	wt_rc(weft_run(ARGV(sp_self, "--emit", "2097152", "1572864", "31", fd, "1"), &o, &r), WEFT_ETIMEDOUT);
	ck_assert(is_pattern(&r.out, 2097152, 31));
	ck_assert(is_pattern(&r.err, 1572864, 32));
	weft_completed_free(&r);
	close(ctl[0]);
	close(ctl[1]);
	/* and a Popen freed mid-capture, its output never handed out */
	sp_gate(ctl, fd);
	weft_popen *p;
	wt_ok(weft_popen_start(
	    &p, ARGV(sp_self, "--emit", "3145728", "0", "1", fd, "1"),
	    &(weft_popen_opts){.stdout_mode = WEFT_PIPE, .pass_fds = &ctl[0], .npass_fds = 1}));
	close(ctl[0]);
	weft_bytes out;
	wt_rc(weft_popen_communicate(p, NULL, 0, 1.0, &out, NULL), WEFT_ETIMEDOUT);
	ck_assert_uint_eq(out.len, 3145728);
	weft_bytes_free(&out);
	wt_ok(weft_popen_kill(p));
	wt_ok(weft_popen_wait(p, WEFT_FOREVER, NULL));
	weft_popen_free(p);
	close(ctl[1]);
}
END_TEST

/* The pipe of a large capture grows to 256 KiB, unless the caller chose
 * a pipesize (kept as given); a small capture's pipe is left alone. */
static int pipe_size_after_timeout(const char *out_bytes, int pipesize)
{
	int ctl[2];
	char fd[16];
	sp_gate(ctl, fd);
	weft_popen *p;
	wt_ok(weft_popen_start(
	    &p, ARGV(sp_self, "--emit", out_bytes, "0", "3", fd, "0"),
	    &(weft_popen_opts){
	        .stdout_mode = WEFT_PIPE, .pass_fds = &ctl[0], .npass_fds = 1, .pipesize = pipesize}));
	close(ctl[0]);
	weft_bytes out;
	wt_rc(weft_popen_communicate(p, NULL, 0, 1.0, &out, NULL), WEFT_ETIMEDOUT);
	ck_assert_uint_eq(out.len, strtoull(out_bytes, NULL, 10));
	weft_bytes_free(&out);
	int size = fcntl(weft_popen_stdout_fd(p), F_GETPIPE_SZ);
	close(ctl[1]); /* the child ends */
	wt_ok(weft_popen_communicate(p, NULL, 0, WEFT_FOREVER, &out, NULL));
	weft_bytes_free(&out);
	wt_ok(weft_popen_wait(p, WEFT_FOREVER, NULL));
	weft_popen_free(p);
	return size;
}

START_TEST(large_capture_pipe_size)
{
	int dflt = pipe_size_after_timeout("1000", 0);
	ck_assert_int_le(dflt, 65536);
	ck_assert_int_eq(pipe_size_after_timeout("2097152", 0), 262144);
	ck_assert_int_eq(pipe_size_after_timeout("2097152", 131072), 131072);
}
END_TEST

/* Bytes from a large capture go through every weft function that frees or
 * replaces weft_bytes; the strings of getstatusoutput are free()'d. */
START_TEST(large_bytes_through_weft_bytes_functions)
{
	weft_completed r;
	wt_ok(capture(2 * MIB, 0, 41, &r));
	wt_ok(weft_bytes_set(&r.out, "x", 1)); /* replaces (releases) the mapping */
	ck_assert_uint_eq(r.out.len, 1);
	weft_completed_free(&r);
	weft_bytes out;
	wt_ok(weft_check_output(ARGV(sp_self, "--emit", "1500000", "0", "43"), NULL, &out));
	ck_assert(is_pattern(&out, 1500000, 43));
	weft_bytes_free(&out);
	weft_bytes_free(&out); /* zeroed: a second free is harmless */
	char cmd[PATH_MAX + 64];
	snprintf(cmd, sizeof cmd, "'%s' --emit 3000000 1000000 45", sp_self);
	int status = -1;
	char *s = NULL;
	wt_ok(weft_getstatusoutput(cmd, &status, &s));
	ck_assert_int_eq(status, 0);
	/* one pipe, written in turns of 64 KiB: stdout's first, stderr's next */
	for (size_t i = 0; i < 65536; i++) {
		ck_assert_uint_eq((unsigned char)s[i], pattern(i, 45));
		ck_assert_uint_eq((unsigned char)s[65536 + i], pattern(i, 46));
	}
	free(s); /* a malloc'd string, even for a large output */
}
END_TEST

static void *capture_thread(void *arg)
{
	unsigned seed = (unsigned)(uintptr_t)arg;
	for (int k = 0; k < 3; k++) {
		weft_completed r;
		int rc = capture(2 * MIB + seed, MIB + 1, seed, &r);
		bool ok = rc == 0 && is_pattern(&r.out, 2 * MIB + seed, seed) &&
		          is_pattern(&r.err, MIB + 1, seed + 1);
		weft_completed_free(&r);
		if (!ok)
			return (void *)1;
	}
	return NULL;
}

/* Four threads capture at once, three times each: mappings pass through
 * the recycling slots concurrently. */
START_TEST(concurrent_large_captures)
{
	wt_thread *t[4];
	for (int i = 0; i < 4; i++)
		t[i] = wt_spawn(capture_thread, (void *)(uintptr_t)(100 + 10 * i));
	for (int i = 0; i < 4; i++)
		ck_assert_ptr_null(wt_join(t[i]));
}
END_TEST

/* Bytes of address space in use (VmSize), or 0. */
static size_t vm_size(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[128];
	size_t kb = 0;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "VmSize: %zu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb * 1024;
}

/* No address space for a mapping (RLIMIT_AS, in a forked child: the limit
 * is per process): a large capture falls back to a malloc'd buffer and is
 * still whole. Not under a sanitizer, whose shadow memory needs far more
 * address space than any limit that would make the mapping fail. */
START_TEST(no_room_for_a_mapping_falls_back_to_malloc)
{
	if (wt_under_sanitizer())
		return;
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		size_t limit = vm_size() + (40u << 20); /* a 66 MiB mapping does not fit */
		struct rlimit rl = {limit, limit};
		if (!vm_size() || setrlimit(RLIMIT_AS, &rl))
			_exit(2);
		weft_completed r;
		int rc = capture(5 * MIB, 3 * MIB, 61, &r);
		bool ok = rc == 0 && is_pattern(&r.out, 5 * MIB, 61) && is_pattern(&r.err, 3 * MIB, 62);
		weft_completed_free(&r);
		_exit(ok ? 0 : 1);
	}
	int st;
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
}
END_TEST

/* Every allocation of a large capture fails in turn: run returns 0 or
 * WEFT_ENOMEM, leaks nothing (ASan), leaves no child, and the next capture
 * is whole. */
START_TEST(large_capture_enomem_each_allocation)
{
	int failures = 0;
	for (int skip = 0;; skip++) {
		weft_completed r;
		wt_fault_arm(WT_FAULT_ALLOC, skip, 1);
		int rc = capture(3 * MIB, 2 * MIB, 51, &r);
		int hits = wt_fault_hits();
		wt_fault_disarm();
		if (rc == 0) {
			ck_assert(is_pattern(&r.out, 3 * MIB, 51));
			ck_assert(is_pattern(&r.err, 2 * MIB, 52));
		} else {
			failures++;
			wt_rc(rc, WEFT_ENOMEM);
		}
		weft_completed_free(&r);
		if (!hits)
			break;
	}
	ck_assert_int_ge(failures, 3);
	check_capture(3 * MIB, 2 * MIB, 53);
}
END_TEST

int main(int argc, char **argv)
{
	emit_main(argc, argv);
	sp_helper_main(argc, argv);
	Suite *s = suite_create("subprocess_capture_large");
	TCase *tc = sp_tcase("capture_large", 120);
	tcase_add_test(tc, large_both_streams_exact_and_recycled);
	tcase_add_test(tc, sizes_around_the_thresholds);
	tcase_add_test(tc, output_outgrowing_the_first_mapping);
	tcase_add_test(tc, timeout_keeps_partial_then_communicate_returns_rest);
	tcase_add_test(tc, run_timeout_keeps_large_partial_output);
	tcase_add_test(tc, large_capture_pipe_size);
	tcase_add_test(tc, large_bytes_through_weft_bytes_functions);
	tcase_add_test(tc, concurrent_large_captures);
	tcase_add_test(tc, large_capture_enomem_each_allocation);
	tcase_add_test(tc, no_room_for_a_mapping_falls_back_to_malloc);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
