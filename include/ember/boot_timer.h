/* Boot timer pseudo-device at 0xc0000000 (--boot-timer): a 1-byte write of
 * 123 at offset 0 logs "Guest-boot-time = N us M ms, C CPU us D CPU ms",
 * measured from `start` (taken when the VM build began). */
#ifndef EMBER_BOOT_TIMER_H
#define EMBER_BOOT_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#define BOOT_TIMER_MAGIC 123
#define BOOT_TIMER_SIZE 0x1000

struct boot_timer {
	uint64_t start_wall_us; /* CLOCK_MONOTONIC */
	uint64_t start_cpu_us;  /* CLOCK_PROCESS_CPUTIME_ID */
};

void boot_timer_start(struct boot_timer *bt);
void boot_timer_io(void *ctx, uint64_t off, uint8_t *data, uint32_t len, bool is_write);

#endif
