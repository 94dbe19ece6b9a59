/* 1000 jobs of `true` with 2 job slots: weft vs GNU parallel vs
 * `xargs -P2 -n1 true` (jobs per second; the inputs 1..1000 come on stdin
 * and are appended to the command, as each tool does). */
#include "cli_tool.h"

#define NJOBS 1000

static double per_second(void *arg)
{
	double t = run_tool(arg);
	return t > 0 ? NJOBS / t : -1;
}

int main(void)
{
	static char input[NJOBS * 8];
	size_t len = 0;
	for (int i = 1; i <= NJOBS; i++)
		len += (size_t)snprintf(input + len, sizeof input - len, "%d\n", i);
	const char *weft[] = {weft_binary(), "-j2", "true", NULL};
	const char *gnu[] = {"parallel", "--will-cite", "-j2", "true", NULL};
	const char *xargs[] = {"xargs", "-P2", "-n1", "true", NULL};
	tool_case tw = {.argv = weft, .input = input, .input_len = len};
	tool_case tg = {.argv = gnu, .input = input, .input_len = len};
	tool_case tx = {.argv = xargs, .input = input, .input_len = len};
	bench_case cases[3] = {{"weft -j2 true", per_second, &tw}};
	int n = 1;
	if (have_program("parallel"))
		cases[n++] = (bench_case){"GNU parallel -j2 true", per_second, &tg};
	if (have_program("xargs"))
		cases[n++] = (bench_case){"xargs -P2 -n1 true", per_second, &tx};
	bench_spec spec = {
	    .title = "1000 jobs of true, 2 slots", .unit = "jobs/s", .higher_better = true, .rounds = 7};
	int rc = bench_run(&spec, cases, n);
	print_cpu("microseconds per job", 1e6 / NJOBS, cases, n);
	return rc;
}
