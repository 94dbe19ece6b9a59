/* Python:  process = subprocess.Popen(["echo", "Hello, subprocess!"], stdout=subprocess.PIPE)
 *          output, _ = process.communicate()
 *          print(output.decode())
 *
 * communicate() reads the pipe to its end and reaps the child; the output
 * comes back as bytes (NUL-terminated, so it prints as a string). */
#include <stdio.h>
#include <weft.h>

int main(void)
{
	weft_popen *p;
	int rc = weft_popen_start(&p, (const char *[]){"echo", "Hello, subprocess!", NULL},
	                          &(weft_popen_opts){.stdout_mode = WEFT_PIPE});
	if (rc != 0) {
		fprintf(stderr, "Popen: %s: %s\n", weft_errname(rc), weft_last_failure_message());
		return 1;
	}
	weft_bytes output;
	rc = weft_popen_communicate(p, NULL, 0, WEFT_FOREVER, &output, NULL);
	if (rc == 0)
		printf("%s", (char *)output.data);
	weft_bytes_free(&output);
	weft_popen_free(p);
	return rc != 0;
}
