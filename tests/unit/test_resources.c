/* VmResources: machine-config, boot-source and --config-file parsing with
 * Firecracker's semantics and messages. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "ember/resources.h"
#include "test_util.h"

#define DESER "An error occurred when deserializing the json body of a request: "
#define VCPU_MSG "The number of vCPUs must be greater than 0, less than 32 and must be 1 or an " \
		 "even number if SMT is enabled."
#define MEM_MSG "The memory size (MiB) is either 0, or not a multiple of the configured page size."
#define MC_FIELDS "`vcpu_count`, `mem_size_mib`, `smt`, `cpu_template`, `track_dirty_pages`, " \
		  "`huge_pages`"

static char err[RES_ERR_LEN];
static char dir[64], kernel[128], initrd[128], cfg[128];

static int mc(struct vm_resources *r, bool patch, const char *body)
{
	json_t *j = J("%s", body);
	memset(err, 0, sizeof(err));
	int rc = res_set_machine_config(r, j, patch, err, sizeof(err));
	json_decref(j);
	return rc;
}

static int boot(struct vm_resources *r, json_t *j)
{
	memset(err, 0, sizeof(err));
	int rc = res_set_boot_source(r, j, err, sizeof(err));
	json_decref(j);
	return rc;
}

static void expect_mc(bool patch, const char *body, const char *msg)
{
	struct vm_resources r;
	res_init(&r);
	int rc = mc(&r, patch, body);
	if (!msg) {
		if (rc)
			fail_msg("%s: unexpected error: %s", body, err);
	} else {
		assert_int_equal(rc, -EINVAL);
		assert_string_equal(err, msg);
		assert_int_equal(r.machine.vcpu_count, 1); /* untouched */
		assert_int_equal(r.machine.mem_size_mib, 128);
	}
	res_free(&r);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static int setup(void **state)
{
	strcpy(dir, "/tmp/ember-res-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(kernel, sizeof(kernel), "%s/vmlinux", dir);
	snprintf(initrd, sizeof(initrd), "%s/initrd", dir);
	snprintf(cfg, sizeof(cfg), "%s/vm.json", dir);
	write_file(kernel, "kernel");
	write_file(initrd, "initrd");
	(void)state;
	return 0;
}

static int teardown(void **state)
{
	unlink(kernel);
	unlink(initrd);
	unlink(cfg);
	rmdir(dir);
	(void)state;
	return 0;
}

static void test_defaults(void **state)
{
	struct vm_resources r;
	res_init(&r);
	assert_int_equal(r.machine.vcpu_count, 1);
	assert_int_equal(r.machine.mem_size_mib, 128);
	assert_false(r.machine.smt);
	assert_false(r.machine.track_dirty_pages);
	assert_int_equal(r.machine.huge_pages, RES_HUGE_NONE);
	assert_false(r.boot.set);
	assert_int_equal(r.boot.kernel_fd, -1);
	assert_int_equal(r.boot.initrd_fd, -1);
	res_free(&r);
	res_free(&r);
	res_init(NULL);
	res_free(NULL);
	assert_int_equal(res_set_machine_config(NULL, NULL, false, err, sizeof(err)), -EINVAL);
	assert_int_equal(res_set_boot_source(NULL, NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(res_set_config(NULL, NULL, err, sizeof(err)), -EINVAL);
	assert_null(res_machine_config_json(NULL));
	assert_null(res_boot_source_json(NULL));
	(void)state;
}

static void test_vcpu_bounds(void **state)
{
	expect_mc(false, "{\"vcpu_count\": 1, \"mem_size_mib\": 128}", NULL);
	expect_mc(false, "{\"vcpu_count\": 32, \"mem_size_mib\": 128}", NULL);
	expect_mc(false, "{\"vcpu_count\": 0, \"mem_size_mib\": 128}", "Machine config error: " VCPU_MSG);
	expect_mc(false, "{\"vcpu_count\": 33, \"mem_size_mib\": 128}", "Machine config error: " VCPU_MSG);
	expect_mc(false, "{\"vcpu_count\": 255, \"mem_size_mib\": 128}", "Machine config error: " VCPU_MSG);
	expect_mc(false, "{\"vcpu_count\": 256, \"mem_size_mib\": 128}",
		  DESER "invalid value: integer `256`, expected u8.");
	expect_mc(false, "{\"vcpu_count\": -1, \"mem_size_mib\": 128}",
		  DESER "invalid value: integer `-1`, expected u8.");
	expect_mc(false, "{\"vcpu_count\": 2.5, \"mem_size_mib\": 128}",
		  DESER "invalid type: floating point `2.5`, expected u8.");
	expect_mc(false, "{\"vcpu_count\": 2.0, \"mem_size_mib\": 128}",
		  DESER "invalid type: floating point `2.0`, expected u8.");
	expect_mc(false, "{\"vcpu_count\": \"2\", \"mem_size_mib\": 128}",
		  DESER "invalid type: string \"2\", expected u8.");
	expect_mc(false, "{\"vcpu_count\": true, \"mem_size_mib\": 128}",
		  DESER "invalid type: boolean `true`, expected u8.");
	expect_mc(false, "{\"vcpu_count\": null, \"mem_size_mib\": 128}",
		  DESER "invalid type: null, expected u8.");
	expect_mc(true, "{\"vcpu_count\": 0}", "Machine config error: " VCPU_MSG);
	expect_mc(true, "{\"vcpu_count\": \"1\"}", DESER "invalid type: string \"1\", expected u8.");
	(void)state;
}

static void test_mem_bounds(void **state)
{
	char body[128], max[64];
	expect_mc(false, "{\"vcpu_count\": 1, \"mem_size_mib\": 1}", NULL);
	expect_mc(false, "{\"vcpu_count\": 1, \"mem_size_mib\": 0}", "Machine config error: " MEM_MSG);
	snprintf(body, sizeof(body), "{\"vcpu_count\": 1, \"mem_size_mib\": %llu}", RES_MAX_MEM_MIB);
	expect_mc(false, body, NULL);
	snprintf(body, sizeof(body), "{\"vcpu_count\": 1, \"mem_size_mib\": %llu}", RES_MAX_MEM_MIB + 1);
	snprintf(max, sizeof(max), "(%llu MiB).", RES_MAX_MEM_MIB);
	struct vm_resources r;
	res_init(&r);
	assert_int_equal(mc(&r, false, body), -EINVAL);
	assert_non_null(strstr(err, "Machine config error: The memory size (MiB) is larger than"));
	assert_non_null(strstr(err, max));
	assert_int_equal(mc(&r, false, "{\"vcpu_count\": 1, \"mem_size_mib\": 9223372036854775807}"),
			 -EINVAL);
	res_free(&r);
	expect_mc(false, "{\"vcpu_count\": 1, \"mem_size_mib\": -1}",
		  DESER "invalid value: integer `-1`, expected usize.");
	expect_mc(false, "{\"vcpu_count\": 1, \"mem_size_mib\": 1e3}",
		  DESER "invalid type: floating point `1000.0`, expected usize.");
	expect_mc(false, "{\"vcpu_count\": 1, \"mem_size_mib\": 129, \"huge_pages\": \"2M\"}",
		  "Machine config error: " MEM_MSG);
	expect_mc(false, "{\"vcpu_count\": 1, \"mem_size_mib\": 129, \"huge_pages\": \"Transparent\"}",
		  "Machine config error: " MEM_MSG);
	expect_mc(false, "{\"vcpu_count\": 1, \"mem_size_mib\": 130, \"huge_pages\": \"2M\"}", NULL);
	expect_mc(false, "{\"vcpu_count\": 1, \"mem_size_mib\": 129, \"huge_pages\": \"None\"}", NULL);
	(void)state;
}

static void test_smt(void **state)
{
	expect_mc(false, "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"smt\": true}", NULL);
	expect_mc(false, "{\"vcpu_count\": 2, \"mem_size_mib\": 128, \"smt\": true}", NULL);
	expect_mc(false, "{\"vcpu_count\": 32, \"mem_size_mib\": 128, \"smt\": true}", NULL);
	expect_mc(false, "{\"vcpu_count\": 3, \"mem_size_mib\": 128, \"smt\": false}", NULL);
	expect_mc(false, "{\"vcpu_count\": 3, \"mem_size_mib\": 128, \"smt\": true}",
		  "Machine config error: " VCPU_MSG);
	expect_mc(false, "{\"vcpu_count\": 31, \"mem_size_mib\": 128, \"smt\": true}",
		  "Machine config error: " VCPU_MSG);
	expect_mc(false, "{\"vcpu_count\": 2, \"mem_size_mib\": 128, \"smt\": 1}",
		  DESER "invalid type: integer `1`, expected a boolean.");
	expect_mc(false, "{\"vcpu_count\": 2, \"mem_size_mib\": 128, \"smt\": null}",
		  DESER "invalid type: null, expected a boolean.");
	(void)state;
}

static void test_mc_shape(void **state)
{
	expect_mc(false, "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"foo\": 1}",
		  DESER "unknown field `foo`, expected one of " MC_FIELDS ".");
	expect_mc(true, "{\"gdb_socket_path\": \"/x\"}",
		  DESER "unknown field `gdb_socket_path`, expected one of " MC_FIELDS ".");
	expect_mc(false, "{\"foo\": 1, \"vcpu_count\": \"x\"}",
		  DESER "unknown field `foo`, expected one of " MC_FIELDS ".");
	expect_mc(false, "{\"vcpu_count\": \"x\", \"foo\": 1}",
		  DESER "invalid type: string \"x\", expected u8.");
	expect_mc(false, "{}", DESER "missing field `vcpu_count`.");
	expect_mc(false, "{\"vcpu_count\": 1}", DESER "missing field `mem_size_mib`.");
	expect_mc(false, "{\"mem_size_mib\": 128}", DESER "missing field `vcpu_count`.");
	expect_mc(false, "5", DESER "invalid type: integer `5`, expected struct MachineConfig.");
	expect_mc(false, "null", DESER "invalid type: null, expected struct MachineConfig.");
	expect_mc(true, "[]", DESER "invalid type: sequence, expected struct MachineConfigUpdate.");
	expect_mc(true, "\"x\"", DESER "invalid type: string \"x\", expected struct MachineConfigUpdate.");
	expect_mc(false, "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": \"1G\"}",
		  DESER "unknown variant `1G`, expected one of `None`, `Transparent`, `2M`.");
	expect_mc(false, "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": 2}",
		  DESER "invalid type: integer `2`, expected one of `None`, `Transparent`, `2M`.");
	expect_mc(false, "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"huge_pages\": null}",
		  DESER "invalid type: null, expected one of `None`, `Transparent`, `2M`.");
	struct vm_resources r;
	res_init(&r);
	assert_int_equal(res_set_machine_config(&r, NULL, false, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, DESER "invalid type: null, expected struct MachineConfig.");
	assert_int_equal(res_set_machine_config(&r, NULL, true, NULL, 0), -EINVAL);
	res_free(&r);
	(void)state;
}

static void test_cpu_template(void **state)
{
	static const char *const bad[] = { "C3", "T2", "T2S", "T2CL", "T2A", "V1N1" };
	char body[128], msg[256];
	expect_mc(false, "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"None\"}", NULL);
	expect_mc(false, "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": null}", NULL);
	expect_mc(true, "{\"cpu_template\": \"None\"}", NULL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(body, sizeof(body),
			 "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"%s\"}", bad[i]);
		snprintf(msg, sizeof(msg), "Machine config error: Static CPU templates are not "
			 "supported by ember (cpu_template \"%s\"); use \"None\".", bad[i]);
		expect_mc(false, body, msg);
	}
	expect_mc(false, "{\"vcpu_count\": 1, \"mem_size_mib\": 128, \"cpu_template\": \"M5\"}",
		  DESER "unknown variant `M5`, expected one of `C3`, `T2`, `T2S`, `None`, `T2CL`, "
		  "`T2A`, `V1N1`.");
	(void)state;
}

static void test_put_resets_patch_keeps(void **state)
{
	struct vm_resources r;
	res_init(&r);
	assert_int_equal(mc(&r, false, "{\"vcpu_count\": 2, \"mem_size_mib\": 256, \"smt\": true, "
			    "\"track_dirty_pages\": true, \"huge_pages\": \"2M\"}"), 0);
	assert_int_equal(r.machine.vcpu_count, 2);
	assert_int_equal(r.machine.mem_size_mib, 256);
	assert_true(r.machine.smt);
	assert_true(r.machine.track_dirty_pages);
	assert_int_equal(r.machine.huge_pages, RES_HUGE_2M);

	assert_int_equal(mc(&r, false, "{\"vcpu_count\": 3, \"mem_size_mib\": 512}"), 0);
	assert_int_equal(r.machine.vcpu_count, 3);
	assert_false(r.machine.smt);
	assert_false(r.machine.track_dirty_pages);
	assert_int_equal(r.machine.huge_pages, RES_HUGE_NONE);

	assert_int_equal(mc(&r, true, "{\"mem_size_mib\": 1024, \"vcpu_count\": null}"), 0);
	assert_int_equal(r.machine.vcpu_count, 3);
	assert_int_equal(r.machine.mem_size_mib, 1024);
	assert_int_equal(mc(&r, true, "{\"huge_pages\": \"Transparent\", \"track_dirty_pages\": true}"), 0);
	assert_int_equal(r.machine.huge_pages, RES_HUGE_TRANSPARENT);
	assert_true(r.machine.track_dirty_pages);
	assert_int_equal(r.machine.mem_size_mib, 1024);

	/* a PATCH is validated together with what it keeps */
	struct res_machine before = r.machine;
	assert_int_equal(mc(&r, true, "{\"smt\": true}"), -EINVAL);
	assert_string_equal(err, "Machine config error: " VCPU_MSG);
	assert_int_equal(mc(&r, true, "{\"mem_size_mib\": 1025}"), -EINVAL);
	assert_string_equal(err, "Machine config error: " MEM_MSG);
	assert_int_equal(mc(&r, true, "{\"vcpu_count\": 4, \"foo\": 1}"), -EINVAL);
	assert_int_equal(mc(&r, true, "{}"), -EINVAL);
	assert_string_equal(err, "Empty PATCH request.");
	assert_int_equal(mc(&r, true, "{\"smt\": null, \"huge_pages\": null}"), -EINVAL);
	assert_string_equal(err, "Empty PATCH request.");
	assert_int_equal(mc(&r, false, "{\"vcpu_count\": 0, \"mem_size_mib\": 64}"), -EINVAL);
	assert_memory_equal(&before, &r.machine, sizeof(before));
	assert_int_equal(mc(&r, true, "{\"smt\": true, \"vcpu_count\": 4}"), 0);
	assert_true(r.machine.smt);
	assert_int_equal(r.machine.vcpu_count, 4);
	res_free(&r);
	(void)state;
}

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

static void test_boot_valid(void **state)
{
	struct vm_resources r;
	res_init(&r);
	int fds = count_fds();
	assert_int_equal(boot(&r, J("{\"kernel_image_path\": \"%s\"}", kernel)), 0);
	assert_true(r.boot.set);
	assert_string_equal(r.boot.kernel_image_path, kernel);
	assert_null(r.boot.boot_args);
	assert_null(r.boot.initrd_path);
	assert_int_equal(r.boot.initrd_fd, -1);
	assert_int_equal(r.boot.proto, BOOT_PROTO_AUTO);
	assert_true(fd_open(r.boot.kernel_fd));
	assert_true(fcntl(r.boot.kernel_fd, F_GETFD) & FD_CLOEXEC);
	int old_fd = r.boot.kernel_fd;

	assert_int_equal(boot(&r, J("{\"kernel_image_path\": \"%s\", \"initrd_path\": \"%s\", "
				    "\"boot_args\": \"  console=ttyS0 reboot=k  \", "
				    "\"boot_protocol\": \"pvh\"}", kernel, initrd)), 0);
	assert_false(fd_open(old_fd)); /* the previous boot source was released */
	assert_string_equal(r.boot.initrd_path, initrd);
	assert_string_equal(r.boot.boot_args, "console=ttyS0 reboot=k");
	assert_int_equal(r.boot.proto, BOOT_PROTO_PVH);
	assert_true(fd_open(r.boot.initrd_fd));
	char c;
	assert_int_equal(pread(r.boot.initrd_fd, &c, 1, 0), 1);
	assert_int_equal(c, 'i');

	assert_int_equal(boot(&r, J("{\"boot_args\": null, \"initrd_path\": null, "
				    "\"boot_protocol\": null, \"kernel_image_path\": \"%s\"}", kernel)), 0);
	assert_null(r.boot.boot_args);
	assert_null(r.boot.initrd_path);
	assert_int_equal(r.boot.proto, BOOT_PROTO_AUTO);
	assert_int_equal(boot(&r, J("{\"kernel_image_path\": \"%s\", \"boot_args\": \"\", "
				    "\"boot_protocol\": \"linux\"}", kernel)), 0);
	assert_string_equal(r.boot.boot_args, "");
	assert_int_equal(r.boot.proto, BOOT_PROTO_LINUX);
	res_free(&r);
	assert_int_equal(count_fds(), fds);
	(void)state;
}

/* Fails with `msg` and leaves the earlier boot source and fds as they were. */
static void expect_boot_err(struct vm_resources *r, json_t *j, int rc, const char *msg)
{
	struct res_boot_source before = r->boot;
	int fds = count_fds();
	assert_int_equal(boot(r, j), rc);
	if (*msg)
		assert_string_equal(err, msg);
	assert_memory_equal(&before, &r->boot, sizeof(before));
	assert_int_equal(count_fds(), fds);
}

static void test_boot_errors(void **state)
{
	char big[2100];
	struct vm_resources r;
	res_init(&r);
	assert_int_equal(boot(&r, J("{\"kernel_image_path\": \"%s\", \"boot_args\": \"a\"}", kernel)), 0);

	expect_boot_err(&r, J("{}"), -EINVAL, DESER "missing field `kernel_image_path`.");
	expect_boot_err(&r, J("{\"initrd_path\": \"%s\"}", initrd), -EINVAL,
			DESER "missing field `kernel_image_path`.");
	expect_boot_err(&r, J("{\"kernel_image_path\": 5}"), -EINVAL,
			DESER "invalid type: integer `5`, expected a string.");
	expect_boot_err(&r, J("{\"kernel_image_path\": null}"), -EINVAL,
			DESER "invalid type: null, expected a string.");
	expect_boot_err(&r, J("{\"kernel_image_path\": \"%s\", \"boot_args\": []}", kernel), -EINVAL,
			DESER "invalid type: sequence, expected a string.");
	expect_boot_err(&r, J("{\"kernel_image_path\": \"%s\", \"foo\": 1}", kernel), -EINVAL,
			DESER "unknown field `foo`, expected one of `kernel_image_path`, `initrd_path`, "
			"`boot_args`, `boot_protocol`.");
	expect_boot_err(&r, J("{\"kernel_image_path\": \"%s\", \"boot_protocol\": \"efi\"}", kernel),
			-EINVAL, DESER "unknown variant `efi`, expected one of `auto`, `linux`, `pvh`.");
	expect_boot_err(&r, J("[\"%s\"]", kernel), -EINVAL,
			DESER "invalid type: sequence, expected struct BootSourceConfig.");
	expect_boot_err(&r, J("{\"kernel_image_path\": \"%s\\u0000x\"}", kernel), -EINVAL, "");
	assert_non_null(strstr(err, "expected a string without NUL characters"));

	expect_boot_err(&r, J("{\"kernel_image_path\": \"%s/nope\"}", dir), -ENOENT,
			"Boot source error: The kernel file cannot be opened: No such file or "
			"directory (os error 2)");
	expect_boot_err(&r, J("{\"kernel_image_path\": \"%s\"}", dir), -EISDIR,
			"Boot source error: The kernel file cannot be opened: Is a directory (os error 21)");
	expect_boot_err(&r, J("{\"kernel_image_path\": \"\"}"), -ENOENT,
			"Boot source error: The kernel file cannot be opened: No such file or "
			"directory (os error 2)");
	/* the kernel opens, the initrd does not: the kernel fd must not leak */
	expect_boot_err(&r, J("{\"kernel_image_path\": \"%s\", \"initrd_path\": \"%s/nope\"}",
			      kernel, dir), -ENOENT,
			"Boot source error: The initrd file cannot be opened due to invalid path or "
			"invalid permissions. No such file or directory (os error 2)");
	if (geteuid() != 0) { /* root opens anything */
		assert_int_equal(chmod(initrd, 0), 0);
		expect_boot_err(&r, J("{\"kernel_image_path\": \"%s\", \"initrd_path\": \"%s\"}",
				      kernel, initrd), -EACCES,
				"Boot source error: The initrd file cannot be opened due to invalid "
				"path or invalid permissions. Permission denied (os error 13)");
		assert_int_equal(chmod(initrd, 0644), 0);
	}

#define CMDLINE_BAD "Boot source error: The kernel command line is invalid: "
	expect_boot_err(&r, J("{\"kernel_image_path\": \"%s\", \"boot_args\": \"a\\u0000b\"}", kernel),
			-EINVAL, CMDLINE_BAD "String contains a non-printable ASCII character.");
	expect_boot_err(&r, J("{\"kernel_image_path\": \"%s\", \"boot_args\": \"a\\nb\"}", kernel),
			-EINVAL, CMDLINE_BAD "String contains a non-printable ASCII character.");
	expect_boot_err(&r, J("{\"kernel_image_path\": \"%s\", \"boot_args\": \"caf\\u00e9\"}", kernel),
			-EINVAL, CMDLINE_BAD "String contains a non-printable ASCII character.");
	memset(big, 'a', 2048);
	big[2048] = '\0';
	expect_boot_err(&r, J("{\"kernel_image_path\": \"%s\", \"boot_args\": \"%s\"}", kernel, big),
			-EINVAL, CMDLINE_BAD "Inserting string would make command line too long.");
	big[2047] = '\0';
	assert_int_equal(boot(&r, J("{\"kernel_image_path\": \"%s\", \"boot_args\": \" %s\\n\"}",
				    kernel, big)), 0);
	assert_int_equal(strlen(r.boot.boot_args), 2047);
	res_free(&r);
	(void)state;
}

static int load(struct vm_resources *r, const char *text)
{
	write_file(cfg, text);
	memset(err, 0, sizeof(err));
	return res_load_config_file(r, cfg, err, sizeof(err));
}

static void test_config_valid(void **state)
{
	char text[2048];
	struct vm_resources r;
	res_init(&r);
	snprintf(text, sizeof(text),
		 "{\"boot-source\": {\"kernel_image_path\": \"%s\", \"boot_args\": \"console=ttyS0\", "
		 "\"initrd_path\": null},\n \"drives\": [], \"machine-config\": {\"vcpu_count\": 2, "
		 "\"mem_size_mib\": 1024, \"smt\": false, \"track_dirty_pages\": false},\n"
		 "\"network-interfaces\": [], \"cpu-config\": null, \"balloon\": null, \"vsock\": null, "
		 "\"logger\": null, \"metrics\": null, \"mmds-config\": null, \"entropy\": null, "
		 "\"pmem\": [], \"memory-hotplug\": null, \"some-future-key\": {\"x\": 1}}", kernel);
	assert_int_equal(load(&r, text), 0);
	assert_int_equal(r.machine.vcpu_count, 2);
	assert_int_equal(r.machine.mem_size_mib, 1024);
	assert_string_equal(r.boot.boot_args, "console=ttyS0");
	assert_true(fd_open(r.boot.kernel_fd));

	/* machine-config absent: defaults, and the old resources are replaced */
	snprintf(text, sizeof(text), "{\"boot-source\": {\"kernel_image_path\": \"%s\"}, "
		 "\"machine-config\": null}", kernel);
	int old_fd = r.boot.kernel_fd;
	assert_int_equal(load(&r, text), 0);
	assert_int_not_equal(old_fd, r.boot.kernel_fd);
	assert_false(fd_open(old_fd));
	assert_int_equal(r.machine.vcpu_count, 1);
	assert_int_equal(r.machine.mem_size_mib, 128);
	assert_null(r.boot.boot_args);
	res_free(&r);
	(void)state;
}

static void expect_cfg(const char *text, int rc, const char *msg)
{
	struct vm_resources r;
	res_init(&r);
	r.machine.vcpu_count = 7; /* sentinel: a failed load changes nothing */
	if (load(&r, text) != rc)
		fail_msg("%s: rc != %d (%s)", text, rc, err);
	if (strncmp(err, msg, strlen(msg)))
		fail_msg("got \"%s\", want \"%s...\"", err, msg);
	assert_int_equal(r.machine.vcpu_count, 7);
	assert_false(r.boot.set);
	res_free(&r);
}

static void test_config_errors(void **state)
{
	char text[1024], bs[256];
	snprintf(bs, sizeof(bs), "\"boot-source\": {\"kernel_image_path\": \"%s\"}", kernel);

	expect_cfg("{\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128}}", -EINVAL,
		   "Invalid JSON: missing field `boot-source`");
	expect_cfg("[1]", -EINVAL, "Invalid JSON: invalid type: sequence, expected struct VmmConfig");
	expect_cfg("5", -EINVAL, "Invalid JSON: invalid type: integer `5`, expected struct VmmConfig");
	expect_cfg("{\"boot-source\": ", -EINVAL, "Invalid JSON: ");
	assert_non_null(strstr(err, "at line 1 column"));
	expect_cfg("", -EINVAL, "Invalid JSON: ");
	snprintf(text, sizeof(text), "{%s, \"drives\": [], \"drives\": []}", bs);
	expect_cfg(text, -EINVAL, "Invalid JSON: duplicate object key");
	expect_cfg("{\"boot-source\": null}", -EINVAL,
		   "Invalid JSON: invalid type: null, expected struct BootSourceConfig");
	snprintf(text, sizeof(text), "{%s, \"machine-config\": {\"vcpu_count\": 1}}", bs);
	expect_cfg(text, -EINVAL, "Invalid JSON: missing field `mem_size_mib`");
	snprintf(text, sizeof(text), "{\"boot-source\": {\"kernel_image_path\": 1}, \"x\": 1}");
	expect_cfg(text, -EINVAL, "Invalid JSON: invalid type: integer `1`, expected a string");
	snprintf(text, sizeof(text), "{%s, \"drives\": 5}", bs);
	expect_cfg(text, -EINVAL, "Invalid JSON: invalid type: integer `5`, expected a sequence");
	snprintf(text, sizeof(text), "{%s, \"machine-config\": {\"vcpu_count\": 0, "
		 "\"mem_size_mib\": 128}}", bs);
	expect_cfg(text, -EINVAL, "VM config error: " VCPU_MSG);
	/* machine-config is applied before boot-source, as in Firecracker */
	snprintf(text, sizeof(text), "{\"boot-source\": {\"kernel_image_path\": \"%s/nope\"}, "
		 "\"machine-config\": {\"vcpu_count\": 0, \"mem_size_mib\": 128}}", dir);
	expect_cfg(text, -EINVAL, "VM config error: " VCPU_MSG);
	snprintf(text, sizeof(text), "{\"boot-source\": {\"kernel_image_path\": \"%s/nope\"}}", dir);
	expect_cfg(text, -ENOENT, "Boot source error: The kernel file cannot be opened: No such file");
	/* a shape error anywhere beats every semantic error */
	snprintf(text, sizeof(text), "{\"boot-source\": {\"kernel_image_path\": \"%s/nope\"}, "
		 "\"machine-config\": {\"vcpu_count\": 1, \"mem_size_mib\": 128, \"x\": 0}}", dir);
	expect_cfg(text, -EINVAL, "Invalid JSON: unknown field `x`, expected one of " MC_FIELDS);

	/* Keys owned by other modules: without hooks they name themselves. */
	static const char *const unsup[][2] = {
		{ "mmds-config", "{}" }, { "cpu-config", "\"t.json\"" },
		{ "logger", "{\"level\": \"Debug\"}" }, { "metrics", "{\"metrics_path\": \"/m\"}" },
	};
	char msg[128];
	for (size_t i = 0; i < sizeof(unsup) / sizeof(unsup[0]); i++) {
		snprintf(text, sizeof(text), "{%s, \"%s\": %s}", bs, unsup[i][0], unsup[i][1]);
		snprintf(msg, sizeof(msg), "%s is not supported by this build yet", unsup[i][0]);
		expect_cfg(text, -EINVAL, msg);
	}
	/* Device keys are parsed for real (test_resources_devices.c has the rest). */
	static const char *const dev[][3] = {
		{ "drives", "[{\"drive_id\": \"rootfs\"}]", "missing field `is_root_device`" },
		{ "network-interfaces", "[{}]", "missing field `iface_id`" },
		{ "vsock", "{}", "missing field `guest_cid`" },
		{ "balloon", "{\"amount_mib\": 1}", "missing field `deflate_on_oom`" },
		{ "entropy", "{\"x\": 1}", "unknown field `x`, expected `rate_limiter`" },
		{ "pmem", "[{}]", "missing field `id`" },
		{ "memory-hotplug", "{}", "missing field `total_size_mib`" },
	};
	for (size_t i = 0; i < sizeof(dev) / sizeof(dev[0]); i++) {
		snprintf(text, sizeof(text), "{%s, \"%s\": %s}", bs, dev[i][0], dev[i][1]);
		snprintf(msg, sizeof(msg), "Invalid JSON: %s", dev[i][2]);
		expect_cfg(text, -EINVAL, msg);
	}

	struct vm_resources r;
	res_init(&r);
	snprintf(text, sizeof(text), "%s/missing.json", dir);
	assert_int_equal(res_load_config_file(&r, text, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "Unable to open or read from the configuration file"));
	assert_non_null(strstr(err, "No such file or directory (os error 2)"));
	assert_int_equal(res_load_config_file(&r, dir, err, sizeof(err)), -EISDIR);
	assert_int_equal(res_load_config_file(&r, NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(res_set_config(&r, NULL, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "Invalid JSON: invalid type: null, expected struct VmmConfig");
	res_free(&r);
	(void)state;
}

static char *dump(json_t *j)
{
	assert_non_null(j);
	char *s = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return s;
}

static void test_json_output(void **state)
{
	struct vm_resources r, r2;
	res_init(&r);
	res_init(&r2);
	char *s = dump(res_machine_config_json(&r));
	assert_string_equal(s, "{\"vcpu_count\":1,\"mem_size_mib\":128,\"smt\":false,"
			    "\"track_dirty_pages\":false,\"huge_pages\":\"None\"}");
	free(s);
	s = dump(res_boot_source_json(&r));
	assert_string_equal(s, "{\"kernel_image_path\":\"\",\"initrd_path\":null,\"boot_args\":null}");
	free(s);

	assert_int_equal(mc(&r, false, "{\"vcpu_count\": 4, \"mem_size_mib\": 512, \"smt\": true, "
			    "\"track_dirty_pages\": true, \"huge_pages\": \"2M\", \"cpu_template\": \"None\"}"), 0);
	json_t *m = res_machine_config_json(&r);
	assert_int_equal(res_set_machine_config(&r2, m, false, err, sizeof(err)), 0);
	assert_memory_equal(&r.machine, &r2.machine, sizeof(r.machine));
	s = dump(m);
	assert_string_equal(s, "{\"vcpu_count\":4,\"mem_size_mib\":512,\"smt\":true,"
			    "\"track_dirty_pages\":true,\"huge_pages\":\"2M\"}");
	free(s);
	assert_int_equal(mc(&r, true, "{\"huge_pages\": \"Transparent\"}"), 0);
	s = dump(res_machine_config_json(&r));
	assert_non_null(strstr(s, "\"huge_pages\":\"Transparent\""));
	free(s);

	assert_int_equal(boot(&r, J("{\"kernel_image_path\": \"%s\", \"initrd_path\": \"%s\", "
				    "\"boot_args\": \"console=ttyS0\", \"boot_protocol\": \"linux\"}",
				    kernel, initrd)), 0);
	json_t *b = res_boot_source_json(&r);
	assert_int_equal(res_set_boot_source(&r2, b, err, sizeof(err)), 0);
	assert_string_equal(r2.boot.kernel_image_path, kernel);
	assert_string_equal(r2.boot.initrd_path, initrd);
	assert_string_equal(r2.boot.boot_args, "console=ttyS0");
	assert_int_equal(r2.boot.proto, BOOT_PROTO_LINUX);
	assert_string_equal(json_string_value(json_object_get(b, "boot_protocol")), "linux");
	json_decref(b);
	assert_int_equal(boot(&r, J("{\"kernel_image_path\": \"%s\"}", kernel)), 0);
	b = res_boot_source_json(&r);
	assert_null(json_object_get(b, "boot_protocol")); /* auto is not emitted */
	assert_true(json_is_null(json_object_get(b, "boot_args")));
	json_decref(b);
	res_free(&r);
	res_free(&r2);
	(void)state;
}

/* Every field of every object given every kind of value: errors or not,
 * nothing may crash, leak or overflow (run under ASan in `make test`). */
static void test_robustness(void **state)
{
	static const char *const vals[] = {
		"null", "true", "false", "0", "-1", "1", "2", "255", "256", "9223372036854775807",
		"-9223372036854775808", "0.5", "1e300", "\"\"", "\"None\"", "\"2M\"", "\"pvh\"",
		"\"\\u0000\"", "[]", "[null]", "{}", "{\"a\": {}}",
	};
	static const char *const fields[] = {
		"vcpu_count", "mem_size_mib", "smt", "cpu_template", "track_dirty_pages",
		"huge_pages", "kernel_image_path", "initrd_path", "boot_args", "boot_protocol", "",
	};
	static const char *const keys[] = { "boot-source", "machine-config", "drives", "logger", "zzz" };
	char small[16];
	struct vm_resources r;
	res_init(&r);
	int fds = count_fds();
	for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
		for (size_t v = 0; v < sizeof(vals) / sizeof(vals[0]); v++) {
			json_t *j = J("{\"%s\": %s}", fields[f], vals[v]);
			res_set_machine_config(&r, j, false, err, sizeof(err));
			res_set_machine_config(&r, j, true, small, sizeof(small));
			res_set_boot_source(&r, j, NULL, 0);
			res_set_config(&r, j, err, sizeof(err));
			json_decref(j);
			j = J("%s", vals[v]);
			res_set_machine_config(&r, j, true, err, sizeof(err));
			res_set_boot_source(&r, j, err, sizeof(err));
			res_set_config(&r, j, small, sizeof(small));
			json_decref(j);
		}
	}
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		for (size_t v = 0; v < sizeof(vals) / sizeof(vals[0]); v++) {
			json_t *j = J("{\"%s\": %s}", keys[k], vals[v]);
			res_set_config(&r, j, err, sizeof(err));
			json_decref(j);
		}
	}
	res_free(&r);
	assert_int_equal(count_fds(), fds);
	(void)state;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_vcpu_bounds),
		cmocka_unit_test(test_mem_bounds),
		cmocka_unit_test(test_smt),
		cmocka_unit_test(test_mc_shape),
		cmocka_unit_test(test_cpu_template),
		cmocka_unit_test(test_put_resets_patch_keeps),
		cmocka_unit_test(test_boot_valid),
		cmocka_unit_test(test_boot_errors),
		cmocka_unit_test(test_config_valid),
		cmocka_unit_test(test_config_errors),
		cmocka_unit_test(test_json_output),
		cmocka_unit_test(test_robustness),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
