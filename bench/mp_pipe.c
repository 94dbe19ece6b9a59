/* Pipe round trips between two processes, 64-byte messages: weft's
 * Connection vs a raw socketpair ping-pong (read/write, no framing) and
 * Python's multiprocessing.Pipe (send_bytes/recv_bytes). Figures are
 * round trips per second. */
#include "bench.h"

#include <stdio.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <weft/multiprocessing.h>

enum { N = 20000, MSG = 64 };

static double weft_pipe_rt(void *arg)
{
	weft_connection *a, *b;
	if (weft_pipe(&a, &b, NULL))
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		weft_connection_close(a); /* or the parent's close is no EOF here */
		char buf[MSG];
		size_t len;
		while (weft_connection_recv_bytes_into(b, buf, sizeof buf, &len, WEFT_FOREVER) == 0)
			weft_connection_send_bytes(b, buf, len, WEFT_FOREVER);
		_exit(0);
	}
	weft_connection_close(b);
	char buf[MSG] = {0};
	size_t len;
	double t0 = bench_now();
	for (int i = 0; i < N; i++) {
		weft_connection_send_bytes(a, buf, sizeof buf, WEFT_FOREVER);
		if (weft_connection_recv_bytes_into(a, buf, sizeof buf, &len, WEFT_FOREVER))
			return -1;
	}
	double dt = bench_now() - t0;
	weft_connection_close(a);
	waitpid(pid, NULL, 0);
	return N / dt;
}

static double raw_socketpair_rt(void *arg)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return -1;
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		close(sv[0]);
		char buf[MSG];
		while (read(sv[1], buf, sizeof buf) == MSG)
			if (write(sv[1], buf, MSG) != MSG)
				break;
		_exit(0);
	}
	close(sv[1]);
	char buf[MSG] = {0};
	double t0 = bench_now();
	for (int i = 0; i < N; i++) {
		if (write(sv[0], buf, MSG) != MSG || read(sv[0], buf, MSG) != MSG)
			return -1;
	}
	double dt = bench_now() - t0;
	close(sv[0]);
	waitpid(pid, NULL, 0);
	return N / dt;
}

static double python_pipe_rt(void *arg)
{
	return bench_python(
	    "import multiprocessing as mp, time\n"
	    "def echo(c, other):\n"
	    "    other.close()\n"
	    "    try:\n"
	    "        while True: c.send_bytes(c.recv_bytes())\n"
	    "    except EOFError: pass\n"
	    "if __name__ == '__main__':\n"
	    "    mp.set_start_method('fork')\n"
	    "    a, b = mp.Pipe(); p = mp.Process(target=echo, args=(b, a)); p.start(); b.close()\n"
	    "    m = bytes(64); n = 5000; t = time.perf_counter()\n"
	    "    for _ in range(n): a.send_bytes(m); a.recv_bytes()\n"
	    "    dt = time.perf_counter() - t; a.close(); p.join(); print(n / dt)\n");
}

int main(void)
{
	bench_case cases[] = {
	    {"weft Pipe (Connection)", weft_pipe_rt, NULL},
	    {"raw socketpair ping-pong", raw_socketpair_rt, NULL},
	    {"Python multiprocessing.Pipe", python_pipe_rt, NULL},
	};
	bench_spec spec = {"Pipe round trips between two processes, 64-byte messages", "round trips/s", true,
	                   5};
	return bench_run(&spec, cases, 3);
}
