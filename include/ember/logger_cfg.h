/* Logger configuration: PUT /logger and the config file's "logger" object
 * (Firecracker's LoggerConfig, applied like Logger::update).
 *
 * Fields, all optional: level (Error|Warning|Warn|Info|Debug|Trace|Off, any
 * case; an absent level resets to Info, as Firecracker), log_path (file or
 * FIFO, opened for append and non-blocking), show_level, show_log_origin,
 * module (only lines whose source path starts with it, e.g. "src/devices/";
 * Firecracker matches Rust module paths). Absent booleans and module keep
 * their current values. Firecracker allows any number of updates before boot;
 * the dispatcher refuses PUT /logger after InstanceStart.
 *
 * VMM thread only. The body is fully validated and the file opened before
 * anything changes; on error nothing changed and `err` holds one line. */
#ifndef EMBER_LOGGER_CFG_H
#define EMBER_LOGGER_CFG_H

#include <stddef.h>

#include <jansson.h>

/* Shape only (serde's errors, including "Invalid LevelFilter"), message
 * without prefix: the config-file loader wraps it as "Invalid JSON: ...". */
int logger_cfg_check(const json_t *body, char *err, size_t errlen);

/* Validate and apply. 0, or -EINVAL with the API fault message:
 * JX_DESER_PREFIX "<serde msg>." for shape errors, or
 * "Logger error: Failed to open target file: <strerror> (os error N)". */
int logger_cfg_apply(const json_t *body, char *err, size_t errlen);

/* The effective configuration for GET /vm/config ("logger"): a new object
 * {log_path, level, show_level, show_log_origin, module}, or JSON null when
 * the logger was never configured. NULL only on allocation failure. */
json_t *logger_cfg_json(void);

#endif
