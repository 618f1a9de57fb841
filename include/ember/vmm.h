/* The VMM: owns the event loop, the VM built from VmResources, the legacy
 * devices and the console. Runs on the main ("VMM") thread.
 * Call order: vmm_init -> vmm_start (InstanceStart) -> vmm_run -> vmm_destroy. */
#ifndef EMBER_VMM_H
#define EMBER_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

#include <jansson.h>

#include "ember/acpi_pm.h"
#include "ember/boot_timer.h"
#include "ember/cpu_config.h"
#include "ember/evloop.h"
#include "ember/virtio_blk.h"
#include "ember/virtio_net.h"
#include "ember/vm.h"

struct serial;
struct i8042;
struct vm_resources;
struct rpc_channel;
struct rpc_request;
struct virtio_dev;
struct blk_dev;
struct rng_dev;
struct balloon_dev;
struct vsock_dev;
struct metrics;
struct boot_mmio_dev;

#define VMM_STDIN_BUF 4096

struct vmm_console {
	int out_fd;	/* serial output: a private non-blocking handle on stdout */
	struct evloop_handler in_h;  /* stdin, when it is a TTY or FIFO */
	struct evloop_handler retry_h; /* timerfd: retry input the FIFO had no room for */
	uint8_t pending[VMM_STDIN_BUF];
	size_t pending_len, pending_off;
	bool tty_raw;
	struct termios saved;
};

#define VMM_MAX_VIRTIO 19 /* GSIs 5..23 */

/* The virtio devices of a running VM (src/vmm/devices.c). */
struct vmm_devs {
	struct virtio_dev *virtio[VMM_MAX_VIRTIO]; /* attach order: windows and GSIs */
	unsigned nr_virtio;
	struct blk_dev *blk[VMM_MAX_VIRTIO];	   /* same order as res->drives */
	unsigned nr_blk;
	struct blk_stats blk_last[VMM_MAX_VIRTIO]; /* at the last metrics flush */
	struct net_dev *net[VMM_MAX_VIRTIO];	   /* same order as res->nets */
	unsigned nr_net;
	struct net_stats net_last[VMM_MAX_VIRTIO]; /* at the last metrics flush */
	struct rng_dev *rng;			   /* entropy, or NULL */
	struct balloon_dev *balloon;		   /* or NULL */
	struct vsock_dev *vsock;		   /* or NULL */
};

#define VMM_VERSION "0.1.0"
/* The Firecracker API version whose swagger ember implements (GET /version). */
#define VMM_API_VERSION "1.17.0"

struct vmm {
	struct evloop loop;
	char id[65];		      /* instance id (--id) */
	struct vm_resources *res;     /* pre-boot configuration, owned by main */
	struct rpc_channel *rpc;      /* API requests; NULL with --no-api */
	struct evloop_handler rpc_h;  /* rpc->kick_fd */
	struct evloop_handler metrics_h; /* timerfd: periodic metrics flush */
	bool paused;
	struct cpu_config cpu_cfg;    /* PUT /cpu-config or the file's "cpu-config" */
	struct evloop_handler exit_h; /* vm.exit_fd */
	struct evloop_handler sig_h;  /* signalfd: SIGTERM, SIGINT */
	bool boot_timer_on;
	bool started;
	struct vm vm;
	struct boot_timer bt;
	struct serial *serial;
	int serial_fd;		      /* serial_out_path, or -1: the console */
	struct i8042 *kbd;
	struct acpi_pm pm;	      /* ACPI sleep registers: guest poweroff */
	struct vmm_devs dev;	      /* virtio devices */
	struct vmm_console con;
};

/* Signals must be blocked (vmm_block_signals) before any thread is created. */
void vmm_block_signals(void);
int vmm_init(struct vmm *v, bool boot_timer);
/* Build and boot the VM (InstanceStart). On failure the VM is torn down, the
 * VMM stays usable, `err` says why and *exit_code is the code a --no-api run
 * would exit with (1: KVM/host failure, 152: bad configuration). */
int vmm_start(struct vmm *v, struct vm_resources *res, char *err, size_t errlen, int *exit_code);
/* Stop the vCPUs and free the VM and its devices (builder.c). */
void vmm_teardown_vm(struct vmm *v);
/* Serve API requests on the VMM thread (dispatch*.c). */
void vmm_dispatch(struct vmm *v, struct rpc_request *req);
/* GET /vm/config: VmResources plus logger, metrics, MMDS and CPU config. */
json_t *vmm_config_json(struct vmm *v);
/* Start listening to `ch` on the event loop. */
int vmm_attach_rpc(struct vmm *v, struct rpc_channel *ch);
/* Pause or resume every vCPU (PATCH /vm). */
int vmm_pause(struct vmm *v);
int vmm_resume(struct vmm *v);
/* Serve events until the VM stops; returns the process exit code. */
int vmm_run(struct vmm *v);
void vmm_destroy(struct vmm *v);

/* Device manager (src/vmm/devices.c): virtio devices in Firecracker's
 * order, on the MMIO bus with their ioeventfds on the event loop. */
int vmm_attach_devices(struct vmm *v, const struct vm_resources *res);
void vmm_detach_devices(struct vmm *v);
/* " root=... virtio_mmio.device=4K@0x...:N ..." to append to the command line. */
int vmm_devices_cmdline(const struct vmm *v, const struct vm_resources *res, char *buf,
			size_t len);
/* The DSDT's description of the windows; returns the count. */
int vmm_devices_acpi(const struct vmm *v, struct boot_mmio_dev *out, int max);
void vmm_devices_metrics(struct vmm *v, struct metrics *m);
/* metrics_extra_fn adding "block_<id>" and "net_<id>" groups (ctx = the vmm). */
void vmm_devices_metrics_groups(json_t *line, void *ctx);
struct blk_dev *vmm_find_blk(struct vmm *v, size_t drive_index);
struct net_dev *vmm_find_net(struct vmm *v, size_t iface_index);

/* Console (src/vmm/console.c): serial output handle and stdin forwarding. */
int console_open(struct vmm *v);
void console_close(struct vmm *v);

#endif
