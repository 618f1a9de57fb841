/* RateLimiter / TokenBucket configuration objects shared by drives, network
 * interfaces, pmem, entropy and serial. Parsing follows Firecracker's
 * TokenBucket::new: a bucket with size 0 or refill_time 0 (or a refill time
 * whose nanoseconds overflow u64) is not an error, it means "no limit", so it
 * is stored unset and reads back as null. */
#include <stdint.h>

#include "resources_internal.h"

static const struct jx_field bucket_fields[] = {
	{ .name = "size", .kind = JX_U64, .flags = JX_REQ },
	{ .name = "one_time_burst", .kind = JX_U64, .flags = JX_NULL },
	{ .name = "refill_time", .kind = JX_U64, .flags = JX_REQ },
};
const struct jx_struct res_bucket_spec = { "TokenBucketConfig", bucket_fields,
					   JX_NFIELDS(bucket_fields) };

static const struct jx_field rl_fields[] = {
	{ .name = "bandwidth", .kind = JX_STRUCT, .flags = JX_NULL, .sub = &res_bucket_spec },
	{ .name = "ops", .kind = JX_STRUCT, .flags = JX_NULL, .sub = &res_bucket_spec },
};
const struct jx_struct res_rl_spec = { "RateLimiterConfig", rl_fields, JX_NFIELDS(rl_fields) };

#define NS_PER_MS 1000000ULL

void res_bucket_from_json(const json_t *obj, struct res_bucket *b)
{
	*b = (struct res_bucket){ 0 };
	if (!obj || json_is_null(obj))
		return;
	uint64_t size = jx_get_uint(obj, "size", 0);
	uint64_t refill = jx_get_uint(obj, "refill_time", 0);
	if (!size || !refill || refill > UINT64_MAX / NS_PER_MS)
		return;
	*b = (struct res_bucket){ .set = true, .size = size, .refill_time_ms = refill,
				  .one_time_burst = jx_get_uint(obj, "one_time_burst", 0) };
}

void res_rl_from_json(const json_t *obj, struct res_rate_limiter *rl)
{
	res_bucket_from_json(jx_get(obj, "bandwidth"), &rl->bandwidth);
	res_bucket_from_json(jx_get(obj, "ops"), &rl->ops);
}

static void bucket_update(const json_t *obj, struct res_bucket_update *u)
{
	*u = (struct res_bucket_update){ .op = RES_BUCKET_KEEP };
	if (!obj)
		return;
	res_bucket_from_json(obj, &u->b);
	u->op = u->b.set ? RES_BUCKET_SET : RES_BUCKET_DISABLE;
}

void res_rl_update_from_json(const json_t *obj, struct res_rl_update *u)
{
	bucket_update(jx_get(obj, "bandwidth"), &u->bandwidth);
	bucket_update(jx_get(obj, "ops"), &u->ops);
}

static void apply_bucket(struct res_bucket *b, const struct res_bucket_update *u)
{
	if (u->op == RES_BUCKET_SET)
		*b = u->b;
	else if (u->op == RES_BUCKET_DISABLE)
		*b = (struct res_bucket){ 0 };
}

void res_rl_update_apply(struct res_rate_limiter *rl, const struct res_rl_update *u)
{
	apply_bucket(&rl->bandwidth, &u->bandwidth);
	apply_bucket(&rl->ops, &u->ops);
}

/* TokenBucketConfig as Firecracker serializes it: one_time_burst 0 is None. */
json_t *res_bucket_json(const struct res_bucket *b)
{
	if (!b->set)
		return json_null();
	json_t *burst = b->one_time_burst ? json_integer((json_int_t)b->one_time_burst) : json_null();
	return json_pack("{s:I, s:o, s:I}", "size", (json_int_t)b->size, "one_time_burst", burst,
			 "refill_time", (json_int_t)b->refill_time_ms);
}

json_t *res_rl_json(const struct res_rate_limiter *rl)
{
	if (!rl->bandwidth.set && !rl->ops.set)
		return json_null();
	return json_pack("{s:o, s:o}", "bandwidth", res_bucket_json(&rl->bandwidth), "ops",
			 res_bucket_json(&rl->ops));
}
