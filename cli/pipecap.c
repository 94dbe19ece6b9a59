/* Zero-copy capture of a job's stdout: job pipe -> holding pipe -> stdout. */
#include "pipecap.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define HOLD_SIZE (1 << 20)

int capture_file(const char *tmpdir)
{
	int fd;
	if (tmpdir)
		fd = open(tmpdir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	else
		fd = memfd_create("weft-output", MFD_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int pipecap_open(pipecap *pc, int *child_fd)
{
	*pc = (pipecap){.rd = -1, .hold_r = -1, .hold_w = -1, .spill = -1};
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fcntl(p[0], F_SETFL, O_NONBLOCK);
	/* A roomy job pipe: the job rarely waits for the loop to move data,
	 * and each move carries more of it (fewer wakeups on both sides). */
	(void)fcntl(p[1], F_SETPIPE_SZ, HOLD_SIZE);
	pc->rd = p[0];
	*child_fd = p[1];
	return 0;
}

static bool open_hold(pipecap *pc)
{
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return false;
	/* Best effort: over the user's pipe budget it stays small, and the
	 * output spills sooner. */
	(void)fcntl(p[1], F_SETPIPE_SZ, HOLD_SIZE);
	pc->hold_r = p[0], pc->hold_w = p[1];
	return true;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* The holding pipe is full: move its content into a capture file, which
 * takes everything from now on. */
static bool spill(pipecap *pc, const char *tmpdir)
{
	int fd = capture_file(tmpdir);
	if (fd < 0)
		return false;
	while (pc->hold_r >= 0) {
		ssize_t r = splice(pc->hold_r, NULL, fd, NULL, HOLD_SIZE, SPLICE_F_NONBLOCK);
		if (r > 0 || (r < 0 && errno == EINTR))
			continue;
		if (r < 0 && errno != EAGAIN) { /* cannot happen for pipe -> memfd */
			close(fd);
			return false;
		}
		break; /* EAGAIN: the holding pipe is empty */
	}
	close_fd(&pc->hold_r);
	close_fd(&pc->hold_w);
	pc->spill = fd;
	return true;
}

/* Moves ready data, at most `budget` splices. 1: more may be ready,
 * 0: the job pipe is empty for now, -1: it is closed. */
static int move(pipecap *pc, const char *tmpdir, int budget)
{
	while (pc->rd >= 0 && budget-- > 0) {
		if (pc->spill < 0 && pc->hold_w < 0 && !open_hold(pc) && !spill(pc, tmpdir))
			break;
		int to = pc->spill >= 0 ? pc->spill : pc->hold_w;
		ssize_t r = splice(pc->rd, NULL, to, NULL, HOLD_SIZE, SPLICE_F_NONBLOCK);
		if (r > 0) {
			pc->bytes += r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EAGAIN) {
			int avail = 0;
			if (pc->spill < 0 && ioctl(pc->rd, FIONREAD, &avail) == 0 && avail > 0) {
				/* Data waits but the holding pipe is full. */
				if (spill(pc, tmpdir))
					continue;
			} else {
				return 0;
			}
		}
		/* EOF, or a failure we cannot get around: stop reading. */
		break;
	}
	if (pc->rd >= 0 && budget >= 0)
		close_fd(&pc->rd);
	return pc->rd >= 0 ? 1 : -1;
}

bool pipecap_pump(pipecap *pc, const char *tmpdir)
{
	move(pc, tmpdir, 64);
	return pc->rd >= 0;
}

void pipecap_finish(pipecap *pc, const char *tmpdir)
{
	while (move(pc, tmpdir, 64) > 0)
		;
	close_fd(&pc->rd);
	close_fd(&pc->hold_w); /* the holding pipe now reads to EOF */
}

int pipecap_emit(pipecap *pc, int fd)
{
	if (pc->hold_r < 0)
		return 0;
	for (;;) {
		ssize_t r = splice(pc->hold_r, NULL, fd, NULL, HOLD_SIZE, 0);
		if (r > 0 || (r < 0 && errno == EINTR))
			continue;
		if (r == 0)
			return 0;
		if (errno == EAGAIN) {
			int rc = wait_writable(fd);
			if (rc)
				return rc;
			continue;
		}
		if (errno == EPIPE)
			return -EPIPE;
		break; /* fd does not take splice (O_APPEND file, ...): copy */
	}
	char buf[65536];
	ssize_t r;
	while ((r = read(pc->hold_r, buf, sizeof buf)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		int rc = write_all(fd, buf, (size_t)r);
		if (rc)
			return rc;
	}
	return 0;
}

void pipecap_close(pipecap *pc)
{
	close_fd(&pc->rd);
	close_fd(&pc->hold_r);
	close_fd(&pc->hold_w);
	close_fd(&pc->spill);
}
