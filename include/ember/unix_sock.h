/* Listening UNIX sockets for ember's control planes (the API socket, the
 * vsock uds_path, the comms ring's control socket), one rule for all: a
 * path that is not a socket is never touched; a socket someone still
 * serves is refused (-EADDRINUSE); a stale one (connect refused) is
 * replaced; the new socket is mode 0600 from bind on (the inode's mode is
 * set before bind, which copies it, so there is no window). */
#ifndef EMBER_UNIX_SOCK_H
#define EMBER_UNIX_SOCK_H

/* type: SOCK_STREAM or SOCK_SEQPACKET, plus SOCK_NONBLOCK if wanted
 * (SOCK_CLOEXEC is always added). Returns the listening fd or -errno:
 * -ENAMETOOLONG, -EEXIST (not a socket), -EADDRINUSE (live), or what
 * socket/bind/listen said. Logs nothing: the caller names its socket. */
int usock_listen(const char *path, int type, int backlog);

#endif
