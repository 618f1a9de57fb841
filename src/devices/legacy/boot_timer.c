/* Boot timer pseudo-device (Firecracker's --boot-timer): the guest writes
 * BOOT_TIMER_MAGIC when it has booted and we log the wall and CPU time spent
 * since the VM build began, in Firecracker's exact words so that its tooling
 * parses our logs. */
#include "ember/boot_timer.h"

#include <time.h>

#include "ember/log.h"

static uint64_t now_us(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void boot_timer_start(struct boot_timer *bt)
{
	bt->start_wall_us = now_us(CLOCK_MONOTONIC);
	bt->start_cpu_us = now_us(CLOCK_PROCESS_CPUTIME_ID);
}

void boot_timer_io(void *ctx, uint64_t off, uint8_t *data, uint32_t len, bool is_write)
{
	const struct boot_timer *bt = ctx;
	unsigned long long wall, cpu;

	if (!is_write) {
		for (uint32_t i = 0; i < len; i++)
			data[i] = 0;
		return;
	}
	/* Only a byte write at offset 0 counts, as in Firecracker. */
	if (len != 1 || off != 0 || data[0] != BOOT_TIMER_MAGIC)
		return;
	wall = now_us(CLOCK_MONOTONIC) - bt->start_wall_us;
	cpu = now_us(CLOCK_PROCESS_CPUTIME_ID) - bt->start_cpu_us;
	/* Width 6 as Firecracker's "{:>6}". Rate-limited: a guest writing the
	 * magic in a loop must not flood the host's log (design.md §8.4). */
	log_ratelimited(LOG_INFO, "Guest-boot-time = %6llu us %llu ms, %6llu CPU us %llu CPU ms",
			wall, wall / 1000, cpu, cpu / 1000);
}
