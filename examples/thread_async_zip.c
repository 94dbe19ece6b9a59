/* "Subclass Thread and override run()": the AsyncZip example of Python's
 * tutorial, compressing a file in the background while main goes on.
 *
 *   class AsyncZip(threading.Thread):
 *       def __init__(self, infile, outfile):
 *           threading.Thread.__init__(self)
 *           self.infile = infile
 *           self.outfile = outfile
 *       def run(self):
 *           f = zipfile.ZipFile(self.outfile, 'w', zipfile.ZIP_DEFLATED)
 *           f.write(self.infile)
 *           f.close()
 *           print('Finished background zip of:', self.infile)
 *
 *   background = AsyncZip('mydata.txt', 'myarchive.zip')
 *   background.start()
 *   print('The main program continues to run in foreground.')
 *   background.join()
 *   print('Main program waited until background was done.')
 *
 * In C the "subclass" is a struct that embeds a weft_thread; run gets that
 * member back and finds its struct with weft_container_of. zlib writes a
 * gzip file (DEFLATE, as ZIP_DEFLATED); without zlib the file is copied.
 * Both files are temporary and removed at the end. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <weft/threading.h>
#if __has_include(<zlib.h>)
#include <zlib.h>
#define HAVE_ZLIB 1
#endif

struct async_zip {
	weft_thread thread; /* the base "class" */
	const char *infile, *outfile;
};

static int async_zip_run(weft_thread *self)
{
	struct async_zip *z = weft_container_of(self, struct async_zip, thread);
	FILE *in = fopen(z->infile, "rb");
	if (!in)
		return weft_fail(WEFT_ENOENT, "cannot open %s", z->infile);
#ifdef HAVE_ZLIB
	gzFile out = gzopen(z->outfile, "wb9");
#else
	FILE *out = fopen(z->outfile, "wb");
#endif
	if (!out) {
		fclose(in);
		return weft_fail(WEFT_EIO, "cannot create %s", z->outfile);
	}
	char buf[8192];
	for (size_t n; (n = fread(buf, 1, sizeof buf, in)) > 0;)
#ifdef HAVE_ZLIB
		gzwrite(out, buf, (unsigned)n);
	gzclose(out);
#else
		fwrite(buf, 1, n, out);
	fclose(out);
#endif
	fclose(in);
	printf("Finished background zip of: %s\n", z->infile);
	return 0;
}

int main(void)
{
	/* mydata.txt: a temporary file with some text */
	char infile[] = "/tmp/weft-mydata-XXXXXX";
	int fd = mkstemp(infile);
	if (fd < 0)
		return 1;
	FILE *f = fdopen(fd, "w");
	for (int i = 0; i < 20000; i++)
		fprintf(f, "line %d: the quick brown fox jumps over the lazy dog\n", i);
	fclose(f);
	char outfile[sizeof infile + 3];
	snprintf(outfile, sizeof outfile, "%s.gz", infile);

	struct async_zip background = {.infile = infile, .outfile = outfile};
	int rc = weft_thread_start(&background.thread, &(weft_thread_opts){.run = async_zip_run});
	if (rc == 0) {
		puts("The main program continues to run in foreground.");
		rc = weft_thread_join(&background.thread,
		                      WEFT_FOREVER); /* the thread's own code, if it failed */
		weft_thread_free(&background.thread);
		puts("Main program waited until background was done.");
	}
	unlink(outfile);
	unlink(infile);
	return rc ? 1 : 0;
}
