/* Xen PVH boot data: hvm_start_info at LAYOUT_PVH_INFO (its address goes to
 * the guest in EBX), the memory map at LAYOUT_PVH_MEMMAP and the initrd as
 * the single module at LAYOUT_PVH_MODLIST. */
#include <errno.h>
#include <string.h>

#include "boot_internal.h"
#include "ember/guest_mem.h"
#include "ember/log.h"

static int write_memmap(struct guest_mem *gm, uint32_t *entries)
{
	struct boot_e820_entry e820[BOOT_E820_MAX];
	struct hvm_memmap_table_entry map[BOOT_E820_MAX];
	int n = boot_e820(gm, e820, BOOT_E820_MAX);

	if (n < 0)
		return n;
	memset(map, 0, sizeof(map));
	/* Same map as the zero page's; the types are the E820 values by definition. */
	for (int i = 0; i < n; i++) {
		map[i].addr = e820[i].addr;
		map[i].size = e820[i].size;
		map[i].type = e820[i].type;
	}
	if (gm_write(gm, LAYOUT_PVH_MEMMAP, map, (uint64_t)n * sizeof(map[0]))) {
		log_err("pvh: memory map at 0x%llx not in guest RAM", LAYOUT_PVH_MEMMAP);
		return -EFAULT;
	}
	*entries = (uint32_t)n;
	return 0;
}

static int write_modlist(struct guest_mem *gm, const struct boot_initrd *initrd)
{
	struct hvm_modlist_entry mod = { .paddr = initrd->addr, .size = initrd->size };

	if (gm_write(gm, LAYOUT_PVH_MODLIST, &mod, sizeof(mod))) {
		log_err("pvh: module list at 0x%llx not in guest RAM", LAYOUT_PVH_MODLIST);
		return -EFAULT;
	}
	return 0;
}

int boot_write_pvh(struct guest_mem *gm, const struct boot_initrd *initrd)
{
	struct hvm_start_info si = {
		.magic = BOOT_HVM_START_MAGIC,
		.version = BOOT_HVM_START_VERSION,
		.cmdline_paddr = LAYOUT_CMDLINE,
		.rsdp_paddr = LAYOUT_RSDP, /* written by boot_write_acpi */
		.memmap_paddr = LAYOUT_PVH_MEMMAP,
	};
	int rc;

	rc = write_memmap(gm, &si.memmap_entries);
	if (rc)
		return rc;
	/* Address 0 means "absent" in start_info, so no initrd leaves both zero. */
	if (initrd && initrd->size) {
		rc = write_modlist(gm, initrd);
		if (rc)
			return rc;
		si.nr_modules = 1;
		si.modlist_paddr = LAYOUT_PVH_MODLIST;
	}
	if (gm_write(gm, LAYOUT_PVH_INFO, &si, sizeof(si))) {
		log_err("pvh: start info at 0x%llx not in guest RAM", LAYOUT_PVH_INFO);
		return -EFAULT;
	}
	return 0;
}
