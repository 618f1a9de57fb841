/* vCPU threads: KVM_RUN, exit dispatch to the buses, pause/resume/stop. */
#include <errno.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ember/log.h"
#include "ember/vm.h"
#include "vcpu_internal.h"

/* Counters are bumped here and read by the VMM thread for metrics. */
#define STAT_INC(field) __atomic_fetch_add(&(field), 1, __ATOMIC_RELAXED)
#define STAT_GET(field) __atomic_load_n(&(field), __ATOMIC_RELAXED)

/* Exit codes for a VM the guest broke (Firecracker's generic error). */
#define VCPU_EXIT_FAILURE 1

static int kick_signal(void)
{
	return SIGRTMIN + 1;
}

static void kick_handler(int sig)
{
	(void)sig; /* Only here to make KVM_RUN return EINTR. */
}

int vcpu_global_init(void)
{
	struct sigaction sa = { .sa_handler = kick_handler };

	sigemptyset(&sa.sa_mask);
	if (sigaction(kick_signal(), &sa, NULL) < 0) {
		int e = errno;
		log_err("sigaction: %s", strerror(e));
		return -e;
	}
	return 0;
}

int vcpu_create(struct vm *vm, unsigned id, struct vcpu **out)
{
	struct vcpu *v = calloc(1, sizeof(*v));
	int rc;

	if (!v)
		return -ENOMEM;
	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0) {
		rc = -errno;
		log_err("vcpu %u: ioctl KVM_CREATE_VCPU: %s", id, strerror(-rc));
		goto err_free;
	}
	v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		rc = -errno;
		log_err("vcpu %u: mmap kvm_run: %s", id, strerror(-rc));
		goto err_close;
	}
	rc = -pthread_mutex_init(&v->lock, NULL);
	if (rc)
		goto err_unmap;
	rc = -pthread_cond_init(&v->cond, NULL);
	if (rc)
		goto err_mutex;
	*out = v;
	return 0;
err_mutex:
	pthread_mutex_destroy(&v->lock);
err_unmap:
	log_err("vcpu %u: pthread init: %s", id, strerror(-rc));
	munmap(v->run, vm->run_size);
err_close:
	close(v->fd);
err_free:
	free(v);
	return rc;
}

int vcpu_configure(struct vcpu *v, const struct boot_image *img, bool smt)
{
	int rc = vcpu_setup_cpu(v, smt);

	return rc ? rc : vcpu_setup_regs(v, img);
}

static void fill_ones(uint8_t *data, uint32_t len)
{
	memset(data, 0xff, len);
}

static void handle_io(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	bool out = run->io.direction == KVM_EXIT_IO_OUT;

	if (out)
		STAT_INC(v->stats.exit_io_out);
	else
		STAT_INC(v->stats.exit_io_in);
	/* KVM hands us count * size bytes at data_offset inside the run page. */
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		if (bus_access(&v->vm->pio, run->io.port, data, run->io.size, out) == 0)
			continue;
		if (!out)
			fill_ones(data, run->io.size);
		log_ratelimited(LOG_DEBUG, "vcpu %u: unhandled %s port %#x size %u", v->id,
				out ? "out" : "in", run->io.port, run->io.size);
	}
}

static void handle_mmio(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t len = run->mmio.len > 8 ? 8 : run->mmio.len;

	if (run->mmio.is_write)
		STAT_INC(v->stats.exit_mmio_write);
	else
		STAT_INC(v->stats.exit_mmio_read);
	if (bus_access(&v->vm->mmio, run->mmio.phys_addr, run->mmio.data, len,
		       run->mmio.is_write) == 0)
		return;
	if (!run->mmio.is_write)
		fill_ones(run->mmio.data, len);
	log_ratelimited(LOG_DEBUG, "vcpu %u: unhandled mmio %s %#llx len %u", v->id,
			run->mmio.is_write ? "write" : "read", run->mmio.phys_addr, len);
}

static int fatal_exit(struct vcpu *v, const char *what)
{
	log_err("vcpu %u: %s: stopping the VM", v->id, what);
	vcpu_dump(v, LOG_ERROR);
	STAT_INC(v->stats.failures);
	vm_request_exit(v->vm, VCPU_EXIT_FAILURE);
	return -1;
}

static int handle_system_event(struct vcpu *v)
{
	switch (v->run->system_event.type) {
	case KVM_SYSTEM_EVENT_RESET:
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		log_info("vcpu %u: guest requested %s", v->id,
			 v->run->system_event.type == KVM_SYSTEM_EVENT_RESET ? "reset" : "shutdown");
		vm_request_exit(v->vm, 0);
		return -1;
	default:
		return fatal_exit(v, "KVM_EXIT_SYSTEM_EVENT (crash)");
	}
}

static int handle_internal_error(struct vcpu *v)
{
	char what[96];

	snprintf(what, sizeof(what), "KVM_EXIT_INTERNAL_ERROR (suberror %u%s)",
		 v->run->internal.suberror,
		 v->run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ? ": emulation failure" : "");
	return fatal_exit(v, what);
}

static int handle_fail_entry(struct vcpu *v)
{
	char what[96];

	snprintf(what, sizeof(what), "KVM_EXIT_FAIL_ENTRY (hardware reason %#llx)",
		 (unsigned long long)v->run->fail_entry.hardware_entry_failure_reason);
	return fatal_exit(v, what);
}

/* Returns 0 to keep running, -1 when this vCPU is done. */
static int handle_exit(struct vcpu *v)
{
	switch (v->run->exit_reason) {
	case KVM_EXIT_IO:
		handle_io(v);
		return 0;
	case KVM_EXIT_MMIO:
		handle_mmio(v);
		return 0;
	case KVM_EXIT_INTR:
		return 0;
	case KVM_EXIT_HLT:
		log_info("vcpu %u: KVM_EXIT_HLT: guest halted for good", v->id);
		vm_request_exit(v->vm, 0);
		return -1;
	case KVM_EXIT_SHUTDOWN:
		return fatal_exit(v, "KVM_EXIT_SHUTDOWN (triple fault)");
	case KVM_EXIT_SYSTEM_EVENT:
		return handle_system_event(v);
	case KVM_EXIT_INTERNAL_ERROR:
		return handle_internal_error(v);
	case KVM_EXIT_FAIL_ENTRY:
		return handle_fail_entry(v);
	default: {
		char what[64];

		snprintf(what, sizeof(what), "unexpected exit reason %u", v->run->exit_reason);
		return fatal_exit(v, what);
	}
	}
}

static void set_state(struct vcpu *v, enum vcpu_state st)
{
	pthread_mutex_lock(&v->lock);
	v->state = st;
	pthread_cond_broadcast(&v->cond);
	pthread_mutex_unlock(&v->lock);
}

/* Park while paused; returns false when the vCPU must stop. */
static bool wait_runnable(struct vcpu *v)
{
	bool run;

	pthread_mutex_lock(&v->lock);
	if (v->req == VCPU_REQ_PAUSE) {
		v->state = VCPU_ST_PAUSED;
		pthread_cond_broadcast(&v->cond);
		while (v->req == VCPU_REQ_PAUSE)
			pthread_cond_wait(&v->cond, &v->lock);
		v->state = VCPU_ST_RUNNING;
		pthread_cond_broadcast(&v->cond);
	}
	run = v->req == VCPU_REQ_RUN;
	/* Any kick that raced with this check is consumed here; a later one
	 * sets immediate_exit again, so KVM_RUN below cannot miss it. */
	v->run->immediate_exit = 0;
	pthread_mutex_unlock(&v->lock);
	return run;
}

static int run_once(struct vcpu *v)
{
	if (ioctl(v->fd, KVM_RUN, 0) == 0)
		return handle_exit(v);
	if (errno == EINTR || errno == EAGAIN)
		return 0;
	log_err("vcpu %u: ioctl KVM_RUN: %s", v->id, strerror(errno));
	STAT_INC(v->stats.failures);
	vm_request_exit(v->vm, VCPU_EXIT_FAILURE);
	return -1;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *v = arg;
	char name[16];
	sigset_t set;

	snprintf(name, sizeof(name), "vcpu %u", v->id);
	log_set_thread_name(name);
	sigemptyset(&set);
	sigaddset(&set, kick_signal());
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	while (wait_runnable(v) && run_once(v) == 0)
		;
	/* Where a stopped guest was: cheap, and the first question when a
	 * guest hangs. */
	if (log_get_level() >= LOG_DEBUG)
		vcpu_dump(v, LOG_DEBUG);
	set_state(v, VCPU_ST_EXITED);
	return NULL;
}

int vcpu_start(struct vcpu *v)
{
	char name[16];
	int rc;

	v->state = VCPU_ST_RUNNING;
	rc = pthread_create(&v->thread, NULL, vcpu_thread, v);
	if (rc) {
		log_err("vcpu %u: pthread_create: %s", v->id, strerror(rc));
		return -rc;
	}
	snprintf(name, sizeof(name), "ember_vcpu%u", v->id);
	pthread_setname_np(v->thread, name);
	v->started = true;
	return 0;
}

/* Set a request and knock the thread out of KVM_RUN. Caller holds v->lock. */
static void request(struct vcpu *v, enum vcpu_req req)
{
	v->req = req;
	v->run->immediate_exit = 1;
	pthread_cond_broadcast(&v->cond);
	if (v->started && v->state == VCPU_ST_RUNNING)
		pthread_kill(v->thread, kick_signal());
}

int vcpu_pause(struct vcpu *v)
{
	pthread_mutex_lock(&v->lock);
	if (v->req == VCPU_REQ_RUN)
		request(v, VCPU_REQ_PAUSE);
	while (v->started && v->state == VCPU_ST_RUNNING)
		pthread_cond_wait(&v->cond, &v->lock);
	pthread_mutex_unlock(&v->lock);
	return 0;
}

int vcpu_resume(struct vcpu *v)
{
	pthread_mutex_lock(&v->lock);
	if (v->req == VCPU_REQ_PAUSE) {
		v->req = VCPU_REQ_RUN;
		pthread_cond_broadcast(&v->cond);
	}
	pthread_mutex_unlock(&v->lock);
	return 0;
}

void vcpu_stop(struct vcpu *v)
{
	pthread_mutex_lock(&v->lock);
	request(v, VCPU_REQ_STOP);
	pthread_mutex_unlock(&v->lock);
	if (v->started) {
		pthread_join(v->thread, NULL);
		v->started = false;
	}
}

void vcpu_destroy(struct vcpu *v)
{
	if (!v)
		return;
	vcpu_stop(v);
	munmap(v->run, v->vm->run_size);
	close(v->fd);
	pthread_mutex_destroy(&v->lock);
	pthread_cond_destroy(&v->cond);
	free(v);
}

void vcpu_get_stats(struct vcpu *v, struct vcpu_stats *st)
{
	st->exit_io_in = STAT_GET(v->stats.exit_io_in);
	st->exit_io_out = STAT_GET(v->stats.exit_io_out);
	st->exit_mmio_read = STAT_GET(v->stats.exit_mmio_read);
	st->exit_mmio_write = STAT_GET(v->stats.exit_mmio_write);
	st->failures = STAT_GET(v->stats.failures);
}
