/* Python:  result = subprocess.run(["ls", "-l"], stdout=subprocess.PIPE)
 *          print(result.stdout.decode())
 *
 * Then what Python raises when a program is missing: FileNotFoundError,
 * here WEFT_ENOENT with a message naming the program (the child's failed
 * exec is reported as such, never as exit status 127). */
#include <stdio.h>
#include <weft.h>

int main(void)
{
	weft_completed r;
	int rc = weft_run((const char *[]){"ls", "-l", NULL},
	                  &(weft_run_opts){.popen.stdout_mode = WEFT_PIPE}, &r);
	if (rc != 0) {
		fprintf(stderr, "run: %s: %s\n", weft_errname(rc), weft_last_failure_message());
		return 1;
	}
	printf("%s", (char *)r.out.data);
	weft_completed_free(&r);

	rc = weft_run((const char *[]){"no-such-program", NULL}, NULL, &r);
	printf("running a missing program: %s (%s)\n", weft_errname(rc), weft_last_failure_message());
	return rc == WEFT_ENOENT ? 0 : 1;
}
