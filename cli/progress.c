/* The progress display. */
#include "progress.h"

#include "util.h"

#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define INTERVAL 0.1

void progress_init(progress *p, const options *o, int slots, int ncpu, long long total)
{
	*p = (progress){.bar = o->bar, .eta = o->eta, .total = total, .slots = slots, .ncpu = ncpu};
	p->on = (o->bar || o->eta || o->progress) && (o->force_progress || isatty(2));
	p->start = p->last = now_mono();
	if (p->on && !o->bar) {
		sbuf b = {0};
		sb_printf(
		    &b,
		    "\nComputers / CPU cores / Max jobs to run\n1:local / %d / %d\n\n"
		    "Computer:jobs running/jobs completed/%%of started jobs/Average seconds to complete\n",
		    ncpu, slots);
		(void)write_all(2, b.s, b.len);
		sb_free(&b);
	}
}

static int term_width(void)
{
	struct winsize ws;
	if (ioctl(2, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
		return ws.ws_col;
	return 80;
}

static void render(progress *p, sbuf *b)
{
	double now = now_mono(), elapsed = now - p->start;
	double avg = p->done ? p->runtime_sum / (double)p->done : 0;
	long long left = p->total >= 0 ? p->total - p->done : -1;
	double eta = p->done && left >= 0 ? elapsed * (double)left / (double)p->done : 0;
	if (p->bar) {
		double frac = p->total > 0 ? (double)p->done / (double)p->total : (p->total == 0 ? 1 : 0);
		int width = term_width() - 60;
		if (width < 10)
			width = 10;
		int fill = (int)(frac * width);
		sb_printf(b, "\r%3d%% [", (int)(frac * 100));
		for (int i = 0; i < width; i++)
			sb_addc(b, i < fill ? '#' : '.');
		if (p->total >= 0)
			sb_printf(b, "] %lld/%lld done  %.1fs elapsed", p->done, p->total, elapsed);
		else
			sb_printf(b, "] %lld done  %.1fs elapsed", p->done, elapsed);
		if (p->done && left > 0)
			sb_printf(b, "  ETA %.1fs", eta);
		sb_adds(b, "\033[K");
		return;
	}
	int pct = p->started ? 100 : 0;
	if (p->eta)
		sb_printf(b, "\rETA: %.0fs Left: %lld AVG: %.2fs  ", eta, left >= 0 ? left : 0,
		          elapsed / (p->done ? (double)p->done : 1));
	else
		sb_addc(b, '\r');
	sb_printf(b, "local:%d/%lld/%d%%/%.1fs ", p->running, p->done, pct, avg);
}

void progress_draw(progress *p, bool force)
{
	if (!p->on)
		return;
	double now = now_mono();
	if (!force && now - p->last < INTERVAL && p->drawn)
		return;
	p->last = now;
	sbuf b = {0};
	render(p, &b);
	(void)write_all(2, b.s, b.len);
	sb_free(&b);
	p->drawn = true;
}

void progress_clear(progress *p)
{
	if (!p->on || !p->drawn)
		return;
	(void)write_all(2, "\r\033[K", 4);
	p->drawn = false;
}

void progress_end(progress *p)
{
	if (!p->on)
		return;
	progress_draw(p, true);
	(void)write_all(2, "\n", 1);
	p->on = false;
}

double progress_due(const progress *p, double now)
{
	if (!p->on)
		return -1;
	double d = p->last + (p->bar ? INTERVAL : 1.0) - now;
	return d < 0 ? 0 : d;
}
