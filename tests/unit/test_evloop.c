/* The VMM thread's event loop: a handler deleted by an earlier callback of
 * the same epoll batch is not called (a device torn down mid-batch). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cmocka.h>

#include "ember/evloop.h"

struct pair {
	struct evloop *l;
	struct evloop_handler a, b, c;
	int calls_a, calls_b;
};

static void on_c(struct evloop_handler *h, uint32_t ev)
{
	struct pair *p = h->ctx;

	evloop_del(p->l, h);
	evloop_stop(p->l);
}

/* The first of a/b to run deletes both and arms c, which ends the loop on
 * the next batch. */
static void first(struct pair *p)
{
	uint64_t one = 1;

	evloop_del(p->l, &p->a);
	evloop_del(p->l, &p->b);
	assert_int_equal(write(p->c.fd, &one, 8), 8);
	assert_int_equal(evloop_add(p->l, &p->c, 1 /* EPOLLIN */), 0);
}

static void on_a(struct evloop_handler *h, uint32_t ev)
{
	struct pair *p = h->ctx;

	p->calls_a++;
	first(p);
}

static void on_b(struct evloop_handler *h, uint32_t ev)
{
	struct pair *p = h->ctx;

	p->calls_b++;
	first(p);
}

static void test_del_in_batch(void **state)
{
	struct evloop l;
	struct pair p = { .l = &l };
	uint64_t one = 1;

	assert_int_equal(evloop_init(&l), 0);
	p.a = (struct evloop_handler){ eventfd(0, EFD_CLOEXEC), on_a, &p };
	p.b = (struct evloop_handler){ eventfd(0, EFD_CLOEXEC), on_b, &p };
	p.c = (struct evloop_handler){ eventfd(0, EFD_CLOEXEC), on_c, &p };
	assert_int_equal(write(p.a.fd, &one, 8), 8);
	assert_int_equal(write(p.b.fd, &one, 8), 8);
	assert_int_equal(evloop_add(&l, &p.a, 1 /* EPOLLIN */), 0);
	assert_int_equal(evloop_add(&l, &p.b, 1), 0);
	/* Both events come in one batch: without the scrub, whichever
	 * handler runs second would run too, after being deleted. */
	assert_int_equal(evloop_run(&l), 0);
	assert_int_equal(p.calls_a + p.calls_b, 1);
	close(p.a.fd);
	close(p.b.fd);
	close(p.c.fd);
	evloop_destroy(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_del_in_batch) };

	return cmocka_run_group_tests(tests, NULL, NULL);
}
