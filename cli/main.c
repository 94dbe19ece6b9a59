/* weft - run shell jobs in parallel (see weft(1) and docs/cli.md). */
#include "opts.h"
#include "runner.h"
#include "util.h"

#include <unistd.h>

int main(int argc, char **argv)
{
	options o;
	opts_parse(&o, argc, argv);
	if (o.ncmd == 0 && o.nsrcs == 0 && isatty(0))
		die("missing command: nothing to run (see weft --help)");
	return run(&o);
}
