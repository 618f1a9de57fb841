/* The one place that composes a VM from VmResources (InstanceStart). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "ember/acpi_pm.h"
#include "ember/boot.h"
#include "ember/i8042.h"
#include "ember/layout.h"
#include "ember/log.h"
#include "ember/resources.h"
#include "ember/serial.h"
#include "ember/vcpu.h"
#include "ember/vmm.h"

#define EXIT_GENERIC 1
#define EXIT_BAD_CONFIG 152

static void on_reset(void *ctx)
{
	struct vmm *v = ctx;

	/* Linux retries the reset a few times: log the one that counts. */
	if (vm_request_exit(&v->vm, 0))
		log_info("guest reset through the i8042: stopping");
}

static void on_poweroff(void *ctx)
{
	struct vmm *v = ctx;

	if (vm_request_exit(&v->vm, 0))
		log_info("guest powered off through ACPI: stopping");
}

static int add_legacy_devices(struct vmm *v, const struct vm_resources *res)
{
	int irq4 = vm_irqfd(&v->vm, LAYOUT_COM1_IRQ);
	int irq1 = irq4 < 0 ? irq4 : vm_irqfd(&v->vm, LAYOUT_I8042_IRQ);
	int rc;

	if (irq1 < 0)
		return irq1;
	/* PUT /serial's serial_out_path, else the console's stdout handle. */
	rc = res_serial_open(res, &v->serial_fd);
	if (rc) {
		log_err("cannot open serial_out_path: %s", strerror(-rc));
		return rc;
	}
	v->serial = serial_new(v->serial_fd >= 0 ? v->serial_fd : v->con.out_fd, irq4);
	v->kbd = i8042_new(irq1, on_reset, v);
	if (!v->serial || !v->kbd)
		return -ENOMEM;
	rc = bus_register(&v->vm.pio, LAYOUT_COM1_PORT, 8, serial_io, v->serial);
	if (!rc)
		rc = bus_register(&v->vm.pio, LAYOUT_I8042_PORT, 5, i8042_io, v->kbd);
	acpi_pm_init(&v->pm, on_poweroff, v);
	if (!rc)
		rc = bus_register(&v->vm.pio, LAYOUT_ACPI_SLEEP_CTL, LAYOUT_ACPI_SLEEP_LEN,
				  acpi_pm_io, &v->pm);
	if (!rc && v->boot_timer_on)
		rc = bus_register(&v->vm.mmio, LAYOUT_BOOT_TIMER, BOOT_TIMER_SIZE, boot_timer_io,
				  &v->bt);
	return rc;
}

/* The loaders log the precise defect; quote it rather than a bare errno. */
static const char *why(int rc)
{
	const char *msg = log_last_error();

	return msg[0] ? msg : strerror(-rc);
}

/* Kernel, initrd, command line and the tables the kernel reads at boot. */
static int load_guest(struct vmm *v, struct vm_resources *res, struct boot_image *img,
		      char *err, size_t errlen)
{
	struct guest_mem *gm = &v->vm.gm;
	const char *args = res->boot.boot_args ? res->boot.boot_args : RES_DEFAULT_BOOT_ARGS;
	struct boot_mmio_dev devs[VMM_MAX_VIRTIO];
	struct boot_initrd initrd = { 0 };
	char cmdline[LAYOUT_CMDLINE_MAX + 1], extra[LAYOUT_CMDLINE_MAX];
	int rc, ndevs;

	log_clear_last_error();
	rc = boot_load_kernel(gm, res->boot.kernel_fd, res->boot.proto, img);
	if (rc) {
		snprintf(err, errlen, "Cannot load kernel due to invalid memory configuration or "
			 "invalid kernel image: %s", why(rc));
		return rc;
	}
	if (res->boot.initrd_fd >= 0) {
		rc = boot_load_initrd(gm, res->boot.initrd_fd, img, &initrd);
		if (rc) {
			snprintf(err, errlen, "Cannot load initrd: %s", why(rc));
			return rc;
		}
	}
	/* The user's arguments, then what the devices need (Firecracker's order). */
	rc = vmm_devices_cmdline(v, res, extra, sizeof(extra));
	if (!rc && (size_t)snprintf(cmdline, sizeof(cmdline), "%s%s", args, extra) >= sizeof(cmdline))
		rc = -E2BIG;
	if (!rc)
		rc = boot_write_cmdline(gm, cmdline);
	if (!rc)
		rc = boot_write_params(gm, img, &initrd, (uint32_t)strlen(cmdline) + 1);
	if (!rc)
		rc = boot_write_mptable(gm, (int)res->machine.vcpu_count);
	if (!rc) /* both: kernels without CONFIG_X86_MPPARSE read only the MADT */
		rc = (ndevs = vmm_devices_acpi(v, devs, VMM_MAX_VIRTIO)) < 0 ? ndevs :
			boot_write_acpi_devs(gm, (int)res->machine.vcpu_count, devs, ndevs);
	if (!rc)
		rc = boot_write_pagetables(gm);
	if (rc)
		snprintf(err, errlen, "Cannot set up boot parameters: %s",
			 rc == -E2BIG ? "kernel command line longer than 2048 bytes" : why(rc));
	return rc;
}

static int create_vcpus(struct vmm *v, const struct vm_resources *res,
			const struct boot_image *img)
{
	int rc = vcpu_global_init();

	v->vm.nr_vcpus = res->machine.vcpu_count;
	for (unsigned i = 0; !rc && i < v->vm.nr_vcpus; i++) {
		rc = vcpu_create(&v->vm, i, &v->vm.vcpus[i]);
		if (!rc)
			rc = vcpu_configure(v->vm.vcpus[i], img, res->machine.smt);
	}
	return rc;
}

static void teardown(struct vmm *v)
{
	for (unsigned i = 0; i < LAYOUT_MAX_VCPUS; i++) {
		vcpu_destroy(v->vm.vcpus[i]);
		v->vm.vcpus[i] = NULL;
	}
	v->vm.nr_vcpus = 0; /* metrics and pause walk vcpus[0..nr) */
	vmm_detach_devices(v); /* no vCPU can reach a device any more */
	serial_free(v->serial);
	i8042_free(v->kbd);
	if (v->serial_fd >= 0)
		close(v->serial_fd);
	v->serial_fd = -1;
	v->serial = NULL;
	v->kbd = NULL;
	vm_destroy(&v->vm);
}

static int fail(struct vmm *v, int rc, int code, int *exit_code)
{
	teardown(v);
	*exit_code = code;
	return rc;
}

int vmm_start(struct vmm *v, struct vm_resources *res, char *err, size_t errlen, int *exit_code)
{
	struct boot_image img;
	int rc;

	if (!res->boot.set) {
		snprintf(err, errlen, "Cannot start microvm without kernel configuration.");
		*exit_code = EXIT_BAD_CONFIG;
		return -EINVAL;
	}
	if (res_unsupported_devices(res, err, errlen)) {
		*exit_code = EXIT_BAD_CONFIG;
		return -ENOTSUP;
	}
	if (v->boot_timer_on)
		boot_timer_start(&v->bt);
	log_clear_last_error();
	rc = vm_open_kvm(&v->vm);
	v->vm.cpu_cfg = v->cpu_cfg.set ? &v->cpu_cfg : NULL;
	if (!rc)
		rc = vm_create(&v->vm, res->machine.mem_size_mib << 20);
	if (!rc)
		rc = add_legacy_devices(v, res);
	if (!rc)
		rc = vmm_attach_devices(v, res);
	if (rc) {
		snprintf(err, errlen, "Cannot create the VM: %s", why(rc));
		return fail(v, rc, EXIT_GENERIC, exit_code);
	}
	rc = load_guest(v, res, &img, err, errlen);
	if (rc)
		return fail(v, rc, EXIT_BAD_CONFIG, exit_code);
	rc = create_vcpus(v, res, &img);
	for (unsigned i = 0; !rc && i < v->vm.nr_vcpus; i++)
		rc = vcpu_start(v->vm.vcpus[i]);
	if (rc) {
		snprintf(err, errlen, "Cannot start the vCPUs: %s", why(rc));
		return fail(v, rc, EXIT_GENERIC, exit_code);
	}
	v->exit_h.fd = v->vm.exit_fd;
	rc = evloop_add(&v->loop, &v->exit_h, EPOLLIN);
	if (rc) {
		snprintf(err, errlen, "Cannot watch the VM: %s", strerror(-rc));
		return fail(v, rc, EXIT_GENERIC, exit_code);
	}
	v->started = true;
	log_info("microVM started: %u vCPU(s), %llu MiB", res->machine.vcpu_count,
		 (unsigned long long)res->machine.mem_size_mib);
	return 0;
}

void vmm_teardown_vm(struct vmm *v)
{
	teardown(v);
}
