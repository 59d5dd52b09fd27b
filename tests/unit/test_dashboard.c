/* The dashboard's own request parsing and password hashing. */
#include "test.h"
#include "tests.h"
#include "auth.h"
#include "parse.h"

#include <stdlib.h>
#include <string.h>

static void test_cookies(void)
{
	char v[80];

	CHECK(cookie_get("a=1; intercom_session=abc; b=2", "intercom_session", v, sizeof(v)) && !strcmp(v, "abc"));
	CHECK(cookie_get("intercom_session=\"q\"", "intercom_session", v, sizeof(v)) && !strcmp(v, "q"));
	CHECK(cookie_get("x=1;intercom_session=z  ", "intercom_session", v, sizeof(v)) && !strcmp(v, "z"));
	CHECK(!cookie_get("my_intercom_session=abc", "intercom_session", v, sizeof(v)));	/* a longer name */
	CHECK(!cookie_get("intercom_sessionx=abc", "intercom_session", v, sizeof(v)));
	CHECK(!cookie_get("intercom_session=", "intercom_session", v, sizeof(v)));		/* empty */
	CHECK(!cookie_get("intercom_session", "intercom_session", v, sizeof(v)));		/* no '=' */
	CHECK(!cookie_get(NULL, "intercom_session", v, sizeof(v)));
	CHECK(!cookie_get("s=0123456789", "s", v, 5));						/* too long */
}

static void test_bearer(void)
{
	char v[80];

	CHECK(bearer_get("Bearer abc123", v, sizeof(v)) && !strcmp(v, "abc123"));
	CHECK(bearer_get("bearer  abc", v, sizeof(v)) && !strcmp(v, "abc"));
	CHECK(!bearer_get("Basic YWRtaW46eA==", v, sizeof(v)));
	CHECK(!bearer_get("Bearer ", v, sizeof(v)));
	CHECK(!bearer_get("Bearer a b", v, sizeof(v)));
	CHECK(!bearer_get(NULL, v, sizeof(v)));
}

static void test_forms(void)
{
	char v[32];
	const char *body = "user=admin&password=a%20b%2Bc+d&x=";

	CHECK(form_get(body, strlen(body), "user", v, sizeof(v)) && !strcmp(v, "admin"));
	CHECK(form_get(body, strlen(body), "password", v, sizeof(v)) && !strcmp(v, "a b+c d"));
	CHECK(form_get(body, strlen(body), "x", v, sizeof(v)) && !v[0]);	/* an empty value */
	CHECK(!form_get(body, strlen(body), "pass", v, sizeof(v)));		/* a prefix is not a name */
	CHECK(!form_get("p=%zz", 5, "p", v, sizeof(v)));			/* bad escape */
	CHECK(!form_get("p=%2", 4, "p", v, sizeof(v)));				/* cut escape */
	CHECK(!form_get("p=a%00b", 7, "p", v, sizeof(v)));			/* encoded NUL */
	CHECK(!form_get("p=0123456789", 12, "p", v, 8));			/* too long */
	CHECK(form_get("p=abcdef", 4, "p", v, sizeof(v)) && !strcmp(v, "ab"));	/* length, not NUL */
}

static void test_origin_and_paths(void)
{
	char id[DEVICE_ID_MAX + 1];
	const char *rest;

	CHECK(origin_matches("http://127.0.0.1:8080", "127.0.0.1:8080", false));
	CHECK(origin_matches("HTTP://Example.org", "example.org", false));
	CHECK(!origin_matches("https://127.0.0.1:8080", "127.0.0.1:8080", false));
	CHECK(origin_matches("https://h:1", "h:1", true));
	CHECK(!origin_matches("http://127.0.0.1:8080.evil.example", "127.0.0.1:8080", false));
	CHECK(!origin_matches("http://127.0.0.1:8080/", "127.0.0.1:8080", false));
	CHECK(!origin_matches("null", "127.0.0.1:8080", false));
	CHECK(!origin_matches("http://x", NULL, false));

	CHECK(static_path_ok("/app.js"));
	CHECK(static_path_ok("/img/a-b_c.1.png"));
	CHECK(!static_path_ok("/"));
	CHECK(!static_path_ok("/../etc/passwd"));
	CHECK(!static_path_ok("/a/../../b"));
	CHECK(!static_path_ok("/./app.js"));
	CHECK(!static_path_ok("//etc/passwd"));
	CHECK(!static_path_ok("/a\\..\\b"));
	CHECK(!static_path_ok("app.js"));
	CHECK(!static_path_ok("/a/"));
	CHECK(!static_path_ok("/%2e%2e/x"));

	CHECK(api_device_path("/api/devices/lights", id, &rest) && !strcmp(id, "lights") && !*rest);
	CHECK(api_device_path("/api/devices/cam-1/stream.mjpeg", id, &rest) && !strcmp(id, "cam-1") &&
	      !strcmp(rest, "stream.mjpeg"));
	CHECK(!api_device_path("/api/devices/", id, &rest));
	CHECK(!api_device_path("/api/devices/Bad", id, &rest));
	CHECK(!api_device_path("/api/devices/bridge", id, &rest));
	CHECK(!api_device_path("/api/devices/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", id, &rest));	/* 33 */
}

static void test_set_body(void)
{
	char user_id[SET_ID_MAX + 1], err[160], *out;

	CHECK(set_body_prepare("{\"light\":\"ON\",\"id\":\"k1\"}", 24, "dash-1", 0, &out, user_id, err, sizeof(err)));
	CHECK(!strcmp(user_id, "k1"));
	CHECK(out && !strcmp(out, "{\"light\":\"ON\",\"id\":\"dash-1\"}"));
	free(out);
	CHECK(set_body_prepare("{\"b\":2}", 7, "dash-2", 0, &out, user_id, err, sizeof(err)) && !user_id[0]);
	free(out);
	CHECK(!set_body_prepare("[1]", 3, "d", 0, &out, user_id, err, sizeof(err)) && !out);
	CHECK(!set_body_prepare("{\"id\":\"only\"}", 13, "d", 0, &out, user_id, err, sizeof(err)));	/* no control */
	CHECK(!set_body_prepare("{\"a\":1,\"id\":5}", 14, "d", 0, &out, user_id, err, sizeof(err)));
	CHECK(!set_body_prepare("{\"a\":1,\"id\":\"\\u0001\"}", 21, "d", 0, &out, user_id, err, sizeof(err)));
	CHECK(!set_body_prepare("{\"a\":1", 6, "d", 0, &out, user_id, err, sizeof(err)));
	CHECK(!set_body_prepare("", 0, "d", 0, &out, user_id, err, sizeof(err)));
	/* an id given twice is refused: otherwise ours would not be the one the base unit answers */
	CHECK(!set_body_prepare("{\"a\":1,\"id\":\"x\",\"id\":\"y\"}", 25, "d", 0, &out, user_id, err, sizeof(err)));
	CHECK(strstr(err, "given twice") != NULL);
	/* the dashboard's expiry is added, or kept where the caller's is earlier */
	CHECK(set_body_prepare("{\"a\":1}", 7, "d", 1000, &out, user_id, err, sizeof(err)));
	CHECK(out && !strcmp(out, "{\"a\":1,\"expires\":1000,\"id\":\"d\"}"));
	free(out);
	CHECK(set_body_prepare("{\"a\":1,\"expires\":500}", 21, "d", 1000, &out, user_id, err, sizeof(err)));
	CHECK(out && !strcmp(out, "{\"a\":1,\"expires\":500,\"id\":\"d\"}"));
	free(out);
	CHECK(set_body_prepare("{\"a\":1,\"expires\":5000}", 22, "d", 1000, &out, user_id, err, sizeof(err)));
	CHECK(out && !strcmp(out, "{\"a\":1,\"expires\":1000,\"id\":\"d\"}"));
	free(out);
}

static void test_passwords(void)
{
	char hash[HASH_MAX + 1];

	/* A round trip, and a hash made independently: Python's
	 * hashlib.pbkdf2_hmac("sha256", b"x", bytes(range(16)), 1000). */
	CHECK(auth_hash_password("secret", 1000, hash, sizeof(hash)) == 0);
	CHECK(auth_check_password(hash, "secret"));
	CHECK(!auth_check_password(hash, "Secret"));
	CHECK(auth_check_password("pbkdf2-sha256$1000$000102030405060708090a0b0c0d0e0f$"
				  "d6c6839b4e966da1d5b7aca963983b151129cc93df54a12fdb83ffa84949598e", "x"));
	CHECK(!auth_check_password("pbkdf2-sha256$1000$000102030405060708090a0b0c0d0e0f$"
				   "d6c6839b4e966da1d5b7aca963983b151129cc93df54a12fdb83ffa84949598e", "y"));
	CHECK(!auth_check_password("pbkdf2-sha256$10$00$00", "x"));
	CHECK(!auth_check_password("plain", "plain"));
	CHECK(!auth_check_password("pbkdf2-sha256$1000$zz0102030405060708090a0b0c0d0e0f$00", "x"));
	CHECK(secret_equal("abc", "abc") && !secret_equal("abc", "abd") && !secret_equal("abc", "abcd"));
}

const struct test_case dashboard_tests[] = {
	{ "dashboard: cookies", test_cookies },
	{ "dashboard: bearer tokens", test_bearer },
	{ "dashboard: url-encoded forms", test_forms },
	{ "dashboard: Origin and paths", test_origin_and_paths },
	{ "dashboard: set bodies", test_set_body },
	{ "dashboard: password hashes", test_passwords },
	{ NULL, NULL },
};
