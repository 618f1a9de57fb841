/* The VMM thread: event loop, stop requests and signals. */
#include "ember/vmm.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "ember/log.h"

void vmm_block_signals(void)
{
	sigset_t set;

	/* SIGTERM/SIGINT arrive through a signalfd on the VMM thread; every
	 * thread created later inherits this mask. SIGPIPE is never useful:
	 * a closed console or socket shows up as EPIPE instead. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGRTMIN + 1); /* the vCPU kick: only vCPU threads take it */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void on_exit_request(struct evloop_handler *h, uint32_t events)
{
	struct vmm *v = h->ctx;
	uint64_t n;

	if (read(h->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("read exit eventfd: %s", strerror(errno));
	evloop_stop(&v->loop);
}

static void on_signal(struct evloop_handler *h, uint32_t events)
{
	struct vmm *v = h->ctx;
	struct signalfd_siginfo si;

	if (read(h->fd, &si, sizeof(si)) != (ssize_t)sizeof(si))
		return;
	log_info("received signal %u (%s): stopping", si.ssi_signo, strsignal((int)si.ssi_signo));
	/* A signal-initiated stop is a clean, requested shutdown. */
	vm_request_exit(&v->vm, 0);
	evloop_stop(&v->loop);
}

static int add_signalfd(struct vmm *v)
{
	sigset_t set;
	int fd, rc;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		log_err("signalfd: %s", strerror(-rc));
		return rc;
	}
	v->sig_h = (struct evloop_handler){ .fd = fd, .fn = on_signal, .ctx = v };
	return evloop_add(&v->loop, &v->sig_h, EPOLLIN);
}

int vmm_init(struct vmm *v, bool boot_timer)
{
	int rc;

	memset(v, 0, sizeof(*v));
	v->vm.kvm_fd = v->vm.vm_fd = v->vm.exit_fd = -1;
	atomic_init(&v->vm.exit_code, VM_NO_EXIT);
	v->sig_h.fd = -1;
	v->boot_timer_on = boot_timer;
	v->exit_h = (struct evloop_handler){ .fd = -1, .fn = on_exit_request, .ctx = v };
	rc = evloop_init(&v->loop);
	if (rc)
		return rc;
	rc = add_signalfd(v);
	if (!rc)
		rc = console_open(v);
	return rc;
}

int vmm_run(struct vmm *v)
{
	int rc = evloop_run(&v->loop);
	int code;

	if (rc)
		vm_request_exit(&v->vm, 1);
	code = atomic_load(&v->vm.exit_code);
	return code == VM_NO_EXIT ? 0 : code;
}

void vmm_destroy(struct vmm *v)
{
	vmm_teardown_vm(v);
	console_close(v);
	if (v->sig_h.fd >= 0)
		close(v->sig_h.fd);
	evloop_destroy(&v->loop);
}
