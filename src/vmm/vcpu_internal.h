/* vCPU state shared between vcpu.c (thread, pause/stop) and vcpu_setup.c. */
#ifndef EMBER_VCPU_INTERNAL_H
#define EMBER_VCPU_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include "ember/log.h"
#include "ember/vcpu.h"

struct kvm_run;

enum vcpu_req { VCPU_REQ_RUN, VCPU_REQ_PAUSE, VCPU_REQ_STOP };
enum vcpu_state { VCPU_ST_CREATED, VCPU_ST_RUNNING, VCPU_ST_PAUSED, VCPU_ST_EXITED };

struct vcpu {
	struct vm *vm;
	unsigned id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool started;
	pthread_mutex_t lock; /* protects req and state */
	pthread_cond_t cond;  /* signalled on every req or state change */
	enum vcpu_req req;
	enum vcpu_state state;
	struct vcpu_stats stats;
};

int vcpu_setup_regs(struct vcpu *v, const struct boot_image *img);
int vcpu_setup_cpu(struct vcpu *v, bool smt);
void vcpu_dump(struct vcpu *v, enum log_level lvl);

#endif
