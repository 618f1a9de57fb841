/* Control-socket I/O for the comms handshake (comms_ctl_io.c): one fixed
 * 128-byte message per SEQPACKET record, fds as SCM_RIGHTS. Private to
 * src/comms. */
#ifndef EMBER_COMMS_CTL_IO_H
#define EMBER_COMMS_CTL_IO_H

#include <stddef.h>

#include "ember/comms_ctl.h"

/* Most fds any message carries is 2; room for more so that extras are seen
 * (and closed) rather than silently dropped by MSG_CTRUNC. */
#define COMMS_IO_MAX_FDS 8

/* Send m with nfds fds, waiting at most COMMS_STEP_TIMEOUT_MS for room. */
int comms_io_send(int fd, const struct comms_msg *m, const int *fds, int nfds);
/* Best effort, no wait (DISCONNECT on close). */
void comms_io_send_now(int fd, const struct comms_msg *m);
/* Receive one message carrying exactly nfds fds (stored in fds[]), waiting
 * at most COMMS_STEP_TIMEOUT_MS. -ETIMEDOUT, -ECONNRESET (peer closed),
 * -ECONNREFUSED (peer sent DISCONNECT: reason in err), -EPROTO (truncated,
 * wrong size, wrong fd count); on any error every received fd is closed. */
int comms_io_recv(int fd, struct comms_msg *m, int *fds, int nfds, char *err, size_t errlen);
void comms_io_close_fds(int *fds, int n);

#endif
