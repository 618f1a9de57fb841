/* The serial console's host side: output to stdout without ever blocking a
 * vCPU, input from stdin when it is a TTY or a FIFO. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <termios.h>
#include <unistd.h>

#include "ember/log.h"
#include "ember/serial.h"
#include "ember/vmm.h"

#define RETRY_NS 10000000L /* 10 ms: how soon to retry input the FIFO refused */

/* A private open file description on stdout, so O_NONBLOCK does not leak
 * into the shell that shares fd 1. Falls back to fd 1 itself (blocking). */
static int open_output(void)
{
	int fd = open("/proc/self/fd/1", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);

	if (fd >= 0)
		return fd;
	fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	return fd >= 0 ? fd : STDOUT_FILENO;
}

static bool stdin_usable(void)
{
	struct stat st;

	if (isatty(STDIN_FILENO))
		return true;
	return fstat(STDIN_FILENO, &st) == 0 && S_ISFIFO(st.st_mode);
}

static void arm_retry(struct vmm_console *c, bool on)
{
	struct itimerspec its = { .it_value.tv_nsec = on ? RETRY_NS : 0 };

	if (timerfd_settime(c->retry_h.fd, 0, &its, NULL) < 0)
		log_warn("timerfd_settime: %s", strerror(errno));
}

/* Hand pending bytes to the UART; while it has no room, stop reading stdin
 * and poll again shortly rather than spinning on a readable fd. */
static void flush_pending(struct vmm *v)
{
	struct vmm_console *c = &v->con;

	if (v->serial && c->pending_off < c->pending_len)
		c->pending_off += serial_input(v->serial, c->pending + c->pending_off,
					       c->pending_len - c->pending_off);
	if (c->pending_off < c->pending_len) {
		evloop_mod(&v->loop, &c->in_h, 0);
		arm_retry(c, true);
		return;
	}
	c->pending_off = c->pending_len = 0;
	evloop_mod(&v->loop, &c->in_h, EPOLLIN);
}

static void on_stdin(struct evloop_handler *h, uint32_t events)
{
	struct vmm *v = h->ctx;
	struct vmm_console *c = &v->con;
	ssize_t n = read(h->fd, c->pending, sizeof(c->pending));

	if (n > 0) {
		c->pending_len = (size_t)n;
		c->pending_off = 0;
		flush_pending(v);
		return;
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* EOF or error: the writer is gone; stop watching stdin. */
	evloop_del(&v->loop, h);
	close(h->fd);
	h->fd = -1;
}

static void on_retry(struct evloop_handler *h, uint32_t events)
{
	struct vmm *v = h->ctx;
	uint64_t n;

	if (read(h->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("read timerfd: %s", strerror(errno));
	if (v->con.in_h.fd >= 0)
		flush_pending(v);
}

static void set_raw(struct vmm_console *c)
{
	struct termios t;

	if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &c->saved) < 0)
		return;
	t = c->saved;
	cfmakeraw(&t);
	t.c_lflag |= ISIG; /* keep Ctrl-C: SIGINT stops the VM cleanly */
	t.c_oflag |= OPOST | ONLCR;
	if (tcsetattr(STDIN_FILENO, TCSANOW, &t) == 0)
		c->tty_raw = true;
}

int console_open(struct vmm *v)
{
	struct vmm_console *c = &v->con;
	int rc;

	c->out_fd = open_output();
	c->in_h = (struct evloop_handler){ .fd = -1, .fn = on_stdin, .ctx = v };
	c->retry_h = (struct evloop_handler){ .fd = -1, .fn = on_retry, .ctx = v };
	if (!stdin_usable())
		return 0;
	c->retry_h.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (c->retry_h.fd < 0) {
		rc = -errno;
		log_err("timerfd_create: %s", strerror(-rc));
		return rc;
	}
	rc = evloop_add(&v->loop, &c->retry_h, EPOLLIN);
	if (rc)
		return rc;
	/* Like stdout: a private non-blocking description, not fd 0's flags. */
	c->in_h.fd = open("/proc/self/fd/0", O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (c->in_h.fd < 0) {
		log_warn("cannot reopen stdin (%s): serial input disabled", strerror(errno));
		return 0;
	}
	rc = evloop_add(&v->loop, &c->in_h, EPOLLIN);
	if (rc)
		return rc;
	set_raw(c);
	return 0;
}

void console_close(struct vmm *v)
{
	struct vmm_console *c = &v->con;

	if (c->tty_raw)
		tcsetattr(STDIN_FILENO, TCSANOW, &c->saved);
	c->tty_raw = false;
	if (c->in_h.fd >= 0)
		close(c->in_h.fd);
	c->in_h.fd = -1;
	if (c->retry_h.fd >= 0)
		close(c->retry_h.fd);
	c->retry_h.fd = -1;
	if (c->out_fd > STDERR_FILENO)
		close(c->out_fd);
	c->out_fd = STDOUT_FILENO;
}
