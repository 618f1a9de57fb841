/* Shared by the cpu_config*.c files: Firecracker's hand-written
 * Deserialize/Serialize impls for template values. Messages are bare. */
#ifndef EMBER_CPU_CONFIG_INTERNAL_H
#define EMBER_CPU_CONFIG_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "ember/cpu_config.h"

/* "0x.." / "0b.." (Rust from_str_radix after the prefix) or decimal, <= max. */
int cpu_config_parse_num(const char *s, uint64_t max, uint64_t *out, char *err, size_t errlen);
/* RegisterValueFilter: optional "0b", then up to `bits` of 0/1/x, '_' ignored. */
int cpu_config_parse_bitmap(const char *s, unsigned bits, uint64_t *mask, uint64_t *value,
			    char *err, size_t errlen);
int cpu_config_parse_reg(const char *s, enum cpu_config_reg *out, char *err, size_t errlen);
/* KvmCapability: "N" or "!N", N a u32 in decimal. */
int cpu_config_parse_cap(const char *s, struct cpu_config_cap *out, char *err, size_t errlen);
/* "0b" + `bits` characters, most significant first; buf >= bits + 3. */
void cpu_config_format_bitmap(uint64_t mask, uint64_t value, unsigned bits, char *buf);

#endif
