/* Python:  subprocess.run("echo Hello, subprocess!", shell=True)
 *
 * With shell, argv[0] is a command line for /bin/sh -c. The child inherits
 * our stdout, so its greeting appears directly. */
#include <stdio.h>
#include <weft.h>

int main(void)
{
	weft_completed r;
	int rc = weft_run((const char *[]){"echo Hello, subprocess!", NULL},
	                  &(weft_run_opts){.popen.shell = true}, &r);
	if (rc != 0) {
		fprintf(stderr, "run: %s: %s\n", weft_errname(rc), weft_last_failure_message());
		return 1;
	}
	printf("the shell exited with %d\n", r.returncode);
	weft_completed_free(&r);
	return 0;
}
