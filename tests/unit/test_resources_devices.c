/* VmResources block and pmem devices: PUT/PATCH bodies with Firecracker's
 * rules and messages, root-device ordering, replace semantics, the virtio
 * IRQ budget, and "untouched on error". */
#include "test_res_util.h"

#define DRIVE_FIELDS "one of `drive_id`, `partuuid`, `is_root_device`, `cache_type`, " \
		     "`is_read_only`, `path_on_host`, `rate_limiter`, `io_engine`, `socket`"
#define DCE "Drive config error: "
#define CREATE DCE "Unable to create the virtio block device: "
#define PATCH DCE "Unable to patch the block device: "
#define HINT " Please verify the request arguments."

static int patch_drive(struct vm_resources *r, struct res_drive_update *u, const char *id,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int patch_drive(struct vm_resources *r, struct res_drive_update *u, const char *id,
		       const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	json_t *j = vJ(fmt, ap);
	va_end(ap);
	memset(err, 0, sizeof(err));
	int rc = res_patch_drive(r, id, j, u, err, sizeof(err));
	json_decref(j);
	return rc;
}

static void test_drive_valid(void **state)
{
	struct vm_resources r;
	res_init(&r);
	int fds = count_fds();
	EXPECT(put_drive(&r, "rootfs", "{\"drive_id\": \"rootfs\", \"is_root_device\": true, "
			 "\"path_on_host\": \"%s\"}", disk[0]), 0, NULL);
	assert_int_equal(r.n_drives, 1);
	struct res_drive *d = &r.drives[0];
	assert_string_equal(d->id, "rootfs");
	assert_string_equal(d->path, disk[0]);
	assert_true(d->root);
	assert_false(d->read_only);
	assert_null(d->partuuid);
	assert_int_equal(d->cache, RES_CACHE_UNSAFE);
	assert_int_equal(d->engine, RES_IO_SYNC);
	assert_false(d->rl.bandwidth.set || d->rl.ops.set);
	assert_int_equal(fcntl(d->fd, F_GETFL) & O_ACCMODE, O_RDWR);
	assert_true(fcntl(d->fd, F_GETFD) & FD_CLOEXEC);
	assert_int_equal(count_fds(), fds + 1);

	EXPECT(put_drive(&r, "data_1", "{\"drive_id\": \"data_1\", \"is_root_device\": false, "
			 "\"partuuid\": \"0eaa91a0-01\", \"cache_type\": \"Writeback\", "
			 "\"is_read_only\": true, \"path_on_host\": \"%s\", \"io_engine\": \"Async\", "
			 "\"rate_limiter\": {\"bandwidth\": {\"size\": 1000, \"one_time_burst\": 5, "
			 "\"refill_time\": 100}, \"ops\": {\"size\": 10, \"refill_time\": 1000}}, "
			 "\"socket\": null}", ro_img), 0, NULL);
	d = &r.drives[1];
	assert_string_equal(d->partuuid, "0eaa91a0-01");
	assert_int_equal(d->cache, RES_CACHE_WRITEBACK);
	assert_int_equal(d->engine, RES_IO_ASYNC);
	assert_true(d->read_only);
	assert_int_equal(fcntl(d->fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	assert_true(d->rl.bandwidth.set);
	assert_int_equal(d->rl.bandwidth.size, 1000);
	assert_int_equal(d->rl.bandwidth.one_time_burst, 5);
	assert_int_equal(d->rl.bandwidth.refill_time_ms, 100);
	assert_int_equal(d->rl.ops.size, 10);
	assert_int_equal(d->rl.ops.one_time_burst, 0);

	/* every optional as null */
	EXPECT(put_drive(&r, "n", "{\"drive_id\": \"n\", \"is_root_device\": false, \"partuuid\": "
			 "null, \"is_read_only\": null, \"path_on_host\": \"%s\", \"rate_limiter\": "
			 "null, \"io_engine\": null, \"socket\": null}", disk[1]), 0, NULL);
	assert_false(r.drives[2].read_only);
	assert_int_equal(r.drives[2].engine, RES_IO_SYNC);
	res_free(&r);
	assert_int_equal(count_fds(), fds);
	assert_int_equal(r.n_drives, 0);
	(void)state;
}

static void test_drive_shape(void **state)
{
	static const char *const bad[][2] = {
		{ "{\"drive_id\": \"a\", \"is_root_device\": false, \"foo\": 1}",
		  "unknown field `foo`, expected " DRIVE_FIELDS },
		{ "{\"is_root_device\": false}", "missing field `drive_id`" },
		{ "{\"drive_id\": \"a\"}", "missing field `is_root_device`" },
		{ "{\"drive_id\": 1, \"is_root_device\": false}",
		  "invalid type: integer `1`, expected a string" },
		{ "{\"drive_id\": \"a\", \"is_root_device\": \"yes\"}",
		  "invalid type: string \"yes\", expected a boolean" },
		{ "{\"drive_id\": \"a\", \"is_root_device\": null}",
		  "invalid type: null, expected a boolean" },
		{ "{\"drive_id\": \"a\", \"is_root_device\": false, \"cache_type\": \"None\"}",
		  "unknown variant `None`, expected `Unsafe` or `Writeback`" },
		{ "{\"drive_id\": \"a\", \"is_root_device\": false, \"cache_type\": null}",
		  "invalid type: null, expected `Unsafe` or `Writeback`" },
		{ "{\"drive_id\": \"a\", \"is_root_device\": false, \"io_engine\": \"sync\"}",
		  "unknown variant `sync`, expected `Async` or `Sync`" },
		{ "{\"drive_id\": \"a\", \"is_root_device\": false, \"is_read_only\": 0}",
		  "invalid type: integer `0`, expected a boolean" },
		{ "{\"drive_id\": \"a\", \"is_root_device\": false, \"path_on_host\": [\"x\"]}",
		  "invalid type: sequence, expected a string" },
		{ "{\"drive_id\": \"a\", \"is_root_device\": false, \"rate_limiter\": 5}",
		  "invalid type: integer `5`, expected struct RateLimiterConfig" },
		{ "{\"drive_id\": \"a\", \"is_root_device\": false, \"rate_limiter\": {\"bw\": {}}}",
		  "unknown field `bw`, expected " RL_FIELDS },
		{ "{\"drive_id\": \"a\", \"is_root_device\": false, \"rate_limiter\": "
		  "{\"ops\": {\"size\": 1}}}", "missing field `refill_time`" },
		{ "{\"drive_id\": \"a\", \"is_root_device\": false, \"rate_limiter\": "
		  "{\"ops\": {\"refill_time\": 1}}}", "missing field `size`" },
		{ "{\"drive_id\": \"a\", \"is_root_device\": false, \"rate_limiter\": "
		  "{\"ops\": {\"size\": -1, \"refill_time\": 1}}}",
		  "invalid value: integer `-1`, expected u64" },
		{ "{\"drive_id\": \"a\", \"is_root_device\": false, \"rate_limiter\": "
		  "{\"ops\": {\"size\": 1.5, \"refill_time\": 1}}}",
		  "invalid type: floating point `1.5`, expected u64" },
		{ "{\"drive_id\": \"a\", \"is_root_device\": false, \"rate_limiter\": "
		  "{\"ops\": {\"size\": 1, \"refill_time\": 1, \"x\": 1}}}",
		  "unknown field `x`, expected " TB_FIELDS },
		{ "{\"drive_id\": \"a\", \"is_root_device\": false, \"rate_limiter\": "
		  "{\"bandwidth\": []}}", "invalid type: sequence, expected struct TokenBucketConfig" },
		{ "[]", "invalid type: sequence, expected struct BlockDeviceConfig" },
		{ "null", "invalid type: null, expected struct BlockDeviceConfig" },
	};
	char msg[1024];
	struct vm_resources r;
	res_init(&r);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(msg, sizeof(msg), DESER "%s.", bad[i][1]);
		EXPECT(put_drive(&r, "a", "%s", bad[i][0]), -EINVAL, msg);
		assert_int_equal(r.n_drives, 0);
	}
	res_free(&r);
	(void)state;
}

static void test_drive_ids(void **state)
{
	struct vm_resources r;
	res_init(&r);
	const char *body = "{\"drive_id\": \"a\", \"is_root_device\": false}";
	EXPECT(put_drive(&r, "", "%s", body), -EINVAL, "The ID cannot be empty.");
	EXPECT(put_drive(&r, NULL, "%s", body), -EINVAL, "The ID cannot be empty.");
	EXPECT(put_drive(&r, "a-b", "%s", body), -EINVAL,
	       "API Resource IDs can only contain alphanumeric characters and underscores.");
	EXPECT(put_drive(&r, "a.b", "%s", body), -EINVAL,
	       "API Resource IDs can only contain alphanumeric characters and underscores.");
	/* the path id is judged before the body, as Firecracker does */
	EXPECT(put_drive(&r, "a b", "{}"), -EINVAL,
	       "API Resource IDs can only contain alphanumeric characters and underscores.");
	EXPECT(put_drive(&r, "b", "{\"drive_id\": \"a\", \"is_root_device\": false, "
			 "\"path_on_host\": \"%s\"}", disk[0]), -EINVAL,
	       "The id from the path does not match the id from the body!");
	/* the body is shape-checked before the ids are compared */
	EXPECT(put_drive(&r, "b", "{\"drive_id\": \"a\"}"), -EINVAL,
	       DESER "missing field `is_root_device`.");
	EXPECT(put_drive(&r, "Ab_9", "{\"drive_id\": \"Ab_9\", \"is_root_device\": false, "
			 "\"path_on_host\": \"%s\"}", disk[0]), 0, NULL);
	assert_int_equal(r.n_drives, 1);
	res_free(&r);
	(void)state;
}

static void test_drive_backing_errors(void **state)
{
	char msg[512];
	struct vm_resources r;
	res_init(&r);
	int fds = count_fds();
	EXPECT(put_drive(&r, "a", "{\"drive_id\": \"a\", \"is_root_device\": false, "
			 "\"path_on_host\": \"%s/nope\"}", dir), -ENOENT, NULL);
	snprintf(msg, sizeof(msg), CREATE "Virtio backend error: Error manipulating the backing "
		 "file: No such file or directory (os error 2) %s/nope", dir);
	assert_string_equal(err, msg);
	EXPECT(put_drive(&r, "a", "{\"drive_id\": \"a\", \"is_root_device\": false, "
			 "\"path_on_host\": \"%s\", \"is_read_only\": true}", subdir), -EISDIR, NULL);
	assert_non_null(strstr(err, "Is a directory (os error 21)"));
	if (geteuid() != 0) { /* root may open a 0444 file read-write */
		EXPECT(put_drive(&r, "a", "{\"drive_id\": \"a\", \"is_root_device\": false, "
				 "\"path_on_host\": \"%s\"}", ro_img), -EACCES, NULL);
		assert_non_null(strstr(err, "Permission denied (os error 13)"));
	}
	EXPECT(put_drive(&r, "a", "{\"drive_id\": \"a\", \"is_root_device\": false}"), -EINVAL,
	       CREATE "Invalid block config.");
	EXPECT(put_drive(&r, "a", "{\"drive_id\": \"a\", \"is_root_device\": false, \"socket\": "
			 "\"/s\"}"), -EINVAL,
	       CREATE "vhost-user block devices (`socket`) are not supported by ember.");
	EXPECT(put_drive(&r, "a", "{\"drive_id\": \"a\", \"is_root_device\": false, \"socket\": "
			 "\"/s\", \"path_on_host\": \"%s\"}", disk[0]), -EINVAL,
	       CREATE "Invalid block config.");
	EXPECT(put_drive(&r, "a", "{\"drive_id\": \"a\", \"is_root_device\": false, \"socket\": "
			 "\"/s\", \"io_engine\": \"Sync\"}"), -EINVAL, CREATE "Invalid block config.");
	EXPECT(put_drive(&r, "a", "{\"drive_id\": \"a\", \"is_root_device\": true, \"partuuid\": "
			 "\"ab init=/bin/sh\", \"path_on_host\": \"%s\"}", disk[0]), -EINVAL,
	       DCE "The partuuid may not contain spaces or control characters.");
	assert_int_equal(r.n_drives, 0);
	assert_int_equal(count_fds(), fds);
	res_free(&r);
	(void)state;
}

static void put_ok(struct vm_resources *r, const char *id, bool root, int d)
{
	EXPECT(put_drive(r, id, "{\"drive_id\": \"%s\", \"is_root_device\": %s, "
			 "\"path_on_host\": \"%s\"}", id, root ? "true" : "false", disk[d]), 0, NULL);
}

static void expect_order(const struct vm_resources *r, const char *ids)
{
	char got[256] = "";
	for (size_t i = 0; i < r->n_drives; i++) {
		strcat(got, r->drives[i].id);
		strcat(got, i + 1 < r->n_drives ? "," : "");
	}
	assert_string_equal(got, ids);
}

static void test_drive_root_and_replace(void **state)
{
	struct vm_resources r;
	res_init(&r);
	int fds = count_fds();
	put_ok(&r, "a", false, 0);
	put_ok(&r, "b", false, 1);
	put_ok(&r, "root", true, 2); /* a new root goes first */
	expect_order(&r, "root,a,b");
	EXPECT(put_drive(&r, "c", "{\"drive_id\": \"c\", \"is_root_device\": true, "
			 "\"path_on_host\": \"%s\"}", disk[3]), -EINVAL,
	       DCE "A root block device already exists!");
	EXPECT(put_drive(&r, "b", "{\"drive_id\": \"b\", \"is_root_device\": true, "
			 "\"path_on_host\": \"%s\"}", disk[3]), -EINVAL,
	       DCE "A root block device already exists!");
	expect_order(&r, "root,a,b");
	assert_int_equal(count_fds(), fds + 3);

	/* replacing the root keeps it first and closes the old file */
	int old = r.drives[0].fd;
	put_ok(&r, "root", true, 3);
	assert_false(fd_open(old) && old != r.drives[0].fd);
	assert_string_equal(r.drives[0].path, disk[3]);
	expect_order(&r, "root,a,b");
	assert_int_equal(count_fds(), fds + 3);
	/* demoting the root leaves it in place; then another drive may become root,
	 * swapped to the front as Firecracker does */
	put_ok(&r, "root", false, 2);
	put_ok(&r, "b", true, 1);
	expect_order(&r, "b,a,root");
	assert_true(r.drives[0].root);
	assert_int_equal(count_fds(), fds + 3);
	res_free(&r);
	assert_int_equal(count_fds(), fds);
	(void)state;
}

static void test_drive_untouched_on_error(void **state)
{
	struct vm_resources r;
	res_init(&r);
	put_ok(&r, "a", true, 0);
	struct res_drive before = r.drives[0];
	EXPECT(put_drive(&r, "a", "{\"drive_id\": \"a\", \"is_root_device\": true, "
			 "\"path_on_host\": \"%s/missing\"}", dir), -ENOENT, NULL);
	EXPECT(put_drive(&r, "a", "{\"drive_id\": \"a\", \"is_root_device\": true, "
			 "\"path_on_host\": \"%s\", \"cache_type\": 1}", disk[1]), -EINVAL, NULL);
	assert_int_equal(r.n_drives, 1);
	assert_memory_equal(&before, &r.drives[0], sizeof(before));
	assert_true(fd_open(r.drives[0].fd));
	res_free(&r);
	(void)state;
}

/* Firecracker's legacy GSIs 5..23: nineteen virtio devices at most. */
static void test_virtio_cap(void **state)
{
	char id[16];
	struct vm_resources r;
	res_init(&r);
	for (int i = 0; i < RES_MAX_VIRTIO_DEVS; i++) {
		snprintf(id, sizeof(id), "d%d", i);
		put_ok(&r, id, false, i % 4);
	}
	const char *full = "Too many virtio devices: ember supports at most 19 (legacy IRQs 5 to 23).";
	char msg[256];
	snprintf(msg, sizeof(msg), DCE "%s", full);
	EXPECT(put_drive(&r, "d19", "{\"drive_id\": \"d19\", \"is_root_device\": false, "
			 "\"path_on_host\": \"%s\"}", disk[0]), -ENOSPC, msg);
	put_ok(&r, "d3", true, 1); /* replacing needs no new IRQ */
	snprintf(msg, sizeof(msg), "Balloon config error: %s", full);
	EXPECT(put_body(res_put_balloon, &r, "{\"amount_mib\": 0, \"deflate_on_oom\": false}"),
	       -ENOSPC, msg);
	snprintf(msg, sizeof(msg), "Network config error: %s", full);
	EXPECT(put_id(res_put_net, &r, "e", "{\"iface_id\": \"e\", \"host_dev_name\": \"t\"}"),
	       -ENOSPC, msg);
	EXPECT(put_body(res_put_entropy, &r, "{}"), -ENOSPC, NULL);
	EXPECT(put_body(res_put_memory_hotplug, &r, "{\"total_size_mib\": 128}"), -ENOSPC, NULL);
	EXPECT(put_id(res_put_pmem, &r, "p", "{\"id\": \"p\", \"path_on_host\": \"/x\"}"), -ENOSPC,
	       NULL);
	json_t *v = J("{\"guest_cid\": 3, \"uds_path\": \"/v\"}");
	assert_int_equal(res_put_vsock(&r, v, NULL, err, sizeof(err)), -ENOSPC);
	json_decref(v);
	assert_int_equal(r.n_drives, RES_MAX_VIRTIO_DEVS);
	res_free(&r);
	(void)state;
}

static void test_drive_patch(void **state)
{
	struct vm_resources r;
	struct res_drive_update u;
	char msg[512];
	res_init(&r);
	put_ok(&r, "a", true, 0);
	EXPECT(put_drive(&r, "ro", "{\"drive_id\": \"ro\", \"is_root_device\": false, "
			 "\"is_read_only\": true, \"path_on_host\": \"%s\"}", ro_img), 0, NULL);
	int fds = count_fds();

	EXPECT(patch_drive(&r, &u, "x", "{\"drive_id\": \"x\", \"path_on_host\": \"/p\"}"), -EINVAL,
	       PATCH "Failed perform action on device: Device not found" HINT);
	EXPECT(patch_drive(&r, &u, "a", "{\"drive_id\": \"b\"}"), -EINVAL,
	       "The id from the path does not match the id from the body!");
	EXPECT(patch_drive(&r, &u, "a-", "{\"drive_id\": \"a\"}"), -EINVAL,
	       "API Resource IDs can only contain alphanumeric characters and underscores.");
	EXPECT(patch_drive(&r, &u, "a", "{\"drive_id\": \"a\", \"is_read_only\": true}"), -EINVAL,
	       DESER "unknown field `is_read_only`, expected one of `drive_id`, `path_on_host`, "
	       "`rate_limiter`.");
	EXPECT(patch_drive(&r, &u, "a", "{\"path_on_host\": \"/p\"}"), -EINVAL,
	       DESER "missing field `drive_id`.");
	EXPECT(patch_drive(&r, &u, "a", "{\"drive_id\": \"a\"}"), -EINVAL,
	       PATCH "Block: Running method expected different backend." HINT);
	EXPECT(patch_drive(&r, &u, "a", "{\"drive_id\": \"a\", \"path_on_host\": \"%s/none\"}", dir),
	       -ENOENT, NULL);
	snprintf(msg, sizeof(msg), PATCH "Block: Virtio backend error: Error manipulating the "
		 "backing file: No such file or directory (os error 2) %s/none" HINT, dir);
	assert_string_equal(err, msg);
	res_drive_update_free(&u);
	assert_int_equal(count_fds(), fds);

	/* a valid PATCH changes nothing until committed */
	char body[512];
	snprintf(body, sizeof(body), "{\"drive_id\": \"a\", \"path_on_host\": \"%s\", "
		 "\"rate_limiter\": {\"bandwidth\": {\"size\": 5, \"refill_time\": 7}, "
		 "\"ops\": {\"size\": 0, \"refill_time\": 7}}}", disk[1]);
	EXPECT(patch_drive(&r, &u, "a", "%s", body), 0, NULL);
	assert_int_equal(u.index, 0);
	assert_string_equal(r.drives[0].path, disk[0]);
	assert_string_equal(u.path, disk[1]);
	assert_true(fd_open(u.fd));
	assert_int_equal(fcntl(u.fd, F_GETFL) & O_ACCMODE, O_RDWR);
	assert_int_equal(u.rl.bandwidth.op, RES_BUCKET_SET);
	assert_int_equal(u.rl.ops.op, RES_BUCKET_DISABLE);
	r.drives[0].rl.ops = (struct res_bucket){ .set = true, .size = 1, .refill_time_ms = 1 };
	res_drive_update_commit(&r, &u);
	res_drive_update_free(&u);
	assert_string_equal(r.drives[0].path, disk[1]);
	assert_true(r.drives[0].rl.bandwidth.set);
	assert_int_equal(r.drives[0].rl.bandwidth.size, 5);
	assert_false(r.drives[0].rl.ops.set);
	assert_int_equal(count_fds(), fds); /* the old fd was closed, the new one kept */

	/* a read-only drive's new file is opened read-only; rate_limiter only */
	EXPECT(patch_drive(&r, &u, "ro", "{\"drive_id\": \"ro\", \"path_on_host\": \"%s\"}", ro_img), 0,
	       NULL);
	assert_int_equal(fcntl(u.fd, F_GETFL) & O_ACCMODE, O_RDONLY);
	res_drive_update_free(&u);
	res_drive_update_free(&u);
	EXPECT(patch_drive(&r, &u, "ro", "{\"drive_id\": \"ro\", \"rate_limiter\": {}}"), 0, NULL);
	assert_null(u.path);
	assert_int_equal(u.fd, -1);
	assert_int_equal(u.rl.bandwidth.op, RES_BUCKET_KEEP);
	res_drive_update_commit(&r, &u);
	assert_int_equal(count_fds(), fds);
	res_free(&r);
	(void)state;
}

static void test_pmem(void **state)
{
	struct vm_resources r;
	struct res_pmem_update u;
	res_init(&r);
	EXPECT(put_id(res_put_pmem, &r, "p0", "{\"id\": \"p0\", \"path_on_host\": \"/img\"}"), 0,
	       NULL);
	assert_int_equal(r.n_pmems, 1);
	assert_string_equal(r.pmems[0].path, "/img");
	assert_false(r.pmems[0].root || r.pmems[0].read_only);
	EXPECT(put_id(res_put_pmem, &r, "p1", "{\"id\": \"p1\", \"path_on_host\": \"/r\", "
		      "\"root_device\": true, \"read_only\": true, \"rate_limiter\": {\"ops\": "
		      "{\"size\": 2, \"refill_time\": 3}}}"), 0, NULL);
	assert_true(r.pmems[1].root && r.pmems[1].read_only && r.pmems[1].rl.ops.set);
	EXPECT(put_id(res_put_pmem, &r, "p2", "{\"id\": \"p2\", \"path_on_host\": \"/r\", "
		      "\"root_device\": true}"), -EINVAL,
	       "Pmem config error: A root pmem device already exist");
	EXPECT(put_id(res_put_pmem, &r, "p0", "{\"id\": \"p0\", \"path_on_host\": \"/r\", "
		      "\"root_device\": true}"), -EINVAL,
	       "Pmem config error: A root pmem device already exist");
	EXPECT(put_id(res_put_pmem, &r, "p1", "{\"id\": \"p1\", \"path_on_host\": \"/new\", "
		      "\"root_device\": true}"), 0, NULL);
	assert_string_equal(r.pmems[1].path, "/new");
	assert_int_equal(r.n_pmems, 2);
	/* one root device in all: block and pmem exclude each other */
	EXPECT(put_drive(&r, "rootfs", "{\"drive_id\": \"rootfs\", \"is_root_device\": true, "
			 "\"path_on_host\": \"%s\"}", disk[0]), -EINVAL,
	       DCE "Attempt to add block as a root device while the root device defined as a "
	       "pmem device");
	EXPECT(put_id(res_put_pmem, &r, "p1", "{\"id\": \"p1\", \"path_on_host\": \"/r\"}"), 0,
	       NULL);
	put_ok(&r, "rootfs", true, 0);
	EXPECT(put_id(res_put_pmem, &r, "p1", "{\"id\": \"p1\", \"path_on_host\": \"/r\", "
		      "\"root_device\": true}"), -EINVAL,
	       "Pmem config error: Attempt to add pmem as a root device while the root device "
	       "defined as a block device");
	/* shapes and ids */
	EXPECT(put_id(res_put_pmem, &r, "p9", "{\"id\": \"p9\"}"), -EINVAL,
	       DESER "missing field `path_on_host`.");
	EXPECT(put_id(res_put_pmem, &r, "p9", "{\"id\": \"p9\", \"path_on_host\": \"/r\", "
		      "\"root_device\": null}"), -EINVAL,
	       DESER "invalid type: null, expected a boolean.");
	EXPECT(put_id(res_put_pmem, &r, "p9", "{\"id\": \"p9\", \"path_on_host\": \"/r\", "
		      "\"x\": 1}"), -EINVAL, DESER "unknown field `x`, expected one of `id`, "
	       "`path_on_host`, `root_device`, `read_only`, `rate_limiter`.");
	EXPECT(put_id(res_put_pmem, &r, "p9", "{\"id\": \"p8\", \"path_on_host\": \"/r\"}"),
	       -EINVAL, "The id from the path does not match the id from the body!");
	assert_int_equal(r.n_pmems, 2);

	json_t *j = J("{\"id\": \"p0\", \"rate_limiter\": {\"bandwidth\": {\"size\": 9, "
		      "\"refill_time\": 9}}}");
	EXPECT(res_patch_pmem(&r, "p0", j, &u, err, sizeof(err)), 0, NULL);
	assert_false(r.pmems[0].rl.bandwidth.set);
	res_pmem_update_commit(&r, &u);
	assert_true(r.pmems[0].rl.bandwidth.set);
	EXPECT(res_patch_pmem(&r, "zz", j, &u, err, sizeof(err)), -EINVAL,
	       "The id from the path does not match the id from the body!");
	json_decref(j);
	j = J("{\"id\": \"zz\"}");
	EXPECT(res_patch_pmem(&r, "zz", j, &u, err, sizeof(err)), -EINVAL,
	       "Pmem config error: Unable to patch the pmem device: Failed perform action on "
	       "device: Device not found Please verify the request arguments.");
	json_decref(j);
	j = J("{\"id\": \"p0\", \"path_on_host\": \"/x\"}");
	EXPECT(res_patch_pmem(&r, "p0", j, &u, err, sizeof(err)), -EINVAL,
	       DESER "unknown field `path_on_host`, expected `id` or `rate_limiter`.");
	json_decref(j);
	res_free(&r);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_drive_valid),
		cmocka_unit_test(test_drive_shape),
		cmocka_unit_test(test_drive_ids),
		cmocka_unit_test(test_drive_backing_errors),
		cmocka_unit_test(test_drive_root_and_replace),
		cmocka_unit_test(test_drive_untouched_on_error),
		cmocka_unit_test(test_virtio_cap),
		cmocka_unit_test(test_drive_patch),
		cmocka_unit_test(test_pmem),
	};
	return cmocka_run_group_tests(tests, res_setup, res_teardown);
}
