/* serial.c: the 16550A register model, RX FIFO, output and interrupt edges. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>

#include "test_util.h"
#include "ember/serial.h"

enum { THR = 0, IER, IIR, LCR, MCR, LSR, MSR, SCR };
#define FCR IIR
#define RBR THR

struct fx { struct serial *s; int rd, wr, efd; };

static int setup(void **state)
{
	static struct fx f;
	int p[2];

	if (pipe2(p, O_NONBLOCK | O_CLOEXEC))
		return -1;
	f.rd = p[0];
	f.wr = p[1];
	f.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	f.s = serial_new(f.wr, f.efd);
	if (f.efd < 0 || !f.s)
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	serial_free(f->s);
	close(f->rd);
	close(f->wr);
	close(f->efd);
	return 0;
}

static void wr(struct fx *f, unsigned off, uint8_t v)
{
	io_wr(serial_io, f->s, off, v);
}

static uint8_t rd(struct fx *f, unsigned off)
{
	return io_rd(serial_io, f->s, off);
}

/* Interrupt edges signalled since the last call. */
static uint64_t irqs(struct fx *f)
{
	return efd_take(f->efd);
}

static void test_tx_to_pipe(void **state)
{
	struct fx *f = *state;
	struct serial_stats st;
	char buf[16] = { 0 };

	assert_int_equal(rd(f, LSR) & 0x60, 0x60); /* THRE | TEMT */
	for (const char *p = "hi\n"; *p; p++)
		wr(f, THR, (uint8_t)*p);
	assert_int_equal(read(f->rd, buf, sizeof(buf)), 3);
	assert_string_equal(buf, "hi\n");
	serial_get_stats(f->s, &st);
	assert_int_equal(st.tx_bytes, 3);
	assert_int_equal(st.dropped_bytes, 0);
	assert_int_equal(irqs(f), 0); /* IER is 0 */
}

static void test_dlab(void **state)
{
	struct fx *f = *state;
	char c;

	assert_int_equal(rd(f, LCR), 0x03);
	wr(f, LCR, 0x83);
	assert_int_equal(rd(f, THR), 12); /* default divisor: 9600 baud */
	assert_int_equal(rd(f, IER), 0);
	wr(f, THR, 0x01);
	wr(f, IER, 0x02);
	assert_int_equal(rd(f, THR), 0x01);
	assert_int_equal(rd(f, IER), 0x02);
	assert_int_equal(read(f->rd, &c, 1), -1); /* divisor writes are not output */
	wr(f, LCR, 0x03);
	assert_int_equal(rd(f, IER), 0); /* DLM did not land in IER */
	assert_int_equal(irqs(f), 0);
	wr(f, LCR, 0x80);
	assert_int_equal(rd(f, THR), 0x01);
	assert_int_equal(rd(f, IER), 0x02);
}

static void test_thre_irq(void **state)
{
	struct fx *f = *state;
	struct serial_stats st;
	char buf[4];

	assert_int_equal(rd(f, IIR), 0x01);
	wr(f, FCR, 0x07);
	assert_int_equal(rd(f, IIR), 0xc1); /* FIFO bits: 16550A */
	wr(f, IER, 0x02);
	assert_int_equal(irqs(f), 1);
	assert_int_equal(rd(f, IIR), 0xc2);
	assert_int_equal(rd(f, IIR), 0xc1); /* reading IIR acknowledged it */
	wr(f, THR, 'x');		    /* THR empties at once: re-armed */
	assert_int_equal(irqs(f), 1);
	assert_int_equal(rd(f, IIR), 0xc2);
	/* Linux's UART_BUG_THRE probe: THRE again on re-enable. */
	wr(f, IER, 0x00);
	wr(f, IER, 0x02);
	assert_int_equal(irqs(f), 1);
	assert_int_equal(rd(f, IIR), 0xc2);
	wr(f, IER, 0x00);
	assert_int_equal(rd(f, IIR), 0xc1);
	serial_get_stats(f->s, &st);
	assert_int_equal(st.irqs, 3);
	assert_int_equal(read(f->rd, buf, sizeof(buf)), 1);
}

static void test_rx(void **state)
{
	struct fx *f = *state;
	struct serial_stats st;

	assert_int_equal(rd(f, LSR) & 0x01, 0);
	assert_int_equal(serial_input(f->s, (const uint8_t *)"ab", 2), 2);
	assert_int_equal(rd(f, LSR) & 0x01, 0x01);
	assert_int_equal(irqs(f), 0); /* RDI not enabled */
	wr(f, IER, 0x01);
	assert_int_equal(irqs(f), 1); /* enabling with data waiting raises it */
	assert_int_equal(rd(f, IIR), 0x04);
	assert_int_equal(rd(f, RBR), 'a');
	assert_int_equal(rd(f, IIR), 0x04);
	assert_int_equal(rd(f, RBR), 'b');
	assert_int_equal(rd(f, LSR) & 0x01, 0);
	assert_int_equal(rd(f, IIR), 0x01);
	assert_int_equal(serial_input(f->s, (const uint8_t *)"c", 1), 1);
	assert_int_equal(irqs(f), 1); /* a fresh edge */
	assert_int_equal(serial_input(f->s, (const uint8_t *)"d", 1), 1);
	assert_int_equal(irqs(f), 0); /* line already up */
	serial_get_stats(f->s, &st);
	assert_int_equal(st.rx_bytes, 4);
}

static void test_rx_priority(void **state)
{
	struct fx *f = *state;

	assert_int_equal(serial_input(f->s, (const uint8_t *)"z", 1), 1);
	wr(f, IER, 0x03);
	assert_int_equal(irqs(f), 1);
	assert_int_equal(rd(f, IIR), 0x04); /* RX data beats THRE */
	assert_int_equal(rd(f, RBR), 'z');
	assert_int_equal(rd(f, IIR), 0x02);
	assert_int_equal(rd(f, IIR), 0x01);
	assert_int_equal(irqs(f), 0);
}

static void test_fifo_full(void **state)
{
	struct fx *f = *state;
	uint8_t in[100];

	for (int i = 0; i < 100; i++)
		in[i] = (uint8_t)i;
	assert_int_equal(serial_rx_room(f->s), SERIAL_FIFO_SIZE);
	assert_int_equal(serial_input(f->s, in, sizeof(in)), SERIAL_FIFO_SIZE);
	assert_int_equal(serial_rx_room(f->s), 0);
	assert_int_equal(serial_input(f->s, in, 1), 0);
	assert_int_equal(rd(f, RBR), 0);
	assert_int_equal(serial_rx_room(f->s), 1);
	assert_int_equal(serial_input(f->s, in + 70, 5), 1);
	for (int i = 1; i < SERIAL_FIFO_SIZE; i++)
		assert_int_equal(rd(f, RBR), i);
	assert_int_equal(rd(f, RBR), 70); /* wrapped around the ring in order */
	assert_int_equal(rd(f, LSR) & 0x01, 0);
	assert_int_equal(serial_rx_room(f->s), SERIAL_FIFO_SIZE);
}

static void test_loopback(void **state)
{
	struct fx *f = *state;
	struct serial_stats st;
	char c;

	assert_int_equal(rd(f, MSR) & 0xf0, 0xb0); /* DCD DSR CTS: modem connected */
	wr(f, MCR, 0x1a);			   /* LOOP | OUT2 | RTS, Linux's probe */
	assert_int_equal(rd(f, MSR) & 0xf0, 0x90);
	wr(f, IER, 0x01);
	wr(f, THR, 'L');
	assert_int_equal(read(f->rd, &c, 1), -1); /* nothing left the UART */
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(rd(f, LSR) & 0x01, 0x01);
	assert_int_equal(irqs(f), 1);
	assert_int_equal(rd(f, RBR), 'L');
	/* Overrun in loopback: OE reported once. */
	for (int i = 0; i < SERIAL_FIFO_SIZE + 1; i++)
		wr(f, THR, 'o');
	assert_int_equal(rd(f, LSR) & 0x03, 0x03);
	assert_int_equal(rd(f, LSR) & 0x03, 0x01);
	wr(f, MCR, 0x08);
	assert_int_equal(rd(f, MSR), 0xb0 | 0x02); /* DSR came back: delta */
	assert_int_equal(rd(f, MSR), 0xb0);
	wr(f, THR, '!');
	assert_int_equal(read(f->rd, &c, 1), 1);
	assert_int_equal(c, '!');
	serial_get_stats(f->s, &st);
	assert_int_equal(st.tx_bytes, 1);
}

static void test_output_full_drops(void **state)
{
	struct fx *f = *state;
	struct serial_stats st;
	char junk[4096];

	memset(junk, 'j', sizeof(junk));
	while (write(f->wr, junk, sizeof(junk)) > 0)
		;
	while (write(f->wr, junk, 1) > 0)
		;
	wr(f, THR, 'A'); /* must return, not block */
	wr(f, THR, 'B');
	serial_get_stats(f->s, &st);
	assert_int_equal(st.dropped_bytes, 2);
	assert_int_equal(st.tx_bytes, 0);
}

static void test_odd_accesses(void **state)
{
	struct fx *f = *state;
	uint8_t d[2] = { 0, 0 };

	wr(f, SCR, 0x5c);
	assert_int_equal(rd(f, SCR), 0x5c);
	serial_io(f->s, SCR, d, 2, false);
	assert_int_equal(d[0], 0xff);
	assert_int_equal(d[1], 0xff);
	d[0] = 0x11;
	serial_io(f->s, SCR, d, 2, true);
	assert_int_equal(rd(f, SCR), 0x5c);
	serial_io(f->s, 8, d, 1, false);
	assert_int_equal(d[0], 0xff);
	wr(f, LSR, 0x00); /* read-only */
	assert_int_equal(rd(f, LSR), 0x60);
	wr(f, IER, 0xff);
	assert_int_equal(rd(f, IER), 0x0f); /* Linux's scratch probe: low nibble only */
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_tx_to_pipe),   T(test_dlab),	T(test_thre_irq),
		T(test_rx),	      T(test_rx_priority), T(test_fifo_full),
		T(test_loopback),     T(test_output_full_drops), T(test_odd_accesses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
