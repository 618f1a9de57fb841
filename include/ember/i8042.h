/* Minimal i8042 keyboard controller (ports 0x60 data, 0x64 status/command):
 * control register read/write (0x20/0x60), output port (0xD0/0xD1), self
 * test, and command 0xFE (CPU reset) which calls reset_cb. Ctrl-Alt-Del
 * scancodes can be injected; IRQ 1 via irq_fd (eventfd + KVM_IRQFD). */
#ifndef EMBER_I8042_H
#define EMBER_I8042_H

#include <stdbool.h>
#include <stdint.h>

struct i8042;
typedef void (*i8042_reset_fn)(void *ctx);

struct i8042 *i8042_new(int irq_fd, i8042_reset_fn reset_cb, void *ctx);
void i8042_free(struct i8042 *k);
/* Bus handler for the window [0x60, 0x65): offset 0 = data, 4 = command/status. */
void i8042_io(void *ctx, uint64_t off, uint8_t *data, uint32_t len, bool is_write);
/* Queue Ctrl(0x14) Alt(0x11) Del(0xE0 0x71) make codes and raise IRQ 1; -ENOSPC if the buffer is full. */
int i8042_send_ctrl_alt_del(struct i8042 *k);
uint64_t i8042_reset_count(struct i8042 *k);

#endif
