/*
 * Who may use the dashboard: password hashes, login sessions, the per-address
 * limits on logins. Thread-safe (libmicrohttpd's polling threads share it).
 *
 * Password hashes are PBKDF2-HMAC-SHA256 with a random 16-byte salt, written
 * "pbkdf2-sha256$ITERATIONS$SALT_HEX$HASH_HEX" (the same parts as Django's or
 * passlib's; mbedTLS does the work, so an ESP32 build could check one too).
 */
#ifndef DASH_AUTH_H
#define DASH_AUTH_H

#include "settings.h"

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#define AUTH_ITERATIONS 100000
#define SESSION_TOKEN_LEN 64		/* hex characters: 32 random bytes */
#define SESSIONS_MAX 1024
#define KNOWN_MAX 1024			/* browsers that have logged in */
#define KNOWN_TTL_S (365 * 86400)
#define AUTH_STRANGER_CHECKS 2		/* password checks at once for browsers not known */

/* Writes a new hash of password into out. 0, or -1 if randomness failed. */
int auth_hash_password(const char *password, int iterations, char *out, size_t cap);
/* Whether password matches hash (a malformed hash never matches). */
bool auth_check_password(const char *hash, const char *password);

struct auth;

struct auth *auth_new(const struct dash_config *c);
void auth_free(struct auth *a);

/* Checks a login. known: the browser's known-device cookie (or NULL): one
 * that logged in before skips the limits below. Strangers' attempts count
 * when they start, against the address and its network (IPv4 /24, IPv6 /48:
 * four times login_attempts per window), one check at a time per address and
 * AUTH_STRANGER_CHECKS in all. Returns 1 (ok: token holds a new session
 * token; known_out a new known-device token to set, or ""), 0 (wrong user or
 * password), -1 (too many attempts from here lately: *retry_after says how
 * many seconds to wait) or -2 (busy: another check of this address, or too
 * many at once; retry in a second). */
int auth_login(struct auth *a, const struct sockaddr *from, const char *known, const char *user,
	       const char *password, char token[SESSION_TOKEN_LEN + 1], char known_out[SESSION_TOKEN_LEN + 1],
	       int *retry_after);
/* The user of a live session (copied to user), or false. */
bool auth_session(struct auth *a, const char *token, char user[USER_MAX + 1]);
void auth_logout(struct auth *a, const char *token);
/* Whether token is one of the configured bearer tokens. */
bool auth_bearer(struct auth *a, const char *token);
/* The users and tokens of c from now on (a reload); the sessions of users
 * who are gone or whose password changed end. Returns how many ended. */
int auth_set_credentials(struct auth *a, const struct dash_config *c);
int auth_sessions(struct auth *a);	/* live sessions, for /metrics */

#endif
