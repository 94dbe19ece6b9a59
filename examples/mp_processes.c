/* Five processes started and joined (multiprocessing.Process).
 *
 *   def worker(num):
 *       print(f'Worker {num} is running')
 *   for i in range(5):
 *       p = multiprocessing.Process(target=worker, args=(i,)); p.start()
 *   for p in processes: p.join()
 *
 * The argument crosses the process boundary as bytes; the target is a named
 * task so that any start method finds it. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <weft/multiprocessing.h>

static int worker(const void *in, size_t len, weft_bytes *out)
{
	int num;
	memcpy(&num, in, sizeof num);
	printf("Worker %d is running (pid %d)\n", num, (int)getpid());
	return 0;
}
WEFT_TASK(worker, worker)

int main(void)
{
	weft_process *procs[5];
	for (int i = 0; i < 5; i++) {
		int rc = weft_process_start(
		    &procs[i], &(weft_process_opts){.target = worker, .arg = &i, .arg_len = sizeof i});
		if (rc) {
			fprintf(stderr, "start: %s\n", weft_strerror(rc));
			return 1;
		}
	}
	for (int i = 0; i < 5; i++) {
		int code = -1;
		weft_process_join(procs[i], WEFT_FOREVER);
		weft_process_exitcode(procs[i], &code);
		printf("%s exited with %d\n", weft_process_name(procs[i]), code);
		weft_process_free(procs[i]);
	}
	return 0;
}
