/* cli/progress.h - --progress, --eta and --bar on stderr.
 *
 * One status line redrawn in place (carriage return), at most ten times a
 * second and once more at the end. Shown only when stderr is a terminal,
 * unless --force-progress. --bar:
 *   42% [##########..............] 84/200 done  1.2s elapsed  ETA 1.7s
 * --eta and --progress print GNU parallel's lines:
 *   ETA: 2s Left: 116 AVG: 0.01s  local:2/84/100%/0.0s
 * The ETA is the elapsed time scaled by the fraction of jobs left. */
#ifndef WEFT_CLI_PROGRESS_H
#define WEFT_CLI_PROGRESS_H

#include "opts.h"

#include <stdbool.h>

typedef struct progress {
	bool on, bar, eta;
	double start, last;
	long long total; /* -1: unknown */
	int slots, ncpu;
	bool drawn; /* the status line is on screen */
	long long started, done;
	int running;
	double runtime_sum; /* of finished jobs */
} progress;

void progress_init(progress *p, const options *o, int slots, int ncpu, long long total);

/* Redraws if due (or when force). */
void progress_draw(progress *p, bool force);

/* Erases the status line before other output goes to the terminal. */
void progress_clear(progress *p);

/* Final redraw and newline. */
void progress_end(progress *p);

/* Seconds until the next redraw is due (for the loop's poll timeout);
 * a negative value when there is nothing to redraw. */
double progress_due(const progress *p, double now);

#endif
