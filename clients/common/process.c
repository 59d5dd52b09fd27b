#include "process.h"
#include "util.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

int process_run(char *const argv[], int timeout_ms, char *out, size_t cap)
{
	uint64_t deadline = now_ms() + (uint64_t)timeout_ms;
	int fds[2], status = 0;
	size_t n = 0;
	bool timed_out = false;
	pid_t pid;

	if (cap == 0 || pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		int devnull = open("/dev/null", O_RDONLY);

		if (devnull >= 0)
			dup2(devnull, 0);
		dup2(fds[1], 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		struct pollfd p = { .fd = fds[0], .events = POLLIN };
		uint64_t now = now_ms();
		char sink[256];
		ssize_t r;

		if (now >= deadline || poll(&p, 1, (int)(deadline - now)) <= 0) {
			timed_out = true;
			kill(pid, SIGKILL);
			break;
		}
		if (n + 1 < cap)
			r = read(fds[0], out + n, cap - 1 - n);
		else
			r = read(fds[0], sink, sizeof(sink));	/* keep draining, keep nothing */
		if (r <= 0)
			break;
		if (n + 1 < cap)
			n += (size_t)r;
	}
	out[n] = '\0';
	close(fds[0]);
	if (waitpid(pid, &status, 0) < 0 || timed_out || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}
