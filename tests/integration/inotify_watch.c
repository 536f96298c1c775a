/* SPDX-License-Identifier: MIT */
/*
 * For the traversal tests (TFTP and HTTP): prints one line per IN_OPEN or
 * IN_ACCESS on the paths given, so a test can prove that nothing outside
 * the served root was opened or read.
 */
#include <stdio.h>
#include <sys/inotify.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	char buf[4096] __attribute__((aligned(8)));
	int fd = inotify_init1(IN_CLOEXEC);

	for (int i = 1; i < argc; i++)
		if (inotify_add_watch(fd, argv[i], IN_OPEN | IN_ACCESS) < 0) {
			perror(argv[i]);
			return 1;
		}
	puts("watching");
	fflush(stdout);
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));

		for (char *p = buf; n > 0 && p < buf + n;) {
			struct inotify_event *e = (struct inotify_event *)(void *)p;

			printf("event %#x on %s/%s\n", e->mask, argv[e->wd], e->len ? e->name : "");
			fflush(stdout);
			p += sizeof(*e) + e->len;
		}
	}
}
