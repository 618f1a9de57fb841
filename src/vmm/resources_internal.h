/* Shared between resources.c (API bodies) and resources_config.c (the
 * --config-file): the schemas and the apply steps, which run after the shape
 * check and write bare messages (each caller adds its own prefix). */
#ifndef EMBER_RESOURCES_INTERNAL_H
#define EMBER_RESOURCES_INTERNAL_H

#include "ember/json_util.h"
#include "ember/resources.h"

extern const struct jx_struct res_boot_spec;    /* BootSourceConfig */
extern const struct jx_struct res_machine_spec; /* MachineConfig (PUT) */

/* `obj` must have passed jx_check against the matching spec. */
int res_boot_apply(struct vm_resources *res, const json_t *obj, char *err, size_t errlen);
int res_machine_apply(struct res_machine *m, const json_t *obj, bool patch, char *err,
		      size_t errlen);

#endif
