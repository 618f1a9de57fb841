/* The VMM: owns the event loop, the VM built from VmResources, the legacy
 * devices and the console. Runs on the main ("VMM") thread.
 * Call order: vmm_init -> vmm_start (InstanceStart) -> vmm_run -> vmm_destroy. */
#ifndef EMBER_VMM_H
#define EMBER_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

#include "ember/boot_timer.h"
#include "ember/evloop.h"
#include "ember/vm.h"

struct serial;
struct i8042;
struct vm_resources;

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

struct vmm {
	struct evloop loop;
	struct evloop_handler exit_h; /* vm.exit_fd */
	struct evloop_handler sig_h;  /* signalfd: SIGTERM, SIGINT */
	bool boot_timer_on;
	bool started;
	struct vm vm;
	struct boot_timer bt;
	struct serial *serial;
	struct i8042 *kbd;
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
/* Serve events until the VM stops; returns the process exit code. */
int vmm_run(struct vmm *v);
void vmm_destroy(struct vmm *v);

/* Console (src/vmm/console.c): serial output handle and stdin forwarding. */
int console_open(struct vmm *v);
void console_close(struct vmm *v);

#endif
