/* Memory devices: the balloon (PUT /balloon, the PATCH bodies, GET /balloon)
 * and memory hotplug (virtio-mem, PUT /hotplug/memory). */
#include <errno.h>

#include "resources_internal.h"

static const struct jx_field balloon_fields[] = {
	{ .name = "amount_mib", .kind = JX_U32, .flags = JX_REQ },
	{ .name = "deflate_on_oom", .kind = JX_BOOL, .flags = JX_REQ },
	/* #[serde(default)] plain values: absent is the default, null a type error. */
	{ .name = "stats_polling_interval_s", .kind = JX_U16 },
	{ .name = "free_page_hinting", .kind = JX_BOOL },
	{ .name = "free_page_reporting", .kind = JX_BOOL },
};
static const struct jx_struct balloon_spec = { "BalloonDeviceConfig", balloon_fields,
					       JX_NFIELDS(balloon_fields) };

static const struct jx_field update_fields[] = {
	{ .name = "amount_mib", .kind = JX_U32, .flags = JX_REQ },
};
static const struct jx_struct update_spec = { "BalloonUpdateConfig", update_fields,
					      JX_NFIELDS(update_fields) };

static const struct jx_field stats_fields[] = {
	{ .name = "stats_polling_interval_s", .kind = JX_U16, .flags = JX_REQ },
};
static const struct jx_struct stats_spec = { "BalloonUpdateStatsConfig", stats_fields,
					     JX_NFIELDS(stats_fields) };

/* Field order is serde's (block before slot), defaults are virtio-mem's. */
static const struct jx_field hotplug_fields[] = {
	{ .name = "total_size_mib", .kind = JX_U32, .flags = JX_REQ },
	{ .name = "block_size_mib", .kind = JX_U32 },
	{ .name = "slot_size_mib", .kind = JX_U32 },
};
static const struct jx_struct hotplug_spec = { "MemoryHotplugConfig", hotplug_fields,
					       JX_NFIELDS(hotplug_fields) };

#define HP_MIN_BLOCK_MIB 2
#define HP_MIN_SLOT_MIB 128

static int balloon_check(const json_t *obj, char *err, size_t errlen)
{
	return jx_check(obj, &balloon_spec, err, errlen);
}

static int balloon_apply(struct vm_resources *res, const json_t *obj, char *err, size_t errlen)
{
	struct res_balloon b = {
		.set = true,
		.amount_mib = (uint32_t)jx_get_uint(obj, "amount_mib", 0),
		.deflate_on_oom = jx_get_bool(obj, "deflate_on_oom", false),
		.stats_polling_interval_s = (uint16_t)jx_get_uint(obj, "stats_polling_interval_s", 0),
		.free_page_hinting = jx_get_bool(obj, "free_page_hinting", false),
		.free_page_reporting = jx_get_bool(obj, "free_page_reporting", false),
	};
	/* The balloon cannot be asked to take more than the guest has. */
	if (b.amount_mib > res->machine.mem_size_mib)
		return jx_err(err, errlen, "Amount of pages requested is too large.");
	int rc = res->balloon.set ? 0 : res_virtio_room(res, err, errlen);
	if (!rc)
		res->balloon = b;
	return rc;
}

const struct res_kind res_balloon_kind = {
	.key = "balloon", .api_prefix = "Balloon config error: ",
	.file_prefix = "Balloon device error: ", .check = balloon_check, .apply = balloon_apply,
};

int res_put_balloon(struct vm_resources *res, const json_t *body, char *err, size_t errlen)
{
	return res_api_put(res, &res_balloon_kind, NULL, body, err, errlen);
}

static json_t *balloon_json(const struct res_balloon *b)
{
	return json_pack("{s:I, s:b, s:I, s:b, s:b}", "amount_mib", (json_int_t)b->amount_mib,
			 "deflate_on_oom", b->deflate_on_oom, "stats_polling_interval_s",
			 (json_int_t)b->stats_polling_interval_s, "free_page_hinting",
			 b->free_page_hinting, "free_page_reporting", b->free_page_reporting);
}

json_t *res_balloon_json(const struct vm_resources *res)
{
	return res && res->balloon.set ? balloon_json(&res->balloon) : NULL;
}

static int parse_one(const json_t *body, const struct jx_struct *spec, uint64_t *v, char *err,
		     size_t errlen)
{
	if (jx_check(body, spec, err, errlen)) {
		res_wrap_deser(err, errlen);
		return -EINVAL;
	}
	*v = jx_get_uint(body, spec->fields[0].name, 0);
	return 0;
}

int res_parse_balloon_update(const json_t *body, uint32_t *amount_mib, char *err, size_t errlen)
{
	uint64_t v;
	int rc = parse_one(body, &update_spec, &v, err, errlen);
	if (!rc)
		*amount_mib = (uint32_t)v;
	return rc;
}

int res_parse_balloon_stats_update(const json_t *body, uint16_t *interval_s, char *err,
				   size_t errlen)
{
	uint64_t v;
	int rc = parse_one(body, &stats_spec, &v, err, errlen);
	if (!rc)
		*interval_s = (uint16_t)v;
	return rc;
}

static int hotplug_check(const json_t *obj, char *err, size_t errlen)
{
	return jx_check(obj, &hotplug_spec, err, errlen);
}

/* MemoryHotplugConfig::validate, in its order and words. */
static int hotplug_apply(struct vm_resources *res, const json_t *obj, char *err, size_t errlen)
{
	struct res_mem_hotplug h = {
		.set = true,
		.total_size_mib = (uint32_t)jx_get_uint(obj, "total_size_mib", 0),
		.block_size_mib = (uint32_t)jx_get_uint(obj, "block_size_mib", HP_MIN_BLOCK_MIB),
		.slot_size_mib = (uint32_t)jx_get_uint(obj, "slot_size_mib", HP_MIN_SLOT_MIB),
	};
	if (h.block_size_mib < HP_MIN_BLOCK_MIB)
		return jx_err(err, errlen, "Block size must not be lower than %d MiB",
			      HP_MIN_BLOCK_MIB);
	if (h.block_size_mib & (h.block_size_mib - 1))
		return jx_err(err, errlen, "Block size must be a power of 2");
	if (h.slot_size_mib < HP_MIN_SLOT_MIB)
		return jx_err(err, errlen, "Slot size must not be lower than %d MiB", HP_MIN_SLOT_MIB);
	if (h.slot_size_mib % h.block_size_mib)
		return jx_err(err, errlen, "Slot size must be a multiple of block size (%u MiB)",
			      h.block_size_mib);
	if (h.total_size_mib < h.slot_size_mib)
		return jx_err(err, errlen, "Total size must not be lower than slot size (%u MiB)",
			      h.slot_size_mib);
	if (h.total_size_mib % h.slot_size_mib)
		return jx_err(err, errlen, "Total size must be a multiple of slot size (%u MiB)",
			      h.slot_size_mib);
	int rc = res->mem_hotplug.set ? 0 : res_virtio_room(res, err, errlen);
	if (!rc)
		res->mem_hotplug = h;
	return rc;
}

const struct res_kind res_hotplug_kind = {
	.key = "memory-hotplug", .api_prefix = "Memory hotplug config error: ",
	.file_prefix = "Memory hotplug config error: ", .check = hotplug_check,
	.apply = hotplug_apply,
};

int res_put_memory_hotplug(struct vm_resources *res, const json_t *body, char *err,
			   size_t errlen)
{
	return res_api_put(res, &res_hotplug_kind, NULL, body, err, errlen);
}

json_t *res_hotplug_json(const struct vm_resources *res)
{
	const struct res_mem_hotplug *h = &res->mem_hotplug;
	if (!h->set)
		return json_null();
	return json_pack("{s:I, s:I, s:I}", "total_size_mib", (json_int_t)h->total_size_mib,
			 "block_size_mib", (json_int_t)h->block_size_mib, "slot_size_mib",
			 (json_int_t)h->slot_size_mib);
}
