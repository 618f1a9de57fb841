/* VmResources: everything configured before InstanceStart, filled by the
 * config-file loader and (later) the API through the same parsers.
 * Parsers validate fully before changing anything: on error the resources
 * are untouched and `err` holds a one-line Firecracker-style reason. */
#ifndef EMBER_RESOURCES_H
#define EMBER_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ember/boot.h"

#define RES_ERR_LEN 512
#define RES_MAX_VCPUS 32
/* Guest RAM above the 3 GiB mark is placed from 4 GiB; cap total RAM well below
 * the 256 GiB 64-bit MMIO area Firecracker reserves. */
#define RES_MAX_MEM_MIB (240ULL * 1024)

enum res_huge_pages { RES_HUGE_NONE = 0, RES_HUGE_2M, RES_HUGE_TRANSPARENT };

struct res_boot_source {
	bool set;
	char *kernel_image_path;
	char *boot_args;   /* NULL: use the default command line */
	char *initrd_path; /* NULL: none */
	enum boot_proto proto; /* ember extension "boot_protocol": auto|linux|pvh */
	int kernel_fd;     /* opened at parse time, as Firecracker does; -1 if none */
	int initrd_fd;
};

struct res_machine {
	unsigned vcpu_count;   /* 1..32, default 1 */
	uint64_t mem_size_mib; /* default 128 */
	bool smt;
	bool track_dirty_pages;
	enum res_huge_pages huge_pages;
};

/* Every virtio-mmio device takes one legacy GSI from 5..23 (design.md §4). */
#define RES_MAX_VIRTIO_DEVS 19
#define RES_MAC_LEN 6

/* A TokenBucket. `set` false = no limit: Firecracker disables a bucket whose
 * size or refill_time is 0 (or whose refill time overflows in ns), and we
 * store it that way so GET /vm/config shows exactly what is in force. */
struct res_bucket {
	bool set;
	uint64_t size;           /* tokens (bytes or ops) */
	uint64_t one_time_burst; /* 0: none */
	uint64_t refill_time_ms;
};

struct res_rate_limiter {
	struct res_bucket bandwidth, ops;
};

/* PATCH semantics (Firecracker's BucketUpdate): a bucket absent from the body
 * keeps its state, a present one replaces it or, when it disables, clears it. */
enum res_bucket_op { RES_BUCKET_KEEP = 0, RES_BUCKET_SET, RES_BUCKET_DISABLE };
struct res_bucket_update {
	enum res_bucket_op op;
	struct res_bucket b; /* RES_BUCKET_SET */
};
struct res_rl_update {
	struct res_bucket_update bandwidth, ops;
};

enum res_cache_type { RES_CACHE_UNSAFE = 0, RES_CACHE_WRITEBACK };
enum res_io_engine { RES_IO_SYNC = 0, RES_IO_ASYNC };

struct res_drive {
	char *id;
	char *path;     /* path_on_host */
	char *partuuid; /* NULL: none */
	bool root, read_only;
	enum res_cache_type cache;
	enum res_io_engine engine;
	struct res_rate_limiter rl;
	int fd; /* opened at PUT time (O_RDWR, or O_RDONLY if read-only) */
};

struct res_net {
	char *id;
	char *host_dev_name; /* TAP name; NULL when comms_socket is used */
	char *comms_socket;  /* ember extension: comms ring socket path, or NULL */
	bool has_mac;
	uint8_t mac[RES_MAC_LEN];
	uint16_t mtu; /* 0: VIRTIO_NET_F_MTU not offered */
	struct res_rate_limiter rx, tx;
};

struct res_vsock {
	bool set;
	uint32_t guest_cid;
	char *uds_path;
};

struct res_balloon {
	bool set;
	uint32_t amount_mib;
	bool deflate_on_oom;
	uint16_t stats_polling_interval_s; /* 0: statistics off */
	bool free_page_hinting, free_page_reporting;
};

struct res_entropy {
	bool set;
	struct res_rate_limiter rl;
};

struct res_pmem {
	char *id;
	char *path; /* opened by the device at boot, as Firecracker does */
	bool root, read_only;
	struct res_rate_limiter rl;
};

struct res_mem_hotplug {
	bool set;
	uint32_t total_size_mib, slot_size_mib, block_size_mib;
};

struct res_serial {
	char *out_path; /* NULL: ember's stdout */
	struct res_bucket rl;
};

struct vm_resources {
	struct res_boot_source boot;
	struct res_machine machine;
	/* Block devices in attach order: the root drive, if any, is first. */
	struct res_drive drives[RES_MAX_VIRTIO_DEVS];
	size_t n_drives;
	struct res_net nets[RES_MAX_VIRTIO_DEVS];
	size_t n_nets;
	struct res_pmem pmems[RES_MAX_VIRTIO_DEVS];
	size_t n_pmems;
	struct res_vsock vsock;
	struct res_balloon balloon;
	struct res_entropy entropy;
	struct res_mem_hotplug mem_hotplug;
	struct res_serial serial;
};

/* Firecracker's default command line when boot_args is absent. */
#define RES_DEFAULT_BOOT_ARGS \
	"reboot=k panic=1 nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux i8042.dumbkbd swiotlb=noforce"

void res_init(struct vm_resources *res);
/* Closes every fd and frees every string; leaves `res` as res_init does. */
void res_free(struct vm_resources *res);

/*
 * API setters. Each takes the request body (and the {id} from the path where
 * the route has one), checks it completely and only then changes `res`; on
 * error `res` is untouched and `err` holds the whole fault_message, already
 * prefixed as Firecracker's API does ("Drive config error: ...", or
 * JX_DESER_PREFIX for shape errors). All return 0 or -errno (-EINVAL for bad
 * input, -errno from open(2), -ENOSPC when all 19 virtio IRQs are taken).
 */

/* PUT /boot-source body. Opens the kernel (and initrd) read-only. */
int res_set_boot_source(struct vm_resources *res, const json_t *obj, char *err, size_t errlen);
/* PUT (patch=false: omitted optionals reset to defaults, vcpu_count and
 * mem_size_mib required) or PATCH (patch=true: any subset) /machine-config.
 * Fails when the memory would drop below a configured balloon's target. */
int res_set_machine_config(struct vm_resources *res, const json_t *obj, bool patch,
			   char *err, size_t errlen);

/* PUT /drives/{id}. Opens path_on_host now (O_RDWR, or O_RDONLY when
 * is_read_only), as Firecracker does. An existing id is replaced (its old fd
 * closed); a root drive moves to the front. vhost-user (`socket`) is refused. */
int res_put_drive(struct vm_resources *res, const char *path_id, const json_t *body, char *err,
		  size_t errlen);
/* PUT /network-interfaces/{id}. Stores the config; the TAP is opened by the
 * net device at boot. ember extension: `comms_socket` (path of a comms ring
 * peer's UNIX socket) instead of `host_dev_name`; exactly one of the two. */
int res_put_net(struct vm_resources *res, const char *path_id, const json_t *body, char *err,
		size_t errlen);
/* PUT /pmem/{id}. */
int res_put_pmem(struct vm_resources *res, const char *path_id, const json_t *body, char *err,
		 size_t errlen);
/* PUT /vsock. *deprecated (may be NULL) is set when the body used the
 * deprecated `vsock_id`: answer with a "Deprecation: true" header. */
int res_put_vsock(struct vm_resources *res, const json_t *body, bool *deprecated, char *err,
		  size_t errlen);
/* PUT /balloon. amount_mib may not exceed the machine's mem_size_mib. */
int res_put_balloon(struct vm_resources *res, const json_t *body, char *err, size_t errlen);
/* PUT /entropy ({} is fine). */
int res_put_entropy(struct vm_resources *res, const json_t *body, char *err, size_t errlen);
/* PUT /serial. Omitted fields reset (stdout, no limit). */
int res_put_serial(struct vm_resources *res, const json_t *body, char *err, size_t errlen);
/* PUT /hotplug/memory. */
int res_put_memory_hotplug(struct vm_resources *res, const json_t *body, char *err,
			   size_t errlen);

/*
 * Runtime PATCH bodies: validated against the stored configuration (the id
 * must exist) WITHOUT changing it; the caller applies the update to the live
 * device and then records it with the matching *_commit. Pre-boot, PATCH is
 * refused by the dispatcher ("...not supported before starting the microVM.").
 */
struct res_drive_update {
	size_t index;   /* into res->drives */
	char *path;     /* new path_on_host, or NULL */
	int fd;         /* path opened like the drive (ro/rw), or -1 */
	bool has_rl;
	struct res_rl_update rl;
};
int res_patch_drive(struct vm_resources *res, const char *path_id, const json_t *body,
		    struct res_drive_update *out, char *err, size_t errlen);
/* Records path and rate limiter in `res`. If u->fd is still >= 0 (the device
 * did not take it and set it to -1) it replaces the drive's stored fd. */
void res_drive_update_commit(struct vm_resources *res, struct res_drive_update *u);
/* Frees u->path and closes u->fd if still owned; safe after commit. */
void res_drive_update_free(struct res_drive_update *u);

struct res_net_update {
	size_t index; /* into res->nets */
	struct res_rl_update rx, tx;
};
int res_patch_net(struct vm_resources *res, const char *path_id, const json_t *body,
		  struct res_net_update *out, char *err, size_t errlen);
void res_net_update_commit(struct vm_resources *res, const struct res_net_update *u);

struct res_pmem_update {
	size_t index; /* into res->pmems */
	struct res_rl_update rl;
};
int res_patch_pmem(struct vm_resources *res, const char *path_id, const json_t *body,
		   struct res_pmem_update *out, char *err, size_t errlen);
void res_pmem_update_commit(struct vm_resources *res, const struct res_pmem_update *u);

/* PATCH /balloon and PATCH /balloon/statistics bodies: shape only (the
 * device judges the values). */
int res_parse_balloon_update(const json_t *body, uint32_t *amount_mib, char *err, size_t errlen);
int res_parse_balloon_stats_update(const json_t *body, uint16_t *interval_s, char *err,
				   size_t errlen);

/* --config-file hooks for the objects VmResources does not own. Called in
 * Firecracker's order with the (non-null) value of their key, after the
 * document passed the shape check of every object VmResources does own; a
 * hook judges its own object's shape. `staged` is the configuration being
 * built (e.g. for res_has_net() from the mmds-config hook). A hook returns 0
 * or -errno with the complete message in err (e.g. "Invalid JSON: ..."). */
typedef int (*res_hook_fn)(void *ctx, const struct vm_resources *staged, const json_t *obj,
			   char *err, size_t errlen);
struct res_hooks {
	res_hook_fn logger, metrics, mmds_config, cpu_config;
	void *ctx;
};

/* Whole --config-file object; "boot-source" is mandatory. Unknown top-level
 * keys are ignored (as Firecracker), unknown fields inside objects are errors.
 * The objects are applied to fresh resources, which replace `res` only if all
 * succeed. With hooks NULL (or a NULL hook), a non-null "logger", "metrics",
 * "mmds-config" or "cpu-config" is an error naming the key. */
int res_set_config(struct vm_resources *res, const json_t *root, char *err, size_t errlen);
int res_set_config_hooks(struct vm_resources *res, const json_t *root,
			 const struct res_hooks *hooks, char *err, size_t errlen);
int res_load_config_file(struct vm_resources *res, const char *path, char *err, size_t errlen);
int res_load_config_file_hooks(struct vm_resources *res, const char *path,
			       const struct res_hooks *hooks, char *err, size_t errlen);

bool res_has_net(const struct vm_resources *res, const char *iface_id);

/* GET /machine-config and the "machine-config"/"boot-source" parts of GET /vm/config. */
json_t *res_machine_config_json(const struct vm_resources *res);
json_t *res_boot_source_json(const struct vm_resources *res);
/* GET /balloon: NULL when no balloon is configured (Firecracker answers
 * "Balloon config error: No balloon device found."). */
json_t *res_balloon_json(const struct vm_resources *res);
/* GET /vm/config: Firecracker's FullVmConfiguration with every key, arrays
 * for drives/network-interfaces/pmem, null for absent devices. "logger",
 * "metrics" and "cpu-config" are null as in Firecracker; "mmds-config" is
 * null here and the caller replaces it (json_object_set_new) when MMDS is
 * configured. The serial config is not part of it (Firecracker skips it). */
json_t *res_vm_config_json(const struct vm_resources *res);

/* InstanceStart gate: 0 if this build can create every configured device,
 * else -ENOTSUP and msg names the first one in attach order, e.g. "block
 * device 'rootfs' is not supported by this build yet". */
int res_unsupported_devices(const struct vm_resources *res, char *msg, size_t len);

/* The serial console's output for the builder: *fd = a descriptor opened
 * O_RDWR|O_APPEND|O_CREAT|O_NONBLOCK|O_CLOEXEC on serial_out_path (a file
 * or FIFO; O_RDWR so a FIFO without a reader neither blocks nor fails), or
 * -1 meaning ember's stdout. 0 or -errno. */
int res_serial_open(const struct vm_resources *res, int *fd);

#endif
