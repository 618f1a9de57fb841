/* GET /vm/config (Firecracker's FullVmConfiguration) and the InstanceStart
 * gate for devices this build cannot create yet. */
#include <errno.h>
#include <stdio.h>

#include "resources_internal.h"

/* Flip an entry when the device model lands (design.md §5). Attach order. */
enum dev_kind { DEV_BALLOON, DEV_BLOCK, DEV_NET, DEV_PMEM, DEV_VSOCK, DEV_ENTROPY, DEV_MEM };
static const struct {
	const char *name;
	bool supported;
} devs[] = {
	[DEV_BALLOON] = { "balloon device", true },
	[DEV_BLOCK] = { "block device", true },
	[DEV_NET] = { "network interface", true },
	[DEV_PMEM] = { "pmem device", false },
	[DEV_VSOCK] = { "vsock device", true },
	[DEV_ENTROPY] = { "entropy device", true },
	[DEV_MEM] = { "memory hotplug (virtio-mem) device", false },
};

static int unsupported(enum dev_kind k, const char *id, char *msg, size_t len)
{
	if (msg && len) {
		if (id)
			snprintf(msg, len, "%s '%s' is not supported by this build yet", devs[k].name, id);
		else
			snprintf(msg, len, "%s is not supported by this build yet", devs[k].name);
	}
	return -ENOTSUP;
}

int res_unsupported_devices(const struct vm_resources *res, char *msg, size_t len)
{
	if (!res)
		return 0;
	if (res->balloon.set && !devs[DEV_BALLOON].supported)
		return unsupported(DEV_BALLOON, NULL, msg, len);
	if (res->n_drives && !devs[DEV_BLOCK].supported)
		return unsupported(DEV_BLOCK, res->drives[0].id, msg, len);
	if (res->n_nets && !devs[DEV_NET].supported)
		return unsupported(DEV_NET, res->nets[0].id, msg, len);
	if (res->n_pmems && !devs[DEV_PMEM].supported)
		return unsupported(DEV_PMEM, res->pmems[0].id, msg, len);
	if (res->vsock.set && !devs[DEV_VSOCK].supported)
		return unsupported(DEV_VSOCK, NULL, msg, len);
	if (res->entropy.set && !devs[DEV_ENTROPY].supported)
		return unsupported(DEV_ENTROPY, NULL, msg, len);
	if (res->mem_hotplug.set && !devs[DEV_MEM].supported)
		return unsupported(DEV_MEM, NULL, msg, len);
	return 0;
}

/* VmmConfig's serialization order. A NULL part (allocation failure) fails
 * the whole object rather than showing a misleading null. */
json_t *res_vm_config_json(const struct vm_resources *res)
{
	if (!res)
		return NULL;
	json_t *balloon = res_balloon_json(res);
	const struct {
		const char *key;
		json_t *v;
	} parts[] = {
		{ "balloon", balloon ? balloon : json_null() },
		{ "drives", res_drives_json(res) },
		{ "boot-source", res_boot_source_json(res) },
		{ "cpu-config", json_null() },
		{ "logger", json_null() },
		{ "machine-config", res_machine_config_json(res) },
		{ "metrics", json_null() },
		{ "mmds-config", json_null() },
		{ "network-interfaces", res_nets_json(res) },
		{ "vsock", res_vsock_json(res) },
		{ "entropy", res_entropy_json(res) },
		{ "pmem", res_pmems_json(res) },
		{ "memory-hotplug", res_hotplug_json(res) },
	};
	json_t *o = json_object();
	bool ok = o != NULL;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (ok && parts[i].v)
			ok = !json_object_set_new(o, parts[i].key, parts[i].v);
		else
			json_decref(parts[i].v);
		ok = ok && parts[i].v;
	}
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}
