/* i8042.c: controller commands, keyboard replies, scancode injection, IRQ 1. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "test_util.h"
#include "ember/i8042.h"

#define DATA 0
#define CMD 4

struct fx { struct i8042 *k; int efd; int resets; };

static void on_reset(void *ctx)
{
	((struct fx *)ctx)->resets++;
}

static int setup(void **state)
{
	static struct fx f;

	memset(&f, 0, sizeof(f));
	f.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	f.k = i8042_new(f.efd, on_reset, &f);
	if (f.efd < 0 || !f.k)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	i8042_free(f->k);
	close(f->efd);
	return 0;
}

static void wr(struct fx *f, unsigned off, uint8_t v)
{
	io_wr(i8042_io, f->k, off, v);
}

static uint8_t rd(struct fx *f, unsigned off)
{
	return io_rd(i8042_io, f->k, off);
}

/* Interrupt edges signalled since the last call. */
static uint64_t irqs(struct fx *f)
{
	return efd_take(f->efd);
}

/* Drain the output buffer into out[], return the byte count. */
static int drain(struct fx *f, uint8_t *out, int max)
{
	int n = 0;

	while (n < max && (rd(f, CMD) & 0x01))
		out[n++] = rd(f, DATA);
	return n;
}

static void test_reset(void **state)
{
	struct fx *f = *state;

	assert_int_equal(i8042_reset_count(f->k), 0);
	wr(f, CMD, 0xfe);
	assert_int_equal(f->resets, 1);
	assert_int_equal(i8042_reset_count(f->k), 1);
	wr(f, DATA, 0xfe); /* on the data port it is a keyboard "resend" */
	assert_int_equal(f->resets, 1);
}

static void test_self_tests(void **state)
{
	struct fx *f = *state;

	assert_int_equal(rd(f, CMD) & 0x01, 0);
	wr(f, CMD, 0xaa);
	assert_int_equal(rd(f, CMD) & 0x09, 0x09); /* OBF, last write was a command */
	assert_int_equal(rd(f, DATA), 0x55);
	assert_int_equal(rd(f, CMD) & 0x01, 0);
	wr(f, CMD, 0xab);
	assert_int_equal(rd(f, DATA), 0x00);
	wr(f, CMD, 0x42); /* unknown: ignored */
	assert_int_equal(rd(f, CMD) & 0x01, 0);
}

static void test_control_byte(void **state)
{
	struct fx *f = *state;

	wr(f, CMD, 0x20);
	assert_int_equal(rd(f, DATA), 0x05);
	assert_int_equal(rd(f, CMD) & 0x04, 0x04); /* system flag */
	wr(f, CMD, 0x60);
	wr(f, DATA, 0x71);
	assert_int_equal(rd(f, CMD) & 0x0d, 0x00); /* no OBF, no SYS, data write */
	wr(f, CMD, 0x20);
	assert_int_equal(rd(f, DATA), 0x71);
	wr(f, CMD, 0xae);
	wr(f, CMD, 0x20);
	assert_int_equal(rd(f, DATA), 0x61); /* 0xAE cleared KBDDIS */
	wr(f, CMD, 0xad);
	wr(f, CMD, 0x20);
	assert_int_equal(rd(f, DATA), 0x71);
	/* Output port, whose argument is not a keyboard command. */
	wr(f, CMD, 0xd1);
	wr(f, DATA, 0xff);
	wr(f, CMD, 0xd0);
	assert_int_equal(rd(f, DATA), 0xff);
	assert_int_equal(rd(f, CMD) & 0x01, 0);
	assert_int_equal(f->resets, 0);
}

static void test_ctrl_alt_del(void **state)
{
	static const uint8_t want[] = { 0x14, 0x11, 0xe0, 0x71 };
	struct fx *f = *state;

	assert_int_equal(i8042_send_ctrl_alt_del(f->k), 0);
	assert_int_equal(irqs(f), 1);
	for (size_t i = 0; i < sizeof(want); i++) {
		assert_int_equal(rd(f, CMD) & 0x01, 0x01);
		assert_int_equal(rd(f, DATA), want[i]);
		/* one interrupt per byte that reaches the head */
		assert_int_equal(irqs(f), i + 1 < sizeof(want) ? 1 : 0);
	}
	assert_int_equal(rd(f, CMD) & 0x01, 0);
	/* KBDINT off: bytes queue, no interrupt, until it is enabled. */
	wr(f, CMD, 0x60);
	wr(f, DATA, 0x04);
	assert_int_equal(i8042_send_ctrl_alt_del(f->k), 0);
	assert_int_equal(irqs(f), 0);
	wr(f, CMD, 0x60);
	wr(f, DATA, 0x05);
	assert_int_equal(irqs(f), 1);
	assert_int_equal(rd(f, DATA), 0x14);
}

static void test_keyboard_commands(void **state)
{
	struct fx *f = *state;
	uint8_t out[8];

	wr(f, DATA, 0xff); /* reset: ACK then BAT passed */
	assert_int_equal(irqs(f), 1);
	assert_int_equal(drain(f, out, 8), 2);
	assert_int_equal(out[0], 0xfa);
	assert_int_equal(out[1], 0xaa);
	wr(f, DATA, 0xf2); /* GETID */
	assert_int_equal(drain(f, out, 8), 3);
	assert_int_equal(out[0], 0xfa);
	assert_int_equal(out[1], 0xab);
	assert_int_equal(out[2], 0x83);
	wr(f, DATA, 0xed); /* SETLEDS + argument: two ACKs */
	wr(f, DATA, 0x00);
	assert_int_equal(drain(f, out, 8), 2);
	assert_int_equal(out[0], 0xfa);
	assert_int_equal(out[1], 0xfa);
	wr(f, DATA, 0xf0); /* get scan set */
	wr(f, DATA, 0x00);
	assert_int_equal(drain(f, out, 8), 3);
	assert_int_equal(out[2], 0x02);
	wr(f, DATA, 0xf4); /* enable */
	assert_int_equal(drain(f, out, 8), 1);
	assert_int_equal(out[0], 0xfa);
	assert_int_equal(rd(f, CMD) & 0x08, 0); /* last write was data */
}

static void test_aux_loop(void **state)
{
	struct fx *f = *state;

	/* Echoed without the AUX status bit: Linux concludes there is no AUX. */
	wr(f, CMD, 0xd3);
	wr(f, DATA, 0x5a);
	assert_int_equal(rd(f, CMD) & 0x21, 0x01);
	assert_int_equal(rd(f, DATA), 0x5a);
	wr(f, CMD, 0xa9);
	assert_int_equal(rd(f, DATA), 0x01);
}

static void test_buffer_full(void **state)
{
	struct fx *f = *state;
	uint8_t out[32];

	for (int i = 0; i < 4; i++)
		assert_int_equal(i8042_send_ctrl_alt_del(f->k), 0);
	assert_int_equal(i8042_send_ctrl_alt_del(f->k), -ENOSPC);
	wr(f, DATA, 0xf4); /* ACK has no room: dropped, not crashed */
	assert_int_equal(drain(f, out, 32), 16);
	assert_int_equal(out[15], 0x71);
	/* three bytes of room are not enough for four: all or nothing */
	for (int i = 0; i < 13; i++) {
		wr(f, CMD, 0xd2); /* write keyboard output buffer */
		wr(f, DATA, (uint8_t)i);
	}
	assert_int_equal(i8042_send_ctrl_alt_del(f->k), -ENOSPC);
	assert_int_equal(drain(f, out, 32), 13);
}

static void test_odd_accesses(void **state)
{
	struct fx *f = *state;
	uint8_t d[2] = { 0, 0 };

	i8042_io(f->k, DATA, d, 2, false);
	assert_int_equal(d[0], 0xff);
	assert_int_equal(d[1], 0xff);
	d[0] = 0xfe;
	i8042_io(f->k, CMD, d, 2, true);
	assert_int_equal(f->resets, 0);
	assert_int_equal(rd(f, 1), 0); /* 0x61-0x63 are not ours */
	wr(f, 2, 0xfe);
	assert_int_equal(f->resets, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_reset),	       T(test_self_tests), T(test_control_byte),
		T(test_ctrl_alt_del),  T(test_keyboard_commands), T(test_aux_loop),
		T(test_buffer_full),   T(test_odd_accesses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
