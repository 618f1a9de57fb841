/* Shared by the dispatcher files (dispatch*.c); not a public API. */
#ifndef EMBER_DISPATCH_INTERNAL_H
#define EMBER_DISPATCH_INTERNAL_H

#include <stdbool.h>

#include "ember/rpc.h"
#include "ember/vmm.h"

int dispatch_check_phase(struct rpc_request *req, unsigned allowed, bool started);
/* 200 with `reply` (a new reference), or 204 when reply is NULL. */
void dispatch_ok(struct rpc_request *req, json_t *reply);
/* 204 when rc == 0, else 400 (413 for -EFBIG) with `err`. */
void dispatch_result(struct rpc_request *req, int rc, const char *err);

void dispatch_core(struct vmm *v, struct rpc_request *req);
void dispatch_misc(struct vmm *v, struct rpc_request *req);
void dispatch_devices(struct vmm *v, struct rpc_request *req);

#endif
