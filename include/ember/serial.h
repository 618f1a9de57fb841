/* 8250/16550 UART (COM1). Output goes to out_fd (non-blocking writes; bytes
 * that do not fit are dropped and counted, never blocking a vCPU). Input is
 * pushed by the event loop with serial_input(). Interrupts are signalled by
 * writing to irq_fd (an eventfd bound to the GSI with KVM_IRQFD). */
#ifndef EMBER_SERIAL_H
#define EMBER_SERIAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct serial;

#define SERIAL_FIFO_SIZE 64

struct serial *serial_new(int out_fd, int irq_fd);
void serial_free(struct serial *s);
/* Bus handler for the 8-port window at 0x3f8. */
void serial_io(void *ctx, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
/* Room left in the receive FIFO (the event loop reads at most this much). */
size_t serial_rx_room(struct serial *s);
/* Queue received bytes; returns how many were taken. */
size_t serial_input(struct serial *s, const uint8_t *buf, size_t len);

struct serial_stats { uint64_t tx_bytes, rx_bytes, dropped_bytes, irqs; };
void serial_get_stats(struct serial *s, struct serial_stats *st);

#endif
