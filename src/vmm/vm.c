/* KVM VM bring-up: /dev/kvm checks, irqchip, PIT, TSS, memslots. */
#include "ember/vm.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "ember/log.h"

#define KVM_PATH "/dev/kvm"
#define CPUID_MAX_ENTRIES 256

static const struct { int cap; const char *name; } required_caps[] = {
	{ KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
	{ KVM_CAP_HLT, "KVM_CAP_HLT" },
	{ KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
	{ KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
	{ KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
	{ KVM_CAP_PIT2, "KVM_CAP_PIT2" },
	{ KVM_CAP_IRQFD, "KVM_CAP_IRQFD" },
	{ KVM_CAP_IOEVENTFD, "KVM_CAP_IOEVENTFD" },
	{ KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
	{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
};

static int check_caps(int kvm_fd)
{
	for (size_t i = 0; i < sizeof(required_caps) / sizeof(required_caps[0]); i++) {
		if (ioctl(kvm_fd, KVM_CHECK_EXTENSION, required_caps[i].cap) <= 0) {
			log_err("KVM is missing a required capability: %s", required_caps[i].name);
			return -ENOTSUP;
		}
	}
	return 0;
}

static int get_cpuid(struct vm *vm)
{
	size_t sz = sizeof(struct kvm_cpuid2) + CPUID_MAX_ENTRIES * sizeof(struct kvm_cpuid_entry2);
	struct kvm_cpuid2 *c = calloc(1, sz);

	if (!c)
		return -ENOMEM;
	c->nent = CPUID_MAX_ENTRIES;
	if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0) {
		int e = errno;
		log_err("ioctl KVM_GET_SUPPORTED_CPUID: %s", strerror(e));
		free(c);
		return -e;
	}
	vm->cpuid = c;
	return 0;
}

int vm_open_kvm(struct vm *vm)
{
	int rc, ver;

	memset(vm, 0, sizeof(*vm));
	vm->kvm_fd = vm->vm_fd = vm->exit_fd = -1;
	atomic_init(&vm->exit_code, VM_NO_EXIT);
	vm->kvm_fd = open(KVM_PATH, O_RDWR | O_CLOEXEC);
	if (vm->kvm_fd < 0) {
		rc = -errno;
		if (rc == -ENOENT)
			log_err("%s does not exist: is the kvm module loaded?", KVM_PATH);
		else if (rc == -EACCES || rc == -EPERM)
			log_err("no permission to open %s: %s (add the user to the kvm group)",
				KVM_PATH, strerror(-rc));
		else
			log_err("open %s: %s", KVM_PATH, strerror(-rc));
		return rc;
	}
	ver = ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0);
	if (ver != KVM_API_VERSION) {
		log_err("unsupported KVM API version %d (need %d)", ver, KVM_API_VERSION);
		return -ENOTSUP;
	}
	rc = check_caps(vm->kvm_fd);
	if (rc)
		return rc;
	rc = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (rc < (int)sizeof(struct kvm_run)) {
		log_err("ioctl KVM_GET_VCPU_MMAP_SIZE: %s", rc < 0 ? strerror(errno) : "too small");
		return -ENOTSUP;
	}
	vm->run_size = (size_t)rc;
	return get_cpuid(vm);
}

static int vm_ioctl(struct vm *vm, unsigned long req, const char *name, void *arg)
{
	if (ioctl(vm->vm_fd, req, arg) < 0) {
		int e = errno;
		log_err("ioctl %s: %s", name, strerror(e));
		return -e;
	}
	return 0;
}

static int add_memslots(struct vm *vm)
{
	for (int i = 0; i < vm->gm.nr; i++) {
		struct kvm_userspace_memory_region mr = {
			.slot = (uint32_t)i,
			.guest_phys_addr = vm->gm.r[i].gpa,
			.memory_size = vm->gm.r[i].size,
			.userspace_addr = (uint64_t)(uintptr_t)vm->gm.r[i].host,
		};
		int rc = vm_ioctl(vm, KVM_SET_USER_MEMORY_REGION, "KVM_SET_USER_MEMORY_REGION", &mr);

		if (rc)
			return rc;
	}
	return 0;
}

static int create_irqchip(struct vm *vm)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	int rc;

	rc = vm_ioctl(vm, KVM_SET_TSS_ADDR, "KVM_SET_TSS_ADDR", (void *)(uintptr_t)LAYOUT_TSS);
	if (!rc)
		rc = vm_ioctl(vm, KVM_CREATE_IRQCHIP, "KVM_CREATE_IRQCHIP", NULL);
	if (!rc)
		rc = vm_ioctl(vm, KVM_CREATE_PIT2, "KVM_CREATE_PIT2", &pit);
	return rc;
}

int vm_create(struct vm *vm, uint64_t mem_bytes)
{
	int rc;

	vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->vm_fd < 0) {
		rc = -errno;
		log_err("ioctl KVM_CREATE_VM: %s", strerror(-rc));
		return rc;
	}
	vm->exit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->exit_fd < 0) {
		rc = -errno;
		log_err("eventfd: %s", strerror(-rc));
		return rc;
	}
	bus_init(&vm->pio);
	bus_init(&vm->mmio);
	rc = create_irqchip(vm);
	if (rc)
		return rc;
	rc = gm_init(&vm->gm, mem_bytes);
	if (rc)
		return rc;
	return add_memslots(vm);
}

/* An eventfd bound to the VM with `req` (KVM_IRQFD or KVM_IOEVENTFD, whose
 * argument `fill` completes with the fd), kept in `fds` for vm_destroy. */
static int bound_eventfd(struct vm *vm, unsigned long req, const char *name, void *arg,
			 void (*fill)(void *arg, int fd), int *fds, unsigned *nr, unsigned max)
{
	int fd, rc;

	if (*nr >= max)
		return -ENOSPC;
	fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (fd < 0) {
		rc = -errno;
		log_err("eventfd: %s", strerror(-rc));
		return rc;
	}
	fill(arg, fd);
	rc = vm_ioctl(vm, req, name, arg);
	if (rc) {
		close(fd);
		return rc;
	}
	fds[(*nr)++] = fd;
	return fd;
}

static void fill_irqfd(void *arg, int fd)
{
	((struct kvm_irqfd *)arg)->fd = (uint32_t)fd;
}

static void fill_ioeventfd(void *arg, int fd)
{
	((struct kvm_ioeventfd *)arg)->fd = fd;
}

int vm_irqfd(struct vm *vm, unsigned gsi)
{
	struct kvm_irqfd irqfd = { .gsi = gsi };

	return bound_eventfd(vm, KVM_IRQFD, "KVM_IRQFD", &irqfd, fill_irqfd, vm->irqfds,
			     &vm->nr_irqfds, sizeof(vm->irqfds) / sizeof(vm->irqfds[0]));
}

int vm_ioeventfd(struct vm *vm, uint64_t addr, uint32_t datamatch)
{
	struct kvm_ioeventfd io = { .addr = addr, .len = 4, .datamatch = datamatch,
				    .flags = KVM_IOEVENTFD_FLAG_DATAMATCH };

	return bound_eventfd(vm, KVM_IOEVENTFD, "KVM_IOEVENTFD", &io, fill_ioeventfd,
			     vm->ioeventfds, &vm->nr_ioeventfds, VM_MAX_IOEVENTFDS);
}

bool vm_request_exit(struct vm *vm, int code)
{
	int none = VM_NO_EXIT;
	uint64_t one = 1;

	if (!atomic_compare_exchange_strong(&vm->exit_code, &none, code))
		return false;
	if (write(vm->exit_fd, &one, sizeof(one)) < 0) {
		/* The counter cannot overflow from one write; nothing to do. */
	}
	return true;
}

void vm_destroy(struct vm *vm)
{
	for (unsigned i = 0; i < vm->nr_irqfds; i++)
		close(vm->irqfds[i]);
	vm->nr_irqfds = 0;
	for (unsigned i = 0; i < vm->nr_ioeventfds; i++)
		close(vm->ioeventfds[i]);
	vm->nr_ioeventfds = 0;
	gm_destroy(&vm->gm);
	free(vm->cpuid);
	vm->cpuid = NULL;
	if (vm->exit_fd >= 0)
		close(vm->exit_fd);
	if (vm->vm_fd >= 0)
		close(vm->vm_fd);
	if (vm->kvm_fd >= 0)
		close(vm->kvm_fd);
	vm->exit_fd = vm->vm_fd = vm->kvm_fd = -1;
}
