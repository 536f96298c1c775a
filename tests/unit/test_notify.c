/* SPDX-License-Identifier: MIT */
/*
 * Our sd_notify: a datagram to $NOTIFY_SOCKET, a path or an abstract
 * '@' name, received here by a socket of the test's own.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "notify.h"

/* A receiving socket at name ("@..." abstract, else a path). */
static int listener(const char *name)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memcpy(a.sun_path, name, strlen(name));
	if (name[0] == '@')
		a.sun_path[0] = '\0';
	assert_int_equal(bind(fd, (struct sockaddr *)&a, len), 0);
	return fd;
}

/* The next datagram starts with want. */
static void receives(int fd, const char *want)
{
	char buf[256];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	assert_true(n > 0);
	buf[n] = '\0';
	if (strncmp(buf, want, strlen(want)) != 0)
		fail_msg("got \"%s\", not \"%s...\"", buf, want);
}

static void sends_to(const char *name)
{
	struct notifier n;
	int fd = listener(name);

	setenv("NOTIFY_SOCKET", name, 1);
	assert_int_equal(notify_open(&n), 0);
	assert_null(getenv("NOTIFY_SOCKET"));
	assert_int_equal(notify_send(&n, "READY=1"), 0);
	receives(fd, "READY=1");
	assert_int_equal(notify_reloading(&n), 0);
	receives(fd, "RELOADING=1\nMONOTONIC_USEC=");
	notify_close(&n);
	close(fd);
}

static void an_abstract_address_is_reached(void **state)
{
	char name[64];

	(void)state;
	snprintf(name, sizeof(name), "@bsdpd-test-notify-%d", (int)getpid());
	sends_to(name);
}

static void a_path_is_reached(void **state)
{
	char dir[] = "/tmp/bsdpd-notify.XXXXXX", path[128];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	sends_to(path);
	unlink(path);
	rmdir(dir);
}

static void without_the_variable_nothing_is_sent(void **state)
{
	struct notifier n;

	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_int_equal(notify_open(&n), 0);
	assert_int_equal(n.fd, -1);
	assert_int_equal(notify_send(&n, "READY=1"), 0);
	notify_close(&n);
}

static void other_addresses_are_refused(void **state)
{
	static const char *const bad[] = { "vsock:2:1234", "relative/path", "@", "" };
	char longpath[200];
	struct notifier n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		setenv("NOTIFY_SOCKET", bad[i], 1);
		assert_int_equal(notify_open(&n), -EINVAL);
		assert_int_equal(n.fd, -1);
	}
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	setenv("NOTIFY_SOCKET", longpath, 1);
	assert_int_equal(notify_open(&n), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(an_abstract_address_is_reached),
		cmocka_unit_test(a_path_is_reached),
		cmocka_unit_test(without_the_variable_nothing_is_sent),
		cmocka_unit_test(other_addresses_are_refused),
	};

	return cmocka_run_group_tests_name("notify", tests, NULL, NULL);
}
