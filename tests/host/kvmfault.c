/* LD_PRELOAD fault injector for ember's KVM bring-up tests: makes
 * KVM_GET_API_VERSION or KVM_CHECK_EXTENSION lie, so the error paths for a
 * wrong API version or a missing capability run against the real /dev/kvm.
 *   KVMFAULT_API_VERSION=N   KVM_GET_API_VERSION returns N
 *   KVMFAULT_NO_CAP=N        KVM_CHECK_EXTENSION(N) returns 0 */
#include <dlfcn.h>
#include <linux/kvm.h>
#include <stdarg.h>
#include <stdlib.h>

typedef int (*ioctl_fn)(int, unsigned long, ...);

int ioctl(int fd, unsigned long req, ...);

int ioctl(int fd, unsigned long req, ...)
{
	static ioctl_fn real;
	const char *api = getenv("KVMFAULT_API_VERSION");
	const char *cap = getenv("KVMFAULT_NO_CAP");
	va_list ap;
	void *arg;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (!real)
		real = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
	if (req == KVM_GET_API_VERSION && api)
		return atoi(api);
	if (req == KVM_CHECK_EXTENSION && cap && (long)arg == atol(cap))
		return 0;
	return real(fd, req, arg);
}
