/* Pipes and connections: after CPython's _TestConnection (test_connection,
 * test_duplex_false, test_spawn_close, test_sendbytes, test_poll*) plus
 * weft's keep-the-message-on-EMSGSIZE, timeouts and large messages. */
#include "mp_test.h"

#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <weft/multiprocessing.h>
#include <weft/subprocess.h>

START_TEST(send_recv_roundtrip)
{
	weft_connection *a, *b;
	wt_ok(weft_pipe(&a, &b, NULL));
	weft_bytes m = {0};
	wt_ok(weft_connection_send_bytes(a, "hello", 5, WEFT_FOREVER));
	wt_ok(weft_connection_send_bytes(a, NULL, 0, WEFT_FOREVER)); /* empty message */
	wt_ok(weft_connection_send_bytes(b, "back", 4, 0));
	wt_ok(weft_connection_poll(b, 0));
	wt_ok(weft_connection_recv_bytes(b, &m, 0, WEFT_FOREVER));
	ck_assert_uint_eq(m.len, 5);
	ck_assert_mem_eq(m.data, "hello", 5);
	wt_ok(weft_connection_recv_bytes(b, &m, 0, 1));
	ck_assert_uint_eq(m.len, 0);
	wt_rc(weft_connection_poll(b, 0), WEFT_ETIMEDOUT);
	double t0 = weft_monotonic();
	wt_rc(weft_connection_poll(b, 0.1), WEFT_ETIMEDOUT);
	ck_assert(weft_monotonic() - t0 >= 0.1);
	t0 = weft_monotonic();
	wt_rc(weft_connection_recv_bytes(b, &m, 0, 0.1), WEFT_ETIMEDOUT);
	ck_assert(weft_monotonic() - t0 >= 0.1);
	char buf[16];
	size_t len = 0;
	wt_ok(weft_connection_recv_bytes_into(a, buf, sizeof buf, &len, 1));
	ck_assert_uint_eq(len, 4);
	ck_assert_mem_eq(buf, "back", 4);
	/* fileno works with poll(2) and weft_mp_wait */
	int fds[2] = {weft_connection_fileno(a), weft_connection_fileno(b)};
	bool ready[2];
	wt_rc(weft_mp_wait(fds, 2, ready, 0), WEFT_ETIMEDOUT);
	wt_ok(weft_connection_send_bytes(a, "x", 1, 1));
	ck_assert_int_eq(weft_mp_wait(fds, 2, ready, 1), 1);
	ck_assert(!ready[0] && ready[1]);
	weft_bytes_free(&m);
	/* EOF once the peer is closed and the data is drained */
	weft_connection_close(a);
	wt_ok(weft_connection_recv_bytes(b, &m, 0, 1));
	ck_assert_mem_eq(m.data, "x", 1);
	wt_ok(weft_connection_poll(b, 1)); /* EOF counts as readable */
	wt_rc(weft_connection_recv_bytes(b, &m, 0, 1), WEFT_EEOF);
	wt_rc(weft_connection_recv_bytes_into(b, buf, sizeof buf, &len, 1), WEFT_EEOF);
	wt_rc(weft_connection_send_bytes(b, "x", 1, 1), WEFT_EPIPE);
	weft_bytes_free(&m);
	weft_connection_close(b);
}
END_TEST

struct bigsend {
	weft_connection *c;
	const char *data;
	size_t len;
};

static void *send_big(void *arg)
{
	struct bigsend *bs = arg;
	weft_connection_send_bytes(bs->c, bs->data, bs->len, WEFT_FOREVER);
	return NULL;
}

/* Several messages queued before a receive: the first read takes more than
 * one message into the connection's buffer; poll, weft_mp_wait and the
 * receives still see every message whole and in order, and a message too
 * long for the caller stays intact whether buffered or not. */
START_TEST(read_ahead_keeps_boundaries)
{
	weft_connection *a, *b;
	wt_ok(weft_pipe(&a, &b, NULL));
	enum { BIG = 100000 };
	char *big = malloc(BIG);
	ck_assert_ptr_nonnull(big);
	for (int i = 0; i < BIG; i++)
		big[i] = (char)(i * 7);
	wt_ok(weft_connection_send_bytes(a, "one", 3, 1));
	wt_ok(weft_connection_send_bytes(a, "two!", 4, 1));
	wt_ok(weft_connection_send_bytes(a, NULL, 0, 1));
	char buf[8];
	size_t len = 0;
	wt_ok(weft_connection_recv_bytes_into(b, buf, sizeof buf, &len, 1));
	ck_assert_uint_eq(len, 3);
	ck_assert_mem_eq(buf, "one", 3);
	/* The rest is buffered now: the socket itself is empty. */
	struct pollfd pfd = {.fd = weft_connection_fileno(b), .events = POLLIN};
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	wt_ok(weft_connection_poll(b, 0));
	int fds[2] = {weft_connection_fileno(a), weft_connection_fileno(b)};
	bool ready[2];
	ck_assert_int_eq(weft_mp_wait(fds, 2, ready, 5), 1);
	ck_assert(!ready[0] && ready[1]);
	wt_rc(weft_connection_recv_bytes_into(b, buf, 2, &len, 1), WEFT_EMSGSIZE);
	ck_assert_uint_eq(len, 4);
	wt_ok(weft_connection_recv_bytes_into(b, buf, sizeof buf, &len, 1));
	ck_assert_uint_eq(len, 4);
	ck_assert_mem_eq(buf, "two!", 4);
	wt_ok(weft_connection_recv_bytes_into(b, buf, sizeof buf, &len, 1));
	ck_assert_uint_eq(len, 0);
	wt_rc(weft_mp_wait(fds, 2, ready, 0), WEFT_ETIMEDOUT);
	/* A big message behind a small one: partly read ahead, the rest read
	 * straight into place; too long for a small buffer, it stays whole. */
	weft_bytes m = {0};
	wt_ok(weft_connection_send_bytes(a, "s", 1, 1));
	pthread_t t;
	struct bigsend bs = {a, big, BIG};
	ck_assert_int_eq(pthread_create(&t, NULL, send_big, &bs), 0);
	wt_ok(weft_connection_recv_bytes(b, &m, 0, 5));
	ck_assert_uint_eq(m.len, 1);
	wt_rc(weft_connection_recv_bytes(b, &m, 10, 5), WEFT_EMSGSIZE);
	wt_rc(weft_connection_recv_bytes_into(b, buf, sizeof buf, &len, 5), WEFT_EMSGSIZE);
	ck_assert_uint_eq(len, BIG);
	wt_ok(weft_connection_recv_bytes(b, &m, 0, 5));
	ck_assert_uint_eq(m.len, BIG);
	ck_assert_mem_eq(m.data, big, BIG);
	pthread_join(t, NULL);
	wt_rc(weft_connection_poll(b, 0), WEFT_ETIMEDOUT);
	weft_bytes_free(&m);
	free(big);
	weft_connection_close(a);
	weft_connection_close(b);
}
END_TEST

/* Too long for the buffer: EMSGSIZE, the size needed, message kept. */
START_TEST(too_long_keeps_message)
{
	weft_connection *a, *b;
	wt_ok(weft_pipe(&a, &b, NULL));
	wt_ok(weft_connection_send_bytes(a, "0123456789", 10, 1));
	wt_ok(weft_connection_send_bytes(a, "next", 4, 1));
	char small[4], big[32];
	size_t len = 0;
	wt_rc(weft_connection_recv_bytes_into(b, small, sizeof small, &len, 1), WEFT_EMSGSIZE);
	ck_assert_uint_eq(len, 10);
	weft_bytes m = {0};
	wt_rc(weft_connection_recv_bytes(b, &m, 5, 1), WEFT_EMSGSIZE);
	ck_assert_ptr_null(m.data);
	wt_ok(weft_connection_poll(b, 0));
	wt_ok(weft_connection_recv_bytes_into(b, big, sizeof big, &len, 1));
	ck_assert_uint_eq(len, 10);
	ck_assert_mem_eq(big, "0123456789", 10);
	wt_ok(weft_connection_recv_bytes(b, &m, 4, 1));
	ck_assert_mem_eq(m.data, "next", 4);
	weft_bytes_free(&m);
	weft_connection_close(a);
	weft_connection_close(b);
}
END_TEST

/* recv_bytes and a queue's get replace what the caller's bytes held,
 * whatever weft put there: here a 2 MiB captured output, which lives in a
 * mapping of weft's own (free() on it would crash; ASan would say so). */
START_TEST(recv_replaces_any_weft_bytes)
{
	weft_connection *a, *b;
	wt_ok(weft_pipe(&a, &b, NULL));
	const char *argv[] = {"head", "-c", "2097152", "/dev/zero", NULL};
	weft_bytes m = {0};
	wt_ok(weft_check_output(argv, NULL, &m));
	ck_assert_uint_eq(m.len, 2097152);
	wt_ok(weft_connection_send_bytes(a, "hi", 2, WEFT_FOREVER));
	wt_ok(weft_connection_recv_bytes(b, &m, 0, WEFT_FOREVER));
	ck_assert_uint_eq(m.len, 2);
	ck_assert_mem_eq(m.data, "hi", 2);
	weft_bytes_free(&m);

	weft_mp_queue *q;
	wt_ok(weft_mp_queue_new(&q, NULL));
	wt_ok(weft_check_output(argv, NULL, &m));
	wt_ok(weft_mp_queue_put(q, "yo", 2, WEFT_FOREVER));
	wt_ok(weft_mp_queue_get(q, &m, WEFT_FOREVER));
	ck_assert_uint_eq(m.len, 2);
	ck_assert_mem_eq(m.data, "yo", 2);
	weft_bytes_free(&m);
	weft_mp_queue_free(q);
	weft_connection_close(a);
	weft_connection_close(b);
}
END_TEST

START_TEST(one_way)
{
	weft_connection *r, *w;
	wt_ok(weft_pipe(&r, &w, &(weft_pipe_opts){.one_way = true}));
	weft_bytes m = {0};
	wt_rc(weft_connection_send_bytes(r, "x", 1, 0), WEFT_EBADF);
	wt_rc(weft_connection_recv_bytes(w, &m, 0, 0), WEFT_EBADF);
	wt_rc(weft_connection_poll(w, 0), WEFT_EBADF);
	wt_ok(weft_connection_send_bytes(w, "abc", 3, 0));
	wt_ok(weft_connection_recv_bytes(r, &m, 0, 1));
	ck_assert_mem_eq(m.data, "abc", 3);
	weft_bytes_free(&m);
	weft_connection_close(r);
	weft_connection_close(w);
}
END_TEST

/* Echoes messages on the end given (fds[0]) until EOF. A forked child also
 * holds the parent's end (fds[1]) and closes it, or it would never see EOF
 * (as in Python). */
static int t_echo(const void *in, size_t len, weft_bytes *out)
{
	int fds[3];
	memcpy(fds, in, sizeof fds);
	int fd = fds[0];
	if (fds[2] == WEFT_START_FORK)
		close(fds[1]);
	weft_connection *c;
	if (weft_connection_from_fd(&c, fd, true, true))
		return 40;
	weft_bytes m = {0};
	int n = 0, rc;
	while ((rc = weft_connection_recv_bytes(c, &m, 0, 30)) == 0) {
		if (weft_connection_send_bytes(c, m.data, m.len, 30))
			return 41;
		n++;
	}
	weft_bytes_free(&m);
	weft_connection_close(c);
	return rc == WEFT_EEOF ? 0 : 42;
}
WEFT_TASK(t_echo, t_echo)

static void run_echo(weft_start_method m)
{
	int fds0 = wt_open_fds();
	weft_connection *a, *b;
	wt_ok(weft_pipe(&a, &b, NULL));
	int fd = weft_connection_fileno(b);
	int arg[3] = {fd, weft_connection_fileno(a), m};
	weft_process *p;
	wt_ok(weft_process_start(&p, &(weft_process_opts){.target = t_echo,
	                                                  .arg = arg,
	                                                  .arg_len = sizeof arg,
	                                                  .start = m,
	                                                  .pass_fds = &fd,
	                                                  .n_pass_fds = 1}));
	weft_connection_close(b); /* test_spawn_close: the child keeps its copy */
	/* sizes around the socket buffer and a large one (4 MiB) */
	size_t sizes[] = {1, 100, 4096, 65536, 300000, 4u << 20};
	char *buf = malloc(4u << 20);
	for (size_t i = 0; i < (4u << 20); i++)
		buf[i] = (char)(i * 7);
	weft_bytes got = {0};
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		wt_ok(weft_connection_send_bytes(a, buf, sizes[i], 30));
		wt_ok(weft_connection_recv_bytes(a, &got, 0, 30));
		ck_assert_uint_eq(got.len, sizes[i]);
		ck_assert(memcmp(got.data, buf, sizes[i]) == 0);
	}
	weft_bytes_free(&got);
	free(buf);
	weft_connection_close(a);
	wt_ok(weft_process_join(p, 30));
	int code;
	wt_ok(weft_process_exitcode(p, &code));
	ck_assert_int_eq(code, 0);
	weft_process_free(p);
	mpt_no_children();
	ck_assert_int_eq(wt_open_fds(), fds0);
}

START_TEST(echo_child_fork)
{
	run_echo(WEFT_START_FORK);
}
END_TEST

START_TEST(echo_child_spawn)
{
	run_echo(WEFT_START_SPAWN);
}
END_TEST

/* A peer that dies mid-message: the reader gets EIO, not a short message. */
START_TEST(peer_dies_mid_message)
{
	int sv[2];
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	weft_connection *c;
	wt_ok(weft_connection_from_fd(&c, sv[0], true, false));
	uint64_t hdr = 100;
	ck_assert_int_eq(write(sv[1], &hdr, sizeof hdr), sizeof hdr);
	ck_assert_int_eq(write(sv[1], "abc", 3), 3);
	close(sv[1]);
	weft_bytes m = {0};
	wt_rc(weft_connection_recv_bytes(c, &m, 0, 1), WEFT_EIO);
	ck_assert_ptr_null(m.data);
	weft_connection_close(c);
}
END_TEST

START_TEST(bad_arguments)
{
	weft_connection *a, *b;
	wt_rc(weft_pipe(NULL, &b, NULL), WEFT_EINVAL);
	wt_rc(weft_pipe(&a, NULL, NULL), WEFT_EINVAL);
	wt_ok(weft_pipe(&a, &b, NULL));
	weft_bytes m = {0};
	char buf[4];
	size_t len;
	wt_rc(weft_connection_send_bytes(NULL, "x", 1, 0), WEFT_EINVAL);
	wt_rc(weft_connection_send_bytes(a, NULL, 1, 0), WEFT_EINVAL);
	wt_rc(weft_connection_send_bytes(a, "x", 1, -2), WEFT_EINVAL);
	wt_rc(weft_connection_recv_bytes(NULL, &m, 0, 0), WEFT_EINVAL);
	wt_rc(weft_connection_recv_bytes(a, NULL, 0, 0), WEFT_EINVAL);
	wt_rc(weft_connection_recv_bytes(a, &m, 0, 0.0 / 0.0), WEFT_EINVAL);
	wt_rc(weft_connection_recv_bytes_into(a, NULL, 4, &len, 0), WEFT_EINVAL);
	wt_rc(weft_connection_recv_bytes_into(a, buf, 4, NULL, 0), WEFT_EINVAL);
	wt_rc(weft_connection_poll(NULL, 0), WEFT_EINVAL);
	wt_rc(weft_connection_poll(a, -5), WEFT_EINVAL);
	wt_rc(weft_connection_fileno(NULL), WEFT_EINVAL);
	wt_rc(weft_connection_from_fd(NULL, 0, true, true), WEFT_EINVAL);
	wt_rc(weft_connection_from_fd(&a, -1, true, true), WEFT_EINVAL);
	weft_connection *c;
	wt_rc(weft_connection_from_fd(&c, weft_connection_fileno(a), false, false), WEFT_EINVAL);
	int p[2];
	ck_assert_int_eq(pipe(p), 0);
	wt_rc(weft_connection_from_fd(&c, p[0], true, false), WEFT_EBADF);
	close(p[0]);
	close(p[1]);
	weft_connection_close(NULL);
	weft_connection_close(a);
	weft_connection_close(b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("connection");
	TCase *tc = wt_tcase("connection", 60);
	tcase_add_test(tc, send_recv_roundtrip);
	tcase_add_test(tc, recv_replaces_any_weft_bytes);
	tcase_add_test(tc, too_long_keeps_message);
	tcase_add_test(tc, read_ahead_keeps_boundaries);
	tcase_add_test(tc, one_way);
	tcase_add_test(tc, echo_child_fork);
	tcase_add_test(tc, echo_child_spawn);
	tcase_add_test(tc, peer_dies_mid_message);
	tcase_add_test(tc, bad_arguments);
	suite_add_tcase(s, tc);
	return wt_run(s);
}
