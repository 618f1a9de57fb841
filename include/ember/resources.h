/* VmResources: everything configured before InstanceStart, filled by the
 * config-file loader and (later) the API through the same parsers.
 * Parsers validate fully before changing anything: on error the resources
 * are untouched and `err` holds a one-line Firecracker-style reason. */
#ifndef EMBER_RESOURCES_H
#define EMBER_RESOURCES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "ember/boot.h"

#define RES_ERR_LEN 512
#define RES_MAX_VCPUS 32
/* Guest RAM above the 3 GiB mark is placed from 4 GiB; cap total RAM well below
 * the 256 GiB 64-bit MMIO area Firecracker reserves. */
#define RES_MAX_MEM_MIB (240ULL * 1024)

enum res_huge_pages { RES_HUGE_NONE = 0, RES_HUGE_2M, RES_HUGE_TRANSPARENT };

struct res_boot_source {
	bool set;
	char *kernel_image_path;
	char *boot_args;   /* NULL: use the default command line */
	char *initrd_path; /* NULL: none */
	enum boot_proto proto; /* ember extension "boot_protocol": auto|linux|pvh */
	int kernel_fd;     /* opened at parse time, as Firecracker does; -1 if none */
	int initrd_fd;
};

struct res_machine {
	unsigned vcpu_count;   /* 1..32, default 1 */
	uint64_t mem_size_mib; /* default 128 */
	bool smt;
	bool track_dirty_pages;
	enum res_huge_pages huge_pages;
};

struct vm_resources {
	struct res_boot_source boot;
	struct res_machine machine;
};

/* Firecracker's default command line when boot_args is absent. */
#define RES_DEFAULT_BOOT_ARGS \
	"reboot=k panic=1 nomodule 8250.nr_uarts=0 i8042.noaux i8042.nomux i8042.dumbkbd swiotlb=noforce"

void res_init(struct vm_resources *res);
void res_free(struct vm_resources *res);

/* PUT /boot-source body. Opens the kernel (and initrd) read-only. */
int res_set_boot_source(struct vm_resources *res, const json_t *obj, char *err, size_t errlen);
/* PUT (patch=false: omitted optionals reset to defaults, vcpu_count and
 * mem_size_mib required) or PATCH (patch=true: any subset) /machine-config. */
int res_set_machine_config(struct vm_resources *res, const json_t *obj, bool patch,
			   char *err, size_t errlen);
/* Whole --config-file object; "boot-source" is mandatory. Unknown top-level
 * keys are ignored (as Firecracker), unknown fields inside objects are errors.
 * Keys for devices this build cannot provide yet are errors naming them. */
int res_set_config(struct vm_resources *res, const json_t *root, char *err, size_t errlen);
int res_load_config_file(struct vm_resources *res, const char *path, char *err, size_t errlen);

/* GET /machine-config and the "machine-config"/"boot-source" parts of GET /vm/config. */
json_t *res_machine_config_json(const struct vm_resources *res);
json_t *res_boot_source_json(const struct vm_resources *res);

#endif
