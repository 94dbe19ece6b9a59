/* A process with an argument, started by re-executing the program (the
 * 'spawn' start method): the child runs my_function before main, so main's
 * code below runs in the parent only.
 *
 *   def my_function(arg):
 *       print(f"Argument passed to process: {arg}")
 *   p = multiprocessing.Process(target=my_function, args=("example",))
 *   p.start(); p.join()
 */
#include <stdio.h>
#include <weft/multiprocessing.h>

static int my_function(const void *in, size_t len, weft_bytes *out)
{
	printf("Argument passed to process: %.*s (in %s, child of %d)\n", (int)len, (const char *)in,
	       weft_process_name(weft_process_current()), (int)weft_process_pid(weft_process_parent()));
	return 0;
}
WEFT_TASK(my_function, my_function)

int main(void)
{
	weft_process *p;
	int rc = weft_process_start(
	    &p, &(weft_process_opts){
	            .target = my_function, .arg = "example", .arg_len = 7, .start = WEFT_START_SPAWN});
	if (rc) {
		fprintf(stderr, "start: %s\n", weft_strerror(rc));
		return 1;
	}
	weft_process_join(p, WEFT_FOREVER);
	int code = -1;
	weft_process_exitcode(p, &code);
	printf("%s (pid %d) exited with %d\n", weft_process_name(p), (int)weft_process_pid(p), code);
	weft_process_free(p);
	return code;
}
