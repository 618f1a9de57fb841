/* Firecracker-compatible metrics (docs/metrics.md of Firecracker): one JSON
 * object per line, written to a file or FIFO by metrics_flush().
 *
 * Line: {"utc_timestamp_ms":N, ["id":"<instance id>",] ["properties":{..},]
 * then every group below, in Firecracker's order, present even for absent
 * devices}. Counters are deltas since the last line that was written; gauges
 * (latencies, start-up times, min/max of *_agg) keep absolute values.
 *
 * Threading: metrics_g and every function here belong to the VMM thread.
 * Counters owned by other threads (vCPU exits, UART bytes, i8042 resets) are
 * never written across threads: the VMM registers a collector with
 * metrics_set_source() that fills their running totals at flush time, and
 * metrics turns totals into deltas. The logger's totals are collected here.
 *
 * Call order (dispatcher):
 *   metrics_set_id(id) at start-up (for "emit_id");
 *   metrics_cfg_apply() for PUT /metrics, the config file and --metrics-path;
 *   metrics_count_api() after every API request;
 *   metrics_flush() every METRICS_FLUSH_PERIOD_S (timerfd), at InstanceStart,
 *   for the FlushMetrics action and at exit. */
#ifndef EMBER_METRICS_H
#define EMBER_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Firecracker's WRITE_METRICS_PERIOD_MS. */
#define METRICS_FLUSH_PERIOD_S 60

/* Latency aggregate: min_us/max_us are gauges, sum_us a counter. */
struct metrics_agg { uint64_t min_us, max_us, sum_us; };

/* Each group: G(group, C = counter, S = gauge, A = agg). Field names are
 * Firecracker's (src/vmm/src/logger/metrics.rs and the devices' metrics). */
#define METRICS_API_SERVER(g, C, S, A) S(g, process_startup_time_us) S(g, process_startup_time_cpu_us)
#define METRICS_BALLOON(g, C, S, A) C(g, activate_fails) C(g, inflate_count) \
	C(g, stats_updates_count) C(g, stats_update_fails) C(g, deflate_count) C(g, event_fails) \
	C(g, free_page_report_count) C(g, free_page_report_freed) C(g, free_page_report_fails) \
	C(g, free_page_hint_count) C(g, free_page_hint_freed) C(g, free_page_hint_fails)
#define METRICS_BLOCK(g, C, S, A) C(g, activate_fails) C(g, cfg_fails) C(g, no_avail_buffer) \
	C(g, event_fails) C(g, execute_fails) C(g, invalid_reqs_count) C(g, flush_count) \
	C(g, queue_event_count) C(g, rate_limiter_event_count) C(g, update_count) \
	C(g, update_fails) C(g, read_bytes) C(g, write_bytes) C(g, read_count) C(g, write_count) \
	A(g, read_agg) A(g, write_agg) C(g, rate_limiter_throttled_events) \
	C(g, io_engine_throttled_events) C(g, remaining_reqs_count)
#define METRICS_DEPRECATED(g, C, S, A) C(g, deprecated_http_api_calls)
#define METRICS_GET(g, C, S, A) C(g, instance_info_count) C(g, machine_cfg_count) \
	C(g, mmds_count) C(g, vmm_version_count) C(g, hotplug_memory_count)
#define METRICS_I8042(g, C, S, A) C(g, error_count) C(g, missed_read_count) \
	C(g, missed_write_count) C(g, read_count) C(g, reset_count) C(g, write_count)
#define METRICS_UART(g, C, S, A) C(g, error_count) C(g, flush_count) C(g, missed_read_count) \
	C(g, missed_write_count) C(g, read_count) C(g, write_count) C(g, rate_limiter_dropped_bytes)
#define METRICS_LATENCIES(g, C, S, A) S(g, full_create_snapshot) S(g, diff_create_snapshot) \
	S(g, load_snapshot) S(g, pause_vm) S(g, resume_vm) S(g, vmm_full_create_snapshot) \
	S(g, vmm_diff_create_snapshot) S(g, vmm_load_snapshot) S(g, vmm_pause_vm) S(g, vmm_resume_vm)
#define METRICS_LOGGER(g, C, S, A) C(g, missed_metrics_count) C(g, metrics_fails) \
	C(g, missed_log_count) C(g, rate_limited_log_count)
#define METRICS_MMDS(g, C, S, A) C(g, rx_accepted) C(g, rx_accepted_err) \
	C(g, rx_accepted_unusual) C(g, rx_bad_eth) C(g, rx_invalid_token) C(g, rx_no_token) \
	C(g, rx_count) C(g, tx_bytes) C(g, tx_count) C(g, tx_errors) C(g, tx_frames) \
	C(g, connections_created) C(g, connections_destroyed)
#define METRICS_NET(g, C, S, A) C(g, activate_fails) C(g, cfg_fails) C(g, no_rx_avail_buffer) \
	C(g, no_tx_avail_buffer) C(g, event_fails) C(g, rx_queue_event_count) \
	C(g, rx_event_rate_limiter_count) C(g, rx_rate_limiter_throttled) C(g, rx_tap_event_count) \
	C(g, rx_bytes_count) C(g, rx_packets_count) C(g, rx_fails) C(g, rx_count) \
	C(g, tap_read_fails) C(g, tap_write_fails) A(g, tap_write_agg) C(g, tx_bytes_count) \
	C(g, tx_malformed_frames) C(g, tx_fails) C(g, tx_count) C(g, tx_packets_count) \
	C(g, tx_queue_event_count) C(g, tx_rate_limiter_event_count) \
	C(g, tx_rate_limiter_throttled) C(g, tx_spoofed_mac_count) C(g, tx_remaining_reqs_count)
#define METRICS_PATCH(g, C, S, A) C(g, drive_count) C(g, drive_fails) C(g, network_count) \
	C(g, network_fails) C(g, machine_cfg_count) C(g, machine_cfg_fails) C(g, mmds_count) \
	C(g, mmds_fails) C(g, hotplug_memory_count) C(g, hotplug_memory_fails) C(g, pmem_count) \
	C(g, pmem_fails)
#define METRICS_PUT(g, C, S, A) C(g, actions_count) C(g, actions_fails) \
	C(g, boot_source_count) C(g, boot_source_fails) C(g, drive_count) C(g, drive_fails) \
	C(g, logger_count) C(g, logger_fails) C(g, machine_cfg_count) C(g, machine_cfg_fails) \
	C(g, cpu_cfg_count) C(g, cpu_cfg_fails) C(g, metrics_count) C(g, metrics_fails) \
	C(g, network_count) C(g, network_fails) C(g, mmds_count) C(g, mmds_fails) \
	C(g, vsock_count) C(g, vsock_fails) C(g, pmem_count) C(g, pmem_fails) \
	C(g, serial_count) C(g, serial_fails) C(g, hotplug_memory_count) C(g, hotplug_memory_fails)
#define METRICS_SECCOMP(g, C, S, A) S(g, num_faults)
#define METRICS_VCPU(g, C, S, A) C(g, exit_io_in) C(g, exit_io_out) C(g, exit_mmio_read) \
	C(g, exit_mmio_write) C(g, failures) C(g, kvmclock_ctrl_fails) A(g, exit_io_in_agg) \
	A(g, exit_io_out_agg) A(g, exit_mmio_read_agg) A(g, exit_mmio_write_agg)
#define METRICS_VMM(g, C, S, A) S(g, panic_count)
#define METRICS_SIGNALS(g, C, S, A) S(g, sigbus) S(g, sigsegv) S(g, sigxfsz) S(g, sigxcpu) \
	C(g, sigpipe) S(g, sighup) S(g, sigill)
#define METRICS_VSOCK(g, C, S, A) C(g, activate_fails) C(g, cfg_fails) \
	C(g, rx_queue_event_fails) C(g, tx_queue_event_fails) C(g, ev_queue_event_fails) \
	C(g, muxer_event_fails) C(g, conn_event_fails) C(g, rx_queue_event_count) \
	C(g, tx_queue_event_count) C(g, rx_bytes_count) C(g, tx_bytes_count) \
	C(g, rx_packets_count) C(g, tx_packets_count) C(g, conns_added) C(g, conns_killed) \
	C(g, conns_removed) C(g, killq_resync) C(g, tx_flush_fails) C(g, tx_write_fails) \
	C(g, rx_read_fails)
#define METRICS_ENTROPY(g, C, S, A) C(g, activate_fails) C(g, entropy_event_fails) \
	C(g, entropy_event_count) C(g, entropy_bytes) C(g, host_rng_fails) \
	C(g, entropy_rate_limiter_throttled) C(g, rate_limiter_event_count)
#define METRICS_PMEM(g, C, S, A) C(g, activate_fails) C(g, cfg_fails) C(g, event_fails) \
	C(g, queue_event_count) C(g, rate_limiter_throttled_events) C(g, rate_limiter_event_count)
#define METRICS_INTERRUPTS(g, C, S, A) C(g, triggers) C(g, config_updates)
#define METRICS_MEM_HOTPLUG(g, C, S, A) C(g, activate_fails) C(g, queue_event_fails) \
	C(g, queue_event_count) A(g, plug_agg) C(g, plug_count) C(g, plug_bytes) C(g, plug_fails) \
	A(g, unplug_agg) C(g, unplug_count) C(g, unplug_bytes) C(g, unplug_fails) \
	C(g, unplug_discard_fails) A(g, unplug_all_agg) C(g, unplug_all_count) \
	C(g, unplug_all_fails) A(g, state_agg) C(g, state_count) C(g, state_fails)

/* Groups in Firecracker's serialization order. The per-device block_<id>
 * and net_<id> groups are added by the device manager's metrics_extra_fn
 * (vmm_devices_metrics_groups); pmem_<id> and vhost_user_<id> do not exist. */
#define METRICS_GROUPS(X) X(api_server, METRICS_API_SERVER) X(balloon, METRICS_BALLOON) \
	X(block, METRICS_BLOCK) X(deprecated_api, METRICS_DEPRECATED) \
	X(get_api_requests, METRICS_GET) X(i8042, METRICS_I8042) X(uart, METRICS_UART) \
	X(latencies_us, METRICS_LATENCIES) X(logger, METRICS_LOGGER) X(mmds, METRICS_MMDS) \
	X(net, METRICS_NET) X(patch_api_requests, METRICS_PATCH) X(put_api_requests, METRICS_PUT) \
	X(seccomp, METRICS_SECCOMP) X(vcpu, METRICS_VCPU) X(vmm, METRICS_VMM) \
	X(signals, METRICS_SIGNALS) X(vsock, METRICS_VSOCK) X(entropy, METRICS_ENTROPY) \
	X(pmem, METRICS_PMEM) X(interrupts, METRICS_INTERRUPTS) \
	X(memory_hotplug, METRICS_MEM_HOTPLUG)

#define METRICS_FIELD_(g, f) uint64_t f;
#define METRICS_AGG_(g, f) struct metrics_agg f;
#define METRICS_GROUP_(g, LIST) struct { LIST(g, METRICS_FIELD_, METRICS_FIELD_, METRICS_AGG_) } g;
/* e.g. metrics_g.vcpu.exit_io_in, metrics_g.latencies_us.pause_vm */
struct metrics { METRICS_GROUPS(METRICS_GROUP_) };

/* The live metrics, VMM thread only: counters are bumped with ++ / +=,
 * gauges are stored. */
extern struct metrics metrics_g;

/* Shape check of a Metrics body, bare serde message (config-file loader). */
int metrics_cfg_check(const json_t *body, char *err, size_t errlen);
/* PUT /metrics body: metrics_path* (file or FIFO, opened O_RDWR|O_APPEND|
 * O_NONBLOCK|O_CREAT like Firecracker's open_file_nonblock, so a FIFO needs
 * no reader), emit_id, properties {str: str}. Once only: a second call fails
 * with "...Reinitialization of metrics not allowed." 0 or -EINVAL with the
 * API fault message ("Metrics error: Cannot initialize the metrics system
 * due to bad user input: <reason>"). */
int metrics_cfg_apply(const json_t *body, char *err, size_t errlen);
bool metrics_configured(void);
/* {"metrics_path", "emit_id"[, "properties"]} or JSON null (GET /vm/config). */
json_t *metrics_cfg_json(void);
/* Instance id for "emit_id" (default "anonymous-instance"). */
void metrics_set_id(const char *id);

/* Collector called at each flush: add the running totals since start of
 * cross-thread counters to `m` (all zero on entry), e.g.
 * m->vcpu.exit_io_in += st.exit_io_in; m->i8042.reset_count = n. Counter
 * totals become deltas here (a total that goes down, e.g. a rebuilt device,
 * counts from zero again); non-zero gauges are copied. One collector; NULL
 * removes it. */
typedef void (*metrics_collect_fn)(struct metrics *m, void *ctx);
void metrics_set_source(metrics_collect_fn collect, void *ctx);

/* Extra per-device groups (Firecracker's block_<id>, net_<id>): called at
 * each flush, after the fixed groups, to add objects to the line; it
 * reports deltas since its previous call. One hook; NULL removes it. */
typedef void (*metrics_extra_fn)(json_t *line, void *ctx);
void metrics_set_extra(metrics_extra_fn fn, void *ctx);

/* Count one API request: method 0 GET, 1 PUT, 2 PATCH; resource is a
 * Firecracker metrics name ("machine_cfg", "drive", ...) or a route name
 * ("machine_config", "drives", "network_interfaces", "version", "root",
 * "cpu_config", "mmds_config", "boot-source", ...). Bumps <res>_count and,
 * when failed, <res>_fails where Firecracker has those fields; anything
 * else (balloon, entropy, vm, snapshot ...) is not counted, as Firecracker. */
void metrics_count_api(int method, const char *resource, bool failed);

/* Write one line. 0 when written (a line a full pipe cut short is finished
 * before the next one, so readers never see torn lines). -ENOTCONN when
 * metrics are not configured (nothing written; Firecracker answers
 * FlushMetrics with 204 then). -errno (-EAGAIN: the FIFO is full) when the
 * line was dropped: nothing ever blocks, the loss is counted in
 * logger.missed_metrics_count (plus logger.metrics_fails for errors other
 * than a full pipe) and the counters keep accumulating, so the next line
 * carries them. Firecracker's FlushMetrics error for that case reads
 * "Internal VMM error: Metrics error: Failed to write metrics: %s (os error %d)"
 * with strerror(-rc), -rc. */
int metrics_flush(void);

/* Close the target and forget the configuration (process exit, tests). */
void metrics_close(void);

#endif
