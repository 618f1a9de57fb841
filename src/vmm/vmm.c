/* The VMM thread: event loop, stop requests and signals. */
#include "ember/vmm.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "ember/i8042.h"
#include "ember/log.h"
#include "ember/metrics.h"
#include "ember/rpc.h"
#include "ember/serial.h"
#include "ember/vcpu.h"

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

static void on_rpc(struct evloop_handler *h, uint32_t events)
{
	struct vmm *v = h->ctx;
	struct rpc_request *req;

	while ((req = rpc_next(v->rpc))) {
		vmm_dispatch(v, req);
		rpc_complete(v->rpc, req);
	}
}

int vmm_attach_rpc(struct vmm *v, struct rpc_channel *ch)
{
	v->rpc = ch;
	v->rpc_h = (struct evloop_handler){ .fd = ch->kick_fd, .fn = on_rpc, .ctx = v };
	return evloop_add(&v->loop, &v->rpc_h, EPOLLIN);
}

/* Pause is synchronous: when this returns no vCPU is inside KVM_RUN. */
int vmm_pause(struct vmm *v)
{
	for (unsigned i = 0; i < v->vm.nr_vcpus; i++)
		vcpu_pause(v->vm.vcpus[i]);
	v->paused = true;
	return 0;
}

int vmm_resume(struct vmm *v)
{
	for (unsigned i = 0; i < v->vm.nr_vcpus; i++)
		vcpu_resume(v->vm.vcpus[i]);
	v->paused = false;
	return 0;
}

/* Totals of the counters other threads own, for each metrics flush. */
static void collect(struct metrics *m, void *ctx)
{
	struct vmm *v = ctx;
	struct serial_stats ss;
	struct vcpu_stats vs;

	for (unsigned i = 0; i < v->vm.nr_vcpus; i++) {
		vcpu_get_stats(v->vm.vcpus[i], &vs);
		m->vcpu.exit_io_in += vs.exit_io_in;
		m->vcpu.exit_io_out += vs.exit_io_out;
		m->vcpu.exit_mmio_read += vs.exit_mmio_read;
		m->vcpu.exit_mmio_write += vs.exit_mmio_write;
		m->vcpu.failures += vs.failures;
	}
	if (v->serial) {
		serial_get_stats(v->serial, &ss);
		m->uart.write_count = ss.tx_bytes;
		m->uart.read_count = ss.rx_bytes;
		m->uart.missed_write_count = ss.dropped_bytes;
	}
	if (v->kbd)
		m->i8042.reset_count = i8042_reset_count(v->kbd);
	vmm_devices_metrics(v, m);
}

static void on_metrics_timer(struct evloop_handler *h, uint32_t events)
{
	uint64_t n;

	if (read(h->fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("read metrics timerfd: %s", strerror(errno));
	if (metrics_configured())
		metrics_flush();
}

static int add_metrics_timer(struct vmm *v)
{
	struct itimerspec its = { .it_interval.tv_sec = METRICS_FLUSH_PERIOD_S,
				  .it_value.tv_sec = METRICS_FLUSH_PERIOD_S };
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd < 0 || timerfd_settime(fd, 0, &its, NULL) < 0) {
		int e = errno;
		log_err("metrics timerfd: %s", strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	v->metrics_h = (struct evloop_handler){ .fd = fd, .fn = on_metrics_timer, .ctx = v };
	metrics_set_source(collect, v);
	metrics_set_extra(vmm_devices_metrics_groups, v);
	return evloop_add(&v->loop, &v->metrics_h, EPOLLIN);
}

int vmm_init(struct vmm *v, bool boot_timer)
{
	int rc;

	memset(v, 0, sizeof(*v));
	v->vm.kvm_fd = v->vm.vm_fd = v->vm.exit_fd = -1;
	atomic_init(&v->vm.exit_code, VM_NO_EXIT);
	v->sig_h.fd = -1;
	v->metrics_h.fd = -1;
	v->serial_fd = -1;
	snprintf(v->id, sizeof(v->id), "anonymous-instance");
	v->boot_timer_on = boot_timer;
	v->exit_h = (struct evloop_handler){ .fd = -1, .fn = on_exit_request, .ctx = v };
	rc = evloop_init(&v->loop);
	if (rc)
		return rc;
	rc = add_signalfd(v);
	if (!rc)
		rc = add_metrics_timer(v);
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
	if (metrics_configured())
		metrics_flush(); /* the last counters, as the process ends */
	metrics_set_source(NULL, NULL);
	metrics_set_extra(NULL, NULL);
	vmm_teardown_vm(v);
	cpu_config_free(&v->cpu_cfg);
	console_close(v);
	if (v->metrics_h.fd >= 0)
		close(v->metrics_h.fd);
	if (v->sig_h.fd >= 0)
		close(v->sig_h.fd);
	evloop_destroy(&v->loop);
}
