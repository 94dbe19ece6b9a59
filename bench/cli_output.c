/* 100 jobs that each print 1 MB, 2 at a time, into one pipe: weft's grouped
 * output vs `xargs -P2` (whose jobs write to the pipe directly, mixed).
 * Throughput in MB/s as the reader of the pipe sees it. Each job is `cat`
 * of a 1 MB file holding one distinct byte value (files in a temporary
 * directory, in the page cache after the first round), so the jobs cost
 * little and the tools' handling of output is what is measured. For weft
 * the benchmark checks that the stream is exactly 100 unbroken runs of 1 MB
 * (no interleaving), and reports how many pieces xargs' output came in. */
#include "cli_tool.h"

#define NJOBS 100
#define BYTES 1000000

typedef struct runs {
	int cur;
	long long len, total;
	long nruns;
	bool whole; /* every finished run was exactly BYTES long */
} runs;

static void reset(void *arg)
{
	*(runs *)arg = (runs){.cur = -1, .whole = true};
}

static void sink(void *arg, const char *p, size_t n)
{
	static char same[1 << 16];
	static int same_byte = -1;
	runs *r = arg;
	r->total += (long long)n;
	for (size_t i = 0; i < n;) {
		int b = (unsigned char)p[i];
		if (b != r->cur) {
			if (r->cur >= 0 && r->len != BYTES)
				r->whole = false;
			r->cur = b, r->len = 0, r->nruns++;
		}
		if (same_byte != b) {
			memset(same, b, sizeof same);
			same_byte = b;
		}
		size_t m = n - i < sizeof same ? n - i : sizeof same;
		if (memcmp(p + i, same, m) == 0) { /* the common case: a long run */
			r->len += (long long)m;
			i += m;
			continue;
		}
		while (i < n && (unsigned char)p[i] == b)
			r->len++, i++;
	}
}

static bool grouped(void *arg)
{
	runs *r = arg;
	return r->total == (long long)NJOBS * BYTES && r->nruns == NJOBS && r->whole && r->len == BYTES;
}

static bool complete(void *arg)
{
	return ((runs *)arg)->total == (long long)NJOBS * BYTES;
}

static double mb_per_second(void *arg)
{
	double t = run_tool(arg);
	return t > 0 ? (double)NJOBS * BYTES / 1e6 / t : -1;
}

int main(void)
{
	char dir[] = "/tmp/weft-bench-XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	static char input[NJOBS * 64], block[BYTES];
	size_t len = 0;
	for (int i = 0; i < NJOBS; i++) {
		char path[64];
		snprintf(path, sizeof path, "%s/%03d", dir, i);
		memset(block, 0x80 + i, sizeof block);
		FILE *f = fopen(path, "w");
		if (!f || fwrite(block, 1, sizeof block, f) != sizeof block || fclose(f))
			return 1;
		len += (size_t)snprintf(input + len, sizeof input - len, "%s\n", path);
	}
	const char *weft[] = {weft_binary(), "-j2", "cat", NULL};
	const char *xargs[] = {"xargs", "-P2", "-n1", "cat", NULL};
	runs rw, rx;
	tool_case tw = {.argv = weft, .input = input, .input_len = len, sink, &rw, reset, grouped};
	tool_case tx = {.argv = xargs, .input = input, .input_len = len, sink, &rx, reset, complete};
	bench_case cases[2] = {{"weft -j2 (grouped)", mb_per_second, &tw}};
	int n = 1;
	if (have_program("xargs"))
		cases[n++] = (bench_case){"xargs -P2 (interleaved)", mb_per_second, &tx};
	bench_spec spec = {.title = "100 jobs x 1 MB of output into one pipe, 2 slots",
	                   .unit = "MB/s",
	                   .higher_better = true,
	                   .rounds = 7};
	int rc = bench_run(&spec, cases, n);
	print_cpu("milliseconds per 100 MB", 1e3, cases, n);
	if (n > 1)
		printf("  (last round: weft's output came in %ld runs, xargs' in %ld)\n", rw.nruns, rx.nruns);
	for (int i = 0; i < NJOBS; i++) {
		char path[64];
		snprintf(path, sizeof path, "%s/%03d", dir, i);
		unlink(path);
	}
	rmdir(dir);
	return rc;
}
