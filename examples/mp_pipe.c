/* A Pipe between two processes (multiprocessing.Pipe).
 *
 *   def f(conn):
 *       conn.send(b'hello from the child'); print(conn.recv()); conn.close()
 *   parent, child = Pipe()
 *   p = Process(target=f, args=(child,)); p.start()
 *   print(parent.recv()); parent.send(b'thanks'); p.join()
 *
 * The forked child inherits both ends; each side closes the end it does not
 * use, so that a peer's close reads as end of file. */
#include <stdio.h>
#include <string.h>
#include <weft/multiprocessing.h>

static weft_connection *parent_end, *child_end;

static int f(const void *in, size_t len, weft_bytes *out)
{
	weft_connection_close(parent_end);
	const char msg[] = "hello from the child";
	weft_connection_send_bytes(child_end, msg, sizeof msg - 1, WEFT_FOREVER);
	weft_bytes reply = {0};
	if (weft_connection_recv_bytes(child_end, &reply, 0, WEFT_FOREVER) == 0)
		printf("child got: %.*s\n", (int)reply.len, (const char *)reply.data);
	weft_bytes_free(&reply);
	weft_connection_close(child_end);
	return 0;
}

int main(void)
{
	if (weft_pipe(&parent_end, &child_end, NULL))
		return 1;
	weft_process *p;
	if (weft_process_start(&p, &(weft_process_opts){.target = f}))
		return 1;
	weft_connection_close(child_end);

	weft_bytes m = {0};
	int rc = weft_connection_recv_bytes(parent_end, &m, 0, 10.0);
	if (rc) {
		fprintf(stderr, "recv: %s\n", weft_strerror(rc));
		return 1;
	}
	printf("parent got: %.*s\n", (int)m.len, (const char *)m.data);
	weft_bytes_free(&m);
	weft_connection_send_bytes(parent_end, "thanks", 6, WEFT_FOREVER);
	/* after the child closes its end, the next receive reports EOF */
	rc = weft_connection_recv_bytes(parent_end, &m, 0, 10.0);
	printf("then: %s\n", weft_errname(rc));
	weft_connection_close(parent_end);
	weft_process_join(p, WEFT_FOREVER);
	weft_process_free(p);
	return 0;
}
