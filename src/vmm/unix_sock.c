/* Listening UNIX sockets with stale-socket replacement (unix_sock.h). */
#include "ember/unix_sock.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Nothing at the path, or a stale socket removed: 0; else -errno. */
static int clear_stale(const struct sockaddr_un *sa, int type)
{
	struct stat st;
	int fd, rc;

	if (lstat(sa->sun_path, &st))
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, (type & ~SOCK_NONBLOCK) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) ? -errno : 0;
	close(fd);
	if (rc == 0)
		return -EADDRINUSE;
	if (rc != -ECONNREFUSED)
		return rc;
	return unlink(sa->sun_path) && errno != ENOENT ? -errno : 0;
}

int usock_listen(const char *path, int type, int backlog)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc;

	if (!path || strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	rc = clear_stale(&sa, type);
	if (rc)
		return rc;
	fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0600) || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		rc = -errno;
		close(fd);
		return rc;
	}
	if (listen(fd, backlog)) {
		rc = -errno;
		unlink(path);
		close(fd);
		return rc;
	}
	return fd;
}
