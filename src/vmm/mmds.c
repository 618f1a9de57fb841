/* MMDS data store: PUT replaces, PATCH merges (RFC 7396), GET copies, all
 * bounded by the data-store limit (see mmds.h). VMM thread only. Every write
 * builds a new tree and swaps it in, so a failed request leaves the store
 * exactly as it was. */
#include "ember/mmds.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "ember/json_util.h"
#include "mmds_internal.h"

#define NOT_INIT "MMDS error: The MMDS data store is not initialized."
#define TOO_BIG "MMDS limit exceeded error: The MMDS patch request doesn't fit."
#define NO_MEM "MMDS error: out of memory"

static json_t *store;	  /* the data; JSON null after PUT null; NULL before any PUT */
static bool created;	  /* Firecracker's Option<Arc<Mutex<Mmds>>> is Some */
static bool sealed;	  /* the VM runs: no store can be created any more */
static size_t limit = MMDS_DEFAULT_LIMIT;

void mmds_set_limit(size_t bytes) { limit = bytes; }
void mmds_seal(void) { sealed = true; }
void mmds_store_create(void) { created = true; }
const json_t *mmds_data(void) { return store; }

/* Pre-boot, every request creates the store (locked_mmds_or_default);
 * at runtime only a store created before boot exists. */
static int available(char *err, size_t errlen)
{
	if (sealed && !created)
		return jx_err(err, errlen, NOT_INIT);
	created = true;
	return 0;
}

struct kv {
	const char *key;
	size_t len;
	const json_t *val;
};

/* Byte order, like Rust's String Ord (keys may hold NUL: compare lengths). */
static int kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	int c = memcmp(x->key, y->key, x->len < y->len ? x->len : y->len);

	return c ? c : (x->len > y->len) - (x->len < y->len);
}

static json_t *sorted_copy(const json_t *v);

static json_t *sorted_object(const json_t *v)
{
	json_t *obj = (json_t *)v; /* the iterator API is not const; nothing changes */
	size_t n = json_object_size(v), i = 0;
	struct kv *kv = calloc(n ? n : 1, sizeof(*kv));
	json_t *out = kv ? json_object() : NULL;

	for (void *it = json_object_iter(obj); out && it; it = json_object_iter_next(obj, it))
		kv[i++] = (struct kv){ json_object_iter_key(it), json_object_iter_key_len(it),
				       json_object_iter_value(it) };
	if (out)
		qsort(kv, n, sizeof(*kv), kv_cmp);
	for (i = 0; out && i < n; i++) {
		if (json_object_setn_new(out, kv[i].key, kv[i].len, sorted_copy(kv[i].val))) {
			json_decref(out);
			out = NULL;
		}
	}
	free(kv);
	return out;
}

/* A deep copy whose objects hold their keys in byte order. Also used
 * instead of json_deep_copy(), which cuts object keys at a NUL. */
static json_t *sorted_copy(const json_t *v)
{
	json_t *out;
	size_t i;

	if (json_is_object(v))
		return sorted_object(v);
	if (!json_is_array(v))
		return json_deep_copy(v);
	out = json_array();
	for (i = 0; out && i < json_array_size(v); i++) {
		if (json_array_append_new(out, sorted_copy(json_array_get(v, i)))) {
			json_decref(out);
			out = NULL;
		}
	}
	return out;
}

/* RFC 7396 MergePatch(target, patch): takes ownership of `target` (may be
 * NULL) and returns the owned result, or NULL when out of memory. */
static json_t *merge(json_t *target, const json_t *patch)
{
	json_t *obj = (json_t *)patch; /* iterated only */

	if (!json_is_object(patch)) {
		json_decref(target);
		return sorted_copy(patch);
	}
	if (!json_is_object(target)) {
		json_decref(target);
		if (!(target = json_object()))
			return NULL;
	}
	for (void *it = json_object_iter(obj); it; it = json_object_iter_next(obj, it)) {
		const char *key = json_object_iter_key(it);
		size_t len = json_object_iter_key_len(it);
		const json_t *val = json_object_iter_value(it);
		json_t *child;

		if (json_is_null(val)) {
			json_object_deln(target, key, len);
			continue;
		}
		/* The recursion consumes a reference: lend it one of its own. */
		child = merge(json_incref(json_object_getn(target, key, len)), val);
		if (!child || json_object_setn_new(target, key, len, child)) {
			json_decref(target);
			return NULL;
		}
	}
	return target;
}

/* Swap in `next` (owned) if its compact form fits the limit. */
static int commit(json_t *next, char *err, size_t errlen)
{
	if (!next)
		return jx_err(err, errlen, NO_MEM);
	if (json_dumpb(next, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY) > limit) {
		json_decref(next);
		jx_err(err, errlen, TOO_BIG);
		return -EFBIG;
	}
	json_decref(store);
	store = next;
	return 0;
}

int mmds_put(const json_t *body, char *err, size_t errlen)
{
	if (!body)
		return jx_err(err, errlen, "Empty PUT request.");
	if (available(err, errlen))
		return -EINVAL;
	return commit(sorted_copy(body), err, errlen);
}

int mmds_patch(const json_t *body, char *err, size_t errlen)
{
	json_t *merged;

	if (!body)
		return jx_err(err, errlen, "Empty PATCH request.");
	if (available(err, errlen))
		return -EINVAL;
	if (!store) /* no PUT yet: Firecracker's is_initialized is false */
		return jx_err(err, errlen, NOT_INIT);
	/* A failed copy must not pass for an absent store: merge() would
	 * then patch an empty object and the commit drop the whole store. */
	if (!(merged = sorted_copy(store)))
		return jx_err(err, errlen, NO_MEM);
	merged = merge(merged, body);
	if (!merged)
		return jx_err(err, errlen, NO_MEM);
	/* New keys were appended by the merge: restore byte order. */
	json_t *next = sorted_copy(merged);
	json_decref(merged);
	return commit(next, err, errlen);
}

json_t *mmds_get(char *err, size_t errlen)
{
	json_t *out;

	if (available(err, errlen))
		return NULL;
	out = !store || json_is_null(store) ? json_object() : sorted_copy(store);
	if (!out)
		jx_err(err, errlen, NO_MEM);
	return out;
}

void mmds_reset(void)
{
	json_decref(store);
	store = NULL;
	created = sealed = false;
	limit = MMDS_DEFAULT_LIMIT;
	mmds_cfg_reset();
}
