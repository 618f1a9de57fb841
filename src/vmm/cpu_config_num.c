/* Template values: numbers, bitmaps, registers and KVM capabilities, parsed
 * with the rules and messages of Firecracker's Deserialize impls
 * (templates_serde.rs, templates.rs) and Rust's integer parsing. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ember/json_util.h"
#include "cpu_config_internal.h"

enum int_err { INT_OK, INT_EMPTY, INT_INVALID, INT_OVERFLOW };

/* ParseIntError's Debug kinds and Display texts. */
static const char *const kind_names[] = { "", "Empty", "InvalidDigit", "PosOverflow" };
static const char *const kind_texts[] = {
	"", "cannot parse integer from empty string", "invalid digit found in string",
	"number too large to fit in target type",
};

static int digit(char c, unsigned radix)
{
	int d = c >= '0' && c <= '9' ? c - '0'
		: c >= 'a' && c <= 'z' ? c - 'a' + 10
		: c >= 'A' && c <= 'Z' ? c - 'A' + 10 : 99;

	return d < (int)radix ? d : -1;
}

/* Rust's uN::from_str_radix: one optional '+', then digits only. */
static enum int_err rust_parse(const char *s, unsigned radix, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return INT_EMPTY;
	if ((*s == '+' || *s == '-') && !s[1])
		return INT_INVALID;
	if (*s == '+')
		s++;
	for (; *s; s++) {
		int d = digit(*s, radix);

		if (d < 0)
			return INT_INVALID;
		if (v > max / radix || (v == max / radix && (uint64_t)d > max % radix))
			return INT_OVERFLOW;
		v = v * radix + (uint64_t)d;
	}
	*out = v;
	return INT_OK;
}

int cpu_config_parse_num(const char *s, uint64_t max, uint64_t *out, char *err, size_t errlen)
{
	unsigned radix = 10; /* plain decimal: ember's extension */
	const char *digits = s;
	enum int_err e;

	if (!strncmp(s, "0b", 2) || !strncmp(s, "0x", 2)) {
		radix = s[1] == 'b' ? 2 : 16;
		digits = s + 2;
	} else if (digit(*s, 10) < 0) {
		return jx_err(err, errlen, "No supported number system prefix found in value [%s]. "
			      "Make sure to prefix the number with '0x' for hexadecimal numbers "
			      "or '0b' for binary numbers.", s);
	}
	e = rust_parse(digits, radix, max, out);
	if (e != INT_OK)
		return jx_err(err, errlen, "Failed to parse string [%s] as a number for CPU "
			      "template - ParseIntError { kind: %s }", s, kind_names[e]);
	return 0;
}

/* Read from the least significant (last) character up, as Firecracker. */
int cpu_config_parse_bitmap(const char *s, unsigned bits, uint64_t *mask, uint64_t *value,
			    char *err, size_t errlen)
{
	const char *p = strncmp(s, "0b", 2) ? s : s + 2;
	unsigned i = 0;

	*mask = *value = 0;
	for (size_t k = strlen(p); k-- > 0;) {
		unsigned char c = (unsigned char)p[k];

		if (i == bits)
			return jx_err(err, errlen, "Failed to parse string [%s] as a bitmap - "
				      "string is too long", s);
		if (c == '_')
			continue;
		if (c != 'x' && c != '0' && c != '1')
			return jx_err(err, errlen, "Failed to parse string [%s] as a bitmap - "
				      "unknown character: %u", s, c);
		if (c != 'x')
			*mask |= 1ULL << i;
		if (c == '1')
			*value |= 1ULL << i;
		i++;
	}
	return 0;
}

int cpu_config_parse_reg(const char *s, enum cpu_config_reg *out, char *err, size_t errlen)
{
	static const char *const names[] = { "eax", "ebx", "ecx", "edx" };

	for (int i = 0; i < 4; i++) {
		if (!strcmp(s, names[i])) {
			*out = (enum cpu_config_reg)i;
			return 0;
		}
	}
	return jx_err(err, errlen, "Invalid CPUID register. Must be one of [eax, ebx, ecx, edx]");
}

int cpu_config_parse_cap(const char *s, struct cpu_config_cap *out, char *err, size_t errlen)
{
	uint64_t v = 0;
	enum int_err e;

	out->remove = *s == '!';
	e = rust_parse(s + out->remove, 10, UINT32_MAX, &v);
	if (e != INT_OK)
		return jx_err(err, errlen, "Failed to parse string [%s] as a kvm capability - "
			      "can not convert to numeric: %s", s, kind_texts[e]);
	out->cap = (uint32_t)v;
	return 0;
}

void cpu_config_format_bitmap(uint64_t mask, uint64_t value, unsigned bits, char *buf)
{
	char *p = buf;

	*p++ = '0';
	*p++ = 'b';
	for (unsigned i = bits; i-- > 0;)
		*p++ = mask >> i & 1 ? (char)('0' + (value >> i & 1)) : 'x';
	*p = '\0';
}
