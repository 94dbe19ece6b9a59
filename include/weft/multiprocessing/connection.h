/* weft/multiprocessing/connection.h - pipes (multiprocessing.Pipe and
 * Connection), carrying bytes with message boundaries.
 *
 *   weft_connection *a, *b;
 *   weft_pipe(&a, &b, NULL);            // duplex; .one_way: a reads, b writes
 *   weft_connection_send_bytes(b, "hi", 2, WEFT_FOREVER);
 *   weft_bytes m = {0};
 *   weft_connection_recv_bytes(a, &m, 0, WEFT_FOREVER);
 *
 * A message sent whole arrives whole. A message longer than the receiver's
 * limit is not lost (Python's recv_bytes breaks the connection instead): the
 * call fails with WEFT_EMSGSIZE, reports the needed size, and the message
 * stays readable by a later call with a larger buffer.
 *
 * Both ends are AF_UNIX stream sockets with length-prefixed frames; they
 * stay blocking descriptors (every call polls with its timeout, honours
 * cancel scopes, retries EINTR, and never raises SIGPIPE). A send that has
 * begun is always finished, whatever its timeout: a half-sent message
 * would corrupt the stream.
 *
 * Thread-safety: as Python's, one thread (or process) at a time may send on
 * an end and one may receive from it; different ends are independent.
 * Fork: a forked child shares the ends (both may use them in turn, as in
 * Python). A spawned child gets an end through weft_process_opts.pass_fds
 * and weft_connection_from_fd. Input an end has read ahead (below,
 * weft_connection_fileno) stays with the copy that read it; the forked
 * child's copy holds it too, so let one side receive what was buffered at
 * the fork (weft_connection_poll(c, 0) says whether anything is).
 */
#ifndef WEFT_MULTIPROCESSING_CONNECTION_H
#define WEFT_MULTIPROCESSING_CONNECTION_H

#include <weft/common.h>
#include <weft/error.h>
#include <weft/task.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct weft_connection weft_connection;

/* Pipe(duplex) keyword arguments. */
typedef struct weft_pipe_opts {
	bool one_way; /* Pipe(duplex=False): *a only receives, *b only sends */
} weft_pipe_opts;

/* Makes a connected pair (Pipe()). EINVAL (a or b NULL), EMFILE, ENOMEM. */
WEFT_EXTERN int weft_pipe(weft_connection **a, weft_connection **b, const weft_pipe_opts *opts);

/* Wraps an end inherited by a spawned child (its fileno in the parent,
 * passed with pass_fds); the connection owns fd from now on. EINVAL (out
 * NULL, fd < 0, neither direction), EBADF (fd is not a socket), ENOMEM. */
WEFT_EXTERN int weft_connection_from_fd(weft_connection **out, int fd, bool readable, bool writable);

/* Sends one message (Connection.send_bytes). len may be 0. EPIPE (the peer
 * closed), EBADF (a receive-only end), ETIMEDOUT/ECANCELED (only before the
 * first byte went out), EINVAL (NULL, data NULL with len > 0, bad timeout). */
WEFT_EXTERN int weft_connection_send_bytes(weft_connection *c, const void *data, size_t len, double timeout);

/* Receives one message into out (replaced, owned by the caller)
 * (Connection.recv_bytes). maxlength 0 = no limit; a longer message gives
 * EMSGSIZE and stays readable. EEOF (the peer closed and nothing is left),
 * ETIMEDOUT, ECANCELED, EBADF (a send-only end), EINVAL, ENOMEM, EIO (the
 * stream is corrupt: the peer died mid-message). */
WEFT_EXTERN int weft_connection_recv_bytes(weft_connection *c, weft_bytes *out, size_t maxlength,
                                           double timeout);

/* Receives one message into buf[0..cap) and stores its length in *len
 * (Connection.recv_bytes_into). When it does not fit: EMSGSIZE, *len is the
 * size needed and the message stays readable. Other codes as recv_bytes. */
WEFT_EXTERN int weft_connection_recv_bytes_into(weft_connection *c, void *buf, size_t cap, size_t *len,
                                                double timeout);

/* Waits until a message (or EOF) can be read (Connection.poll): 0 when
 * ready, ETIMEDOUT (Python's False), ECANCELED, EBADF (send-only), EINVAL. */
WEFT_EXTERN int weft_connection_poll(weft_connection *c, double timeout);

/* The descriptor (Connection.fileno), for poll(2) and weft_mp_wait;
 * EINVAL (NULL). A receive reads ahead what the socket holds, so further
 * messages may wait in the connection while poll(2) shows nothing:
 * weft_connection_poll and weft_mp_wait see them; a poll(2) loop should
 * drain with weft_connection_poll(c, 0) before it sleeps. */
WEFT_EXTERN int weft_connection_fileno(const weft_connection *c);

/* Closes the end and frees c (Connection.close). NULL is ignored. */
WEFT_EXTERN void weft_connection_close(weft_connection *c);

#ifdef __cplusplus
}
#endif
#endif
