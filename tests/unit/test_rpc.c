/* rpc_channel: API callers vs a fake VMM thread (ordering, kicks, close). */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ember/rpc.h"

#define NCALLERS 8

static struct rpc_channel ch;

static int setup(void **state)
{
	return rpc_channel_init(&ch);
}

static int teardown(void **state)
{
	rpc_channel_destroy(&ch);
	return 0;
}

static bool kicked(int timeout_ms)
{
	struct pollfd p = { .fd = ch.kick_fd, .events = POLLIN };

	return poll(&p, 1, timeout_ms) == 1;
}

static size_t queued(void)
{
	size_t n = 0;

	pthread_mutex_lock(&ch.lock);
	for (struct rpc_request *r = ch.head; r; r = r->next)
		n++;
	pthread_mutex_unlock(&ch.lock);
	return n;
}

static void wait_queued(size_t n)
{
	for (int i = 0; i < 5000 && queued() < n; i++)
		usleep(1000);
	assert_int_equal(queued(), n);
}

struct caller {
	pthread_t th;
	struct rpc_request req;
	int rc;
};

static void *call_thread(void *arg)
{
	struct caller *c = arg;

	c->rc = rpc_call(&ch, &c->req);
	return NULL;
}

/* The fake VMM thread: answer `n` requests as its epoll loop would. */
static void *vmm_thread(void *arg)
{
	size_t n = (size_t)(uintptr_t)arg, done = 0;

	while (done < n) {
		struct rpc_request *r;
		if (!kicked(5000))
			break;
		while ((r = rpc_next(&ch))) {
			r->status = 200;
			r->reply = json_pack("{s:i, s:s}", "seq", (int)done++, "id", r->id);
			rpc_complete(&ch, r);
		}
	}
	return NULL;
}

static void test_one_call(void **state)
{
	struct rpc_request req = { .route = ROUTE_VERSION, .method = RPC_GET };
	pthread_t vmm;

	req.status = 999;
	req.deprecated = true;
	assert_false(kicked(0));
	assert_int_equal(pthread_create(&vmm, NULL, vmm_thread, (void *)1), 0);
	assert_int_equal(rpc_call(&ch, &req), 0);
	pthread_join(vmm, NULL);
	assert_int_equal(req.status, 200);
	assert_false(req.deprecated); /* reset by rpc_call */
	assert_int_equal(json_integer_value(json_object_get(req.reply, "seq")), 0);
	json_decref(req.reply);
	/* The VMM drained the kick when the queue ran empty. */
	assert_false(kicked(0));
	assert_null(rpc_next(&ch));
}

/* Requests are answered in the order they were queued. */
static void test_fifo_order(void **state)
{
	struct caller c[NCALLERS];
	pthread_t vmm;

	memset(c, 0, sizeof(c));
	for (int i = 0; i < NCALLERS; i++) {
		snprintf(c[i].req.id, sizeof(c[i].req.id), "c%d", i);
		assert_int_equal(pthread_create(&c[i].th, NULL, call_thread, &c[i]), 0);
		wait_queued((size_t)i + 1); /* fixes the queue order */
	}
	assert_true(kicked(0));
	assert_int_equal(pthread_create(&vmm, NULL, vmm_thread, (void *)NCALLERS), 0);
	for (int i = 0; i < NCALLERS; i++) {
		pthread_join(c[i].th, NULL);
		assert_int_equal(c[i].rc, 0);
		assert_int_equal(json_integer_value(json_object_get(c[i].req.reply, "seq")), i);
		assert_string_equal(json_string_value(json_object_get(c[i].req.reply, "id")),
				    c[i].req.id);
		json_decref(c[i].req.reply);
	}
	pthread_join(vmm, NULL);
	assert_false(kicked(0));
}

/* Empty queue: rpc_next drains the eventfd so epoll stops reporting it. */
static void test_next_drains(void **state)
{
	uint64_t one = 1;

	assert_int_equal(write(ch.kick_fd, &one, sizeof(one)), sizeof(one));
	assert_true(kicked(0));
	assert_null(rpc_next(&ch));
	assert_false(kicked(0));
}

/* rpc_close fails queued callers and every later call with -EPIPE. */
static void test_close(void **state)
{
	struct caller c[3];
	struct rpc_request late = { .route = ROUTE_ROOT };

	memset(c, 0, sizeof(c));
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pthread_create(&c[i].th, NULL, call_thread, &c[i]), 0);
		wait_queued((size_t)i + 1);
	}
	rpc_close(&ch);
	for (int i = 0; i < 3; i++) {
		pthread_join(c[i].th, NULL);
		assert_int_equal(c[i].rc, -EPIPE);
		assert_null(c[i].req.reply);
	}
	assert_null(rpc_next(&ch));
	assert_int_equal(rpc_call(&ch, &late), -EPIPE);
	rpc_close(&ch); /* idempotent */
	assert_int_equal(rpc_call(&ch, &late), -EPIPE);
}

/* A request the VMM answered before closing still succeeds. */
static void *answer_then_close(void *arg)
{
	struct rpc_request *r;

	while (!(r = rpc_next(&ch)))
		kicked(100);
	r->status = 204;
	rpc_complete(&ch, r);
	rpc_close(&ch);
	return NULL;
}

static void test_answer_then_close(void **state)
{
	struct rpc_request req = { .route = ROUTE_ACTIONS, .method = RPC_PUT };
	pthread_t vmm;

	assert_int_equal(pthread_create(&vmm, NULL, answer_then_close, NULL), 0);
	assert_int_equal(rpc_call(&ch, &req), 0);
	pthread_join(vmm, NULL);
	assert_int_equal(req.status, 204);
}

static void test_fail(void **state)
{
	struct rpc_request req = { 0 };
	char big[RPC_FAULT_LEN * 2];

	rpc_fail(&req, "Invalid drive %s: %d", "x", 3);
	assert_int_equal(req.status, 400);
	assert_string_equal(req.fault, "Invalid drive x: 3");
	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	rpc_fail(&req, "%s", big);
	assert_int_equal(strlen(req.fault), RPC_FAULT_LEN - 1);
}

static void test_route_names(void **state)
{
	static const struct { enum rpc_route r; const char *name; } want[] = {
		{ ROUTE_ROOT, "instance_info" },   { ROUTE_ACTIONS, "actions" },
		{ ROUTE_BALLOON, "balloon" },	    { ROUTE_BALLOON_STATS, "balloon" },
		{ ROUTE_BOOT_SOURCE, "boot_source" }, { ROUTE_CPU_CONFIG, "cpu_config" },
		{ ROUTE_DRIVES, "drive" },	    { ROUTE_PMEM, "pmem" },
		{ ROUTE_LOGGER, "logger" },	    { ROUTE_MACHINE_CONFIG, "machine_config" },
		{ ROUTE_METRICS, "metrics" },	    { ROUTE_MMDS, "mmds" },
		{ ROUTE_MMDS_CONFIG, "mmds" },	    { ROUTE_ENTROPY, "entropy" },
		{ ROUTE_SERIAL, "serial" },	    { ROUTE_HOTPLUG_MEMORY, "hotplug_memory" },
		{ ROUTE_NETWORK, "network" },	    { ROUTE_SNAPSHOT_CREATE, "snapshot_create" },
		{ ROUTE_SNAPSHOT_LOAD, "snapshot_load" }, { ROUTE_VERSION, "version" },
		{ ROUTE_VM, "vm" },		    { ROUTE_VM_CONFIG, "vm_config" },
		{ ROUTE_VSOCK, "vsock" },
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		assert_string_equal(rpc_route_name(want[i].r), want[i].name);
	for (int r = 0; r < ROUTE__COUNT; r++)
		assert_string_not_equal(rpc_route_name(r), "unknown");
	assert_string_equal(rpc_route_name(ROUTE__COUNT), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fifo_order, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_drains, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close, setup, teardown),
		cmocka_unit_test_setup_teardown(test_answer_then_close, setup, teardown),
		cmocka_unit_test(test_fail),
		cmocka_unit_test(test_route_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
