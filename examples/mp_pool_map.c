/* A Pool map: square numbers in worker processes.
 *
 *   def square(x):
 *       return x * x
 *   with multiprocessing.Pool(4) as pool:
 *       print(pool.map(square, range(10)))
 *
 * The task is named with WEFT_TASK and takes and returns bytes (here one
 * long); the workers are forked when the pool is made. weft_pool_map_fixed
 * is the same map over a plain C array.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <weft/multiprocessing.h>

static int square(const void *in, size_t len, weft_bytes *out)
{
	long x;
	if (len != sizeof x)
		return weft_fail(WEFT_EINVAL, "want a long");
	memcpy(&x, in, sizeof x);
	x *= x;
	return weft_bytes_set(out, &x, sizeof x);
}
WEFT_TASK(square, square)

/* Which worker ran it: its pid. */
static int whoami(const void *in, size_t len, weft_bytes *out)
{
	pid_t pid = getpid();
	return weft_bytes_set(out, &pid, sizeof pid);
}
WEFT_TASK(whoami, whoami)

int main(void)
{
	enum { N = 10 };
	long xs[N];
	weft_bytes in[N], out[N];
	for (int i = 0; i < N; i++) {
		xs[i] = i;
		in[i] = (weft_bytes){&xs[i], sizeof xs[i]};
	}
	weft_pool *pool;
	int rc = weft_pool_new(&pool, &(weft_pool_opts){.processes = 4});
	if (rc) {
		fprintf(stderr, "pool: %s\n", weft_strerror(rc));
		return 1;
	}
	rc = weft_pool_map(pool, square, in, N, out, NULL, WEFT_FOREVER);
	if (rc) {
		fprintf(stderr, "map: %s: %s\n", weft_errname(rc), weft_last_failure_message());
		weft_pool_free(pool);
		return 1;
	}
	printf("[");
	for (int i = 0; i < N; i++) {
		long y;
		memcpy(&y, out[i].data, sizeof y);
		printf("%s%ld", i ? ", " : "", y);
		weft_bytes_free(&out[i]);
	}
	printf("]\n");

	/* The same map in C form: an array of longs in, one out. The records
	 * go through memory the workers share with the pool; nothing is
	 * allocated per result. */
	long ys[N];
	rc = weft_pool_map_fixed(pool, square, xs, sizeof *xs, N, ys, sizeof *ys, NULL, WEFT_FOREVER);
	if (rc == 0) {
		printf("fixed records: [");
		for (int i = 0; i < N; i++)
			printf("%s%ld", i ? ", " : "", ys[i]);
		printf("]\n");
	}

	/* apply: one call, in whichever worker is free */
	weft_bytes pid = {0};
	if (weft_pool_apply(pool, whoami, NULL, 0, &pid, WEFT_FOREVER) == 0) {
		pid_t p;
		memcpy(&p, pid.data, sizeof p);
		printf("apply ran in worker %d (the parent is %d)\n", (int)p, (int)getpid());
		weft_bytes_free(&pid);
	}
	weft_pool_close(pool);
	weft_pool_join(pool, WEFT_FOREVER);
	weft_pool_free(pool);
	return 0;
}
