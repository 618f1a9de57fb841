/* Shared by serial.c (lifecycle, I/O entry, interrupt line, console input
 * and output) and serial_regs.c (the 16550A register file). Every function
 * here runs with s->lock held. */
#ifndef EMBER_SERIAL_INTERNAL_H
#define EMBER_SERIAL_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "ember/serial.h"

enum { RBR_THR, IER, IIR_FCR, LCR, MCR, LSR, MSR, SCR, NR_REGS };

#define IER_RDI 0x01  /* received data available */
#define IER_THRI 0x02 /* transmitter holding register empty */
#define IER_RLSI 0x04 /* receiver line status */
#define IER_MSI 0x08  /* modem status */
#define IIR_NONE 0x01
#define IIR_MSI 0x00
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_FIFO 0xc0 /* "FIFOs enabled": what makes Linux say 16550A */
#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define LCR_DLAB 0x80
#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80

struct serial {
	pthread_mutex_t lock;
	int out_fd, irq_fd;
	uint8_t ier, lcr, mcr, scr, dll, dlm;
	uint8_t msr_delta;  /* MSR bits 0-3, cleared when MSR is read */
	bool fifo_on;       /* FCR bit 0 */
	bool thr_ipending;  /* THRE interrupt armed; cleared by reading IIR */
	bool overrun;       /* LSR.OE, cleared by reading LSR */
	bool line;          /* INTR level last signalled */
	uint8_t fifo[SERIAL_FIFO_SIZE];
	unsigned head, count;
	struct serial_stats st;
};

static inline void rx_push(struct serial *s, uint8_t b)
{
	s->fifo[(s->head + s->count) % SERIAL_FIFO_SIZE] = b;
	s->count++;
}

static inline uint8_t rx_pop(struct serial *s)
{
	uint8_t b;

	if (!s->count)
		return 0;
	b = s->fifo[s->head];
	s->head = (s->head + 1) % SERIAL_FIFO_SIZE;
	s->count--;
	return b;
}

/* The register at `off` (< NR_REGS), with its side effects. */
void serial_reg_write(struct serial *s, unsigned off, uint8_t v);
uint8_t serial_reg_read(struct serial *s, unsigned off);
/* The IIR value: the highest-priority pending interrupt, or IIR_NONE. */
uint8_t serial_iir(const struct serial *s);
/* A byte the guest transmitted, to out_fd (serial.c). */
void serial_emit(struct serial *s, uint8_t b);

#endif
