/* Configuration parsing: the splitter, the base unit's keys, and errors that
 * name the file, the line and what was expected. */
#include "test.h"
#include "tests.h"
#include "conf.h"
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_split(void)
{
	char line[] = "sensor load - command \"cut -d' ' -f1 \\\"x\\\"\" 0.5 # comment";
	char bad[] = "key \"unclosed";
	char glued[] = "key \"a\"b";
	char empty[] = "   # only a comment";
	char *argv[CONF_MAX_ARGS], err[128];
	int argc;

	CHECK(conf_split(line, &argc, argv, CONF_MAX_ARGS, err, sizeof(err)));
	CHECK_EQ(argc, 6);
	CHECK(argc == 6 && strcmp(argv[4], "cut -d' ' -f1 \"x\"") == 0);
	CHECK(argc == 6 && strcmp(argv[5], "0.5") == 0);
	CHECK(!conf_split(bad, &argc, argv, CONF_MAX_ARGS, err, sizeof(err)));
	CHECK(strstr(err, "unclosed quote") != NULL);
	CHECK(!conf_split(glued, &argc, argv, CONF_MAX_ARGS, err, sizeof(err)));
	CHECK(conf_split(empty, &argc, argv, CONF_MAX_ARGS, err, sizeof(err)));
	CHECK_EQ(argc, 0);
}

static bool feed(struct base_config *c, const char *text, char *err, size_t errlen)
{
	char buf[CONF_LINE_MAX];
	struct conf_line l = { .file = "t.conf", .line = 1 };

	snprintf(buf, sizeof(buf), "%s", text);
	err[0] = '\0';
	if (!conf_split(buf, &l.argc, l.argv, CONF_MAX_ARGS, err, errlen))
		return false;
	return base_config_line(c, &l, err, errlen);
}

static void test_base_keys(void)
{
	struct base_config c;
	char err[256];

	base_config_init(&c);
	CHECK(feed(&c, "prefix home/cellar", err, sizeof(err)));
	CHECK(strcmp(c.prefix, "home/cellar") == 0);
	CHECK(!feed(&c, "prefix home/+", err, sizeof(err)));
	CHECK(strstr(err, "'home/+'") != NULL);
	CHECK(!feed(&c, "prefix /x", err, sizeof(err)));
	CHECK(!feed(&c, "prefix x/", err, sizeof(err)));
	CHECK(feed(&c, "mqtt_port 8884", err, sizeof(err)));
	CHECK_EQ(c.mqtt.port, 8884);
	CHECK(!feed(&c, "mqtt_port 70000", err, sizeof(err)));
	CHECK(strstr(err, "from 1 to 65535") && strstr(err, "'70000'"));
	CHECK(!feed(&c, "mqtt_port", err, sizeof(err)));
	CHECK(!feed(&c, "mqtt_qos 2", err, sizeof(err)));
	CHECK(!feed(&c, "frobnicate 1", err, sizeof(err)));
	CHECK(strstr(err, "unknown key 'frobnicate'") != NULL);
	CHECK(feed(&c, "device cellar-thermo 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		   err, sizeof(err)));
	CHECK_EQ(c.n_devices, 1);
	CHECK_EQ(c.devices[0].psk[31], 0x1f);
	CHECK(!feed(&c, "device Cellar 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		    err, sizeof(err)));
	CHECK(!feed(&c, "device bridge 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
		    err, sizeof(err)));
	CHECK(!feed(&c, "device lamp 0001", err, sizeof(err)));
	CHECK(strstr(err, "64 hex digits") != NULL);
	CHECK(!feed(&c, "device lamp", err, sizeof(err)));
	CHECK(!feed(&c, "log_level loud", err, sizeof(err)));
	CHECK(feed(&c, "log_level debug", err, sizeof(err)));
	base_config_free(&c);
}

/* Loads text as a file and returns what conf_load printed. */
static int load_text(const char *text, char *printed, size_t cap)
{
	char path[] = "/tmp/intercom-conf-XXXXXX", outpath[] = "/tmp/intercom-err-XXXXXX";
	int fd = mkstemp(path), ofd = mkstemp(outpath), saved = dup(2), errors;
	struct base_config c;
	ssize_t n;

	if (write(fd, text, strlen(text)) < 0)
		return -1;
	close(fd);
	fflush(stderr);
	dup2(ofd, 2);
	base_config_init(&c);
	errors = base_config_load(&c, path) ? 0 : 1;
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(ofd, printed, cap - 1, 0);
	printed[n > 0 ? n : 0] = '\0';
	close(ofd);
	/* names in the output are the temporary path; make them stable */
	for (char *p; (p = strstr(printed, path));)
		memmove(p + 6, p + strlen(path), strlen(p + strlen(path)) + 1), memcpy(p, "t.conf", 6);
	unlink(path);
	unlink(outpath);
	base_config_free(&c);
	return errors;
}

static void test_load_errors(void)
{
	static const char good[] =
		"# a base unit\n"
		"mqtt_cafile ca.crt\nmqtt_username base\nmqtt_password secret\n"
		"listen 127.0.0.1:47800\n"
		"device a 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
	static const char bad[] =
		"mqtt_cafile ca.crt\nmqtt_username base\nmqtt_password secret\n"
		"\n"
		"mqtt_port eighty\n"
		"device a 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
		"device a 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
	static const char missing[] = "listen 127.0.0.1:1\n";
	char out[2048];

	CHECK_EQ(load_text(good, out, sizeof(out)), 0);
	CHECK_EQ(load_text(bad, out, sizeof(out)), 1);
	CHECK(strstr(out, "t.conf:5: 'mqtt_port' expects a whole number") != NULL);
	CHECK_EQ(load_text(bad + 0, out, sizeof(out)), 1);
	CHECK_EQ(load_text(missing, out, sizeof(out)), 1);
	CHECK(strstr(out, "missing 'mqtt_cafile'") != NULL);
	{
		static const char dup[] =
			"mqtt_cafile ca.crt\nmqtt_username base\nmqtt_password secret\n"
			"device a 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
			"device a 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
		CHECK_EQ(load_text(dup, out, sizeof(out)), 1);
		CHECK(strstr(out, "t.conf:5: device 'a' is already defined on line 4") != NULL);
	}
}

const struct test_case config_tests[] = {
	{ "conf_split", test_split },
	{ "base_config_keys", test_base_keys },
	{ "base_config_load_errors", test_load_errors },
	{ NULL, NULL },
};
