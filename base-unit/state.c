#include "state.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STATE_MAGIC "intercom-base-state 1"

/* "device ID HEX" lines; the announcement is the HELLO body, as on the wire. */
static bool parse_line(char *line, char id[IC_ID_MAX + 1], struct ic_hello *h)
{
	static uint8_t body[IC_BODY_MAX];
	char *sp1, *sp2, *hex;
	size_t n, len;

	line[strcspn(line, "\n")] = '\0';
	if (strncmp(line, "device ", 7) != 0)
		return false;
	sp1 = line + 7;
	sp2 = strchr(sp1, ' ');
	if (!sp2 || (size_t)(sp2 - sp1) > IC_ID_MAX || !ic_id_valid(sp1, (size_t)(sp2 - sp1)))
		return false;
	memcpy(id, sp1, (size_t)(sp2 - sp1));
	id[sp2 - sp1] = '\0';
	hex = sp2 + 1;
	n = strlen(hex);
	if (n % 2 || n / 2 > sizeof(body))
		return false;
	len = n / 2;
	for (size_t i = 0; i < len; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		body[i] = (uint8_t)(hi << 4 | lo);
	}
	return ic_hello_decode(h, body, len) == IC_OK;
}

int state_load(struct device_table *t, const char *path)
{
	char line[2 * IC_BODY_MAX + IC_ID_MAX + 16];
	struct { char id[IC_ID_MAX + 1]; struct ic_hello h; } *found = NULL;
	int n = 0, lineno = 1, restored = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		if (errno == ENOENT)
			log_info("no state file %s yet: a clean start", path);
		else
			log_warn("cannot read state file %s (%s): a clean start", path, strerror(errno));
		return 0;
	}
	if (!fgets(line, sizeof(line), f) || strncmp(line, STATE_MAGIC, strlen(STATE_MAGIC)) != 0)
		goto damaged;
	found = calloc(t->n ? (size_t)t->n : 1, sizeof(*found));
	if (!found)
		goto damaged;
	/* read everything first: a damaged line anywhere means trust nothing */
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (n == t->n || !parse_line(line, found[n].id, &found[n].h))
			goto damaged;
		n++;
	}
	fclose(f);
	for (int i = 0; i < n; i++) {
		struct device *d = device_table_find(t, found[i].id);

		if (!d)
			continue;	/* no longer configured */
		if (device_set_info(d, &found[i].h) < 0)
			break;
		restored++;
	}
	free(found);
	log_info("state file %s: restored what %d devices announced", path, restored);
	return restored;
damaged:
	log_warn("state file %s is damaged (line %d): ignoring it, a clean start", path, lineno);
	free(found);
	fclose(f);
	return -1;
}

int state_save(const struct device_table *t, const char *path)
{
	char tmp[4096], dir[4096];
	uint8_t body[IC_BODY_MAX];
	int fd, ret = 0;
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		ret = -errno;
		if (fd >= 0)
			close(fd);
		log_warn("cannot write state file %s: %s", tmp, strerror(-ret));
		return ret;
	}
	fprintf(f, "%s\n", STATE_MAGIC);
	for (int i = 0; i < t->n; i++) {
		const struct device *d = &t->devices[i];
		int n;

		if (!d->info || !d->info->hello.kind || (d->cam && d->cam->pull))
			continue;
		n = ic_hello_encode(body, sizeof(body), &d->info->hello);
		if (n < 0)
			continue;
		fprintf(f, "device %s ", d->peer.id);
		for (int k = 0; k < n; k++)
			fprintf(f, "%02x", body[k]);
		fputc('\n', f);
	}
	/* the data on disk before the name points at it */
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		ret = -errno;
	if (fclose(f) != 0 && !ret)
		ret = -errno;
	if (!ret && rename(tmp, path) != 0)
		ret = -errno;
	if (ret) {
		log_warn("cannot write state file %s: %s", path, strerror(-ret));	/* a full disk, say: the old file stays */
		unlink(tmp);
		return ret;
	}
	snprintf(dir, sizeof(dir), "%s", path);
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return 0;
}
