/* Shared between the VmResources files: the schemas, the per-object "kinds"
 * the API setters and the --config-file both go through, and the apply steps,
 * which run after the shape check and write bare messages (each caller adds
 * its own prefix: "Drive config error: " from the API, "Block device error: "
 * from the config file, as Firecracker's VmmActionError / ResourcesError do). */
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

/* One configurable object. check: serde-level validation (shape plus custom
 * deserializers such as the MAC), bare message. apply: Firecracker's
 * semantic checks, then the change; bare message, `res` untouched on error. */
struct res_kind {
	const char *key;         /* --config-file key */
	const char *api_prefix;  /* VmmActionError's text */
	const char *file_prefix; /* ResourcesError's text */
	const char *id_field;    /* body field matching the path id, or NULL */
	bool name_ids;           /* mismatch message names both ids (net) */
	int (*check)(const json_t *obj, char *err, size_t errlen);
	int (*apply)(struct vm_resources *res, const json_t *obj, char *err, size_t errlen);
};

extern const struct res_kind res_drive_kind, res_net_kind, res_pmem_kind, res_vsock_kind,
	res_balloon_kind, res_entropy_kind, res_hotplug_kind;

/* The API's PUT: path id, shape, id match, apply, each with its message. */
int res_api_put(struct vm_resources *res, const struct res_kind *k, const char *path_id,
		const json_t *body, char *err, size_t errlen);
/* The API's PATCH up to the device lookup: path id, shape against
 * `update_spec`, id match (k->id_field, k->name_ids), each with its message. */
int res_api_patch_check(const struct res_kind *k, const struct jx_struct *update_spec,
			const char *path_id, const json_t *body, char *err, size_t errlen);
/* open(path, flags | O_CLOEXEC) -> fd or -errno; a directory, which opens
 * read-only but can never be used, is refused with -EISDIR. */
int res_open_file(const char *path, int flags);
/* Firecracker's checked_id for {id} path segments (ASCII, design.md §6). */
int res_check_path_id(const char *id, char *err, size_t errlen);
/* JX_DESER_PREFIX + err + "." (no second dot after a custom message's own). */
void res_wrap_deser(char *err, size_t errlen);
int res_oom(char *err, size_t errlen);
/* -ENOSPC with a message when a new virtio device would need a 20th IRQ. */
int res_virtio_room(const struct vm_resources *res, char *err, size_t errlen);
/* strdup that leaves NULL as NULL; *ok cleared on allocation failure. */
char *res_dup(const char *s, bool *ok);

/* RateLimiter / TokenBucket (rate_limiter_cfg.c). */
extern const struct jx_struct res_rl_spec;     /* RateLimiterConfig */
extern const struct jx_struct res_bucket_spec; /* TokenBucketConfig */
void res_bucket_from_json(const json_t *obj, struct res_bucket *b);
void res_rl_from_json(const json_t *obj, struct res_rate_limiter *rl);
void res_rl_update_from_json(const json_t *obj, struct res_rl_update *u);
void res_rl_update_apply(struct res_rate_limiter *rl, const struct res_rl_update *u);
json_t *res_bucket_json(const struct res_bucket *b);     /* null when unset */
json_t *res_rl_json(const struct res_rate_limiter *rl); /* null when unlimited */

/* Per-device cleanup and GET /vm/config pieces. */
void res_drive_clear(struct res_drive *d);
void res_net_clear(struct res_net *n);
void res_pmem_clear(struct res_pmem *p);
void res_misc_free(struct vm_resources *res); /* vsock, serial */
json_t *res_drives_json(const struct vm_resources *res);
json_t *res_nets_json(const struct vm_resources *res);
json_t *res_pmems_json(const struct vm_resources *res);
json_t *res_vsock_json(const struct vm_resources *res);
json_t *res_entropy_json(const struct vm_resources *res);
json_t *res_hotplug_json(const struct vm_resources *res);

#endif
