/* MMDS: the microVM metadata data store (GET/PUT/PATCH /mmds, --metadata)
 * and its configuration (PUT /mmds/config, the config file's "mmds-config").
 *
 * Store semantics are Firecracker's (mmds/data_store.rs, rpc_interface.rs):
 * - PUT replaces the store with any JSON value (swagger says object, the code
 *   takes any value; GET of a null store answers {}).
 * - PATCH applies a JSON Merge Patch (RFC 7396) and needs a previous PUT
 *   (or --metadata): otherwise "MMDS error: The MMDS data store is not
 *   initialized." (400).
 * - The compact serialization of the result must fit in the limit (default
 *   the API payload limit, --mmds-size-limit): otherwise -EFBIG, 413,
 *   "MMDS limit exceeded error: The MMDS patch request doesn't fit." and the
 *   store is unchanged.
 * - Firecracker hands the running VM only a store that existed before boot
 *   (any pre-boot MMDS request or mmds-config creates it): after mmds_seal()
 *   a never-created store answers every request with the "not initialized"
 *   error.
 * Object keys are kept in byte order, as Firecracker's serde_json maps are.
 *
 * VMM thread only. Returns 0, -EINVAL (400) or -EFBIG (413); `err` holds the
 * API fault message. */
#ifndef EMBER_MMDS_H
#define EMBER_MMDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define MMDS_DEFAULT_LIMIT 51200 /* Firecracker's HTTP_MAX_PAYLOAD_SIZE */
#define MMDS_DEFAULT_IPV4 0xa9fea9feu /* 169.254.169.254, host byte order */

/* Data-store size limit in bytes (--mmds-size-limit, else the API payload limit). */
void mmds_set_limit(size_t bytes);
int mmds_put(const json_t *body, char *err, size_t errlen);
int mmds_patch(const json_t *body, char *err, size_t errlen);
/* GET /mmds: a new copy of the store ({} when empty or null), or NULL with
 * err set (after mmds_seal() without a store, or out of memory). */
json_t *mmds_get(char *err, size_t errlen);
/* The store for the guest-facing MMDS (borrowed, read-only; NULL if none). */
const json_t *mmds_data(void);
/* Call once at InstanceStart. */
void mmds_seal(void);
/* Drop the store and the configuration (tests, process exit). */
void mmds_reset(void);

enum mmds_version { MMDS_V1 = 0, MMDS_V2 };

struct mmds_cfg {
	bool set;
	enum mmds_version version;
	uint32_t ipv4;		/* host byte order */
	bool imds_compat;
	size_t n_ifaces;
	char **ifaces;		/* network interface ids answering MMDS, no duplicates */
};

typedef bool (*mmds_iface_exists_fn)(void *ctx, const char *iface_id);

/* Shape only, bare serde message (config-file loader: "Invalid JSON: ..."). */
int mmds_cfg_check(const json_t *body, char *err, size_t errlen);
/* PUT /mmds/config: network_interfaces* (non-empty, every id must exist per
 * iface_exists), version "V1" (default, deprecated) | "V2", ipv4_address
 * (169.254.1.0 - 169.254.254.255, default 169.254.169.254), imds_compat.
 * Errors read "MMMDS config error: ..." — Firecracker's API spelling (sic);
 * its config-file path says "MMDS config error: ". Creates the store. */
int mmds_cfg_apply(const json_t *body, mmds_iface_exists_fn iface_exists, void *ctx, char *err,
		   size_t errlen);
/* NULL until configured. After a successful apply with version V1 the
 * dispatcher sets req->deprecated (Firecracker: "PUT /mmds/config: V1 is
 * deprecated. Use V2 instead."). */
const struct mmds_cfg *mmds_cfg_get(void);
/* {"version", "network_interfaces", "ipv4_address", "imds_compat"} or JSON
 * null when not configured (GET /vm/config "mmds-config"). */
json_t *mmds_cfg_json(void);

#endif
