#include "auth.h"
#include "log.h"

#include <mbedtls/version.h>
#include <mbedtls/md.h>
#include <mbedtls/pkcs5.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SALT_LEN 16
#define DK_LEN 32
#define FAIL_SLOTS 256

/* mbedTLS 3.3 and later take the hash by type (the context form is
 * deprecated there); 2.28, Debian 12's, has only the context form. */
static bool pbkdf2(const char *password, const uint8_t *salt, size_t salt_len, unsigned iterations,
		   uint8_t out[DK_LEN])
{
	int rc;
#if MBEDTLS_VERSION_NUMBER >= 0x03030000
	rc = mbedtls_pkcs5_pbkdf2_hmac_ext(MBEDTLS_MD_SHA256, (const unsigned char *)password, strlen(password),
					   salt, salt_len, iterations, DK_LEN, out);
#else
	mbedtls_md_context_t md;

	mbedtls_md_init(&md);
	rc = mbedtls_md_setup(&md, mbedtls_md_info_from_type(MBEDTLS_MD_SHA256), 1);
	if (rc == 0)
		rc = mbedtls_pkcs5_pbkdf2_hmac(&md, (const unsigned char *)password, strlen(password), salt,
					       salt_len, iterations, DK_LEN, out);
	mbedtls_md_free(&md);
#endif
	return rc == 0;
}

int auth_hash_password(const char *password, int iterations, char *out, size_t cap)
{
	uint8_t salt[SALT_LEN], dk[DK_LEN];
	char salt_hex[2 * SALT_LEN + 1], dk_hex[2 * DK_LEN + 1];

	if (random_bytes(salt, sizeof(salt)) < 0 || !pbkdf2(password, salt, sizeof(salt), (unsigned)iterations, dk))
		return -1;
	hex_encode(salt_hex, salt, sizeof(salt));
	hex_encode(dk_hex, dk, sizeof(dk));
	snprintf(out, cap, "pbkdf2-sha256$%d$%s$%s", iterations, salt_hex, dk_hex);
	return 0;
}

bool auth_check_password(const char *hash, const char *password)
{
	uint8_t salt[SALT_LEN], want[DK_LEN], got[DK_LEN];
	const char *p, *s, *d;
	char *end;
	long iter;
	unsigned char diff = 0;

	if (strncmp(hash, "pbkdf2-sha256$", 14))
		return false;
	p = hash + 14;
	iter = strtol(p, &end, 10);
	if (end == p || *end != '$' || iter < 1000 || iter > 10000000)
		return false;
	s = end + 1;
	d = strchr(s, '$');
	if (!d || !hex_decode(salt, SALT_LEN, s, (size_t)(d - s)) || !hex_decode(want, DK_LEN, d + 1, strlen(d + 1)))
		return false;
	if (!pbkdf2(password, salt, SALT_LEN, (unsigned)iter, got))
		return false;
	for (int i = 0; i < DK_LEN; i++)
		diff |= (unsigned char)(got[i] ^ want[i]);
	return diff == 0;
}

struct session {
	char token[SESSION_TOKEN_LEN + 1];
	char user[USER_MAX + 1];
	uint64_t expires;		/* now_ms() */
};

struct fail {
	uint8_t addr[16];
	uint64_t window_start;
	int count;
};

struct auth {
	const struct dash_config *c;
	pthread_mutex_t lock;
	struct session sessions[SESSIONS_MAX];
	struct fail fails[FAIL_SLOTS];
	/* One dummy hash, so an unknown user costs as much time as a wrong password. */
	char dummy[HASH_MAX + 1];
};

struct auth *auth_new(const struct dash_config *c)
{
	struct auth *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->c = c;
	pthread_mutex_init(&a->lock, NULL);
	if (auth_hash_password("not a password", AUTH_ITERATIONS, a->dummy, sizeof(a->dummy)) < 0) {
		free(a);
		return NULL;
	}
	return a;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/* The address a failure counts against: IPv4, or an IPv6 /64 (one host may hold a whole /64). */
static void addr_key(const struct sockaddr *sa, uint8_t key[16])
{
	memset(key, 0, 16);
	if (sa && sa->sa_family == AF_INET) {
		memcpy(key, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, 4);
	} else if (sa && sa->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, 8);
		key[15] = 6;
	}
}

static struct fail *fail_slot(struct auth *a, const uint8_t key[16], uint64_t now, bool create)
{
	struct fail *victim = NULL;
	uint64_t window = (uint64_t)a->c->login_window * 1000;

	for (int i = 0; i < FAIL_SLOTS; i++) {
		struct fail *f = &a->fails[i];
		if (f->count && now - f->window_start >= window)
			f->count = 0;
		if (f->count && !memcmp(f->addr, key, 16))
			return f;
		/* an empty slot, else the one whose window began longest ago */
		if (!victim || (victim->count && (!f->count || f->window_start < victim->window_start)))
			victim = f;
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->addr, key, 16);
	victim->window_start = now;
	return victim;
}

int auth_login(struct auth *a, const struct sockaddr *from, const char *user, const char *password,
	       char token[SESSION_TOKEN_LEN + 1], int *retry_after)
{
	uint8_t key[16], raw[SESSION_TOKEN_LEN / 2];
	uint64_t now = now_ms();
	const char *hash = a->dummy;
	struct fail *f;
	bool ok;

	addr_key(from, key);
	pthread_mutex_lock(&a->lock);
	f = fail_slot(a, key, now, false);
	if (f && f->count >= a->c->login_attempts) {
		*retry_after = (int)(((uint64_t)a->c->login_window * 1000 - (now - f->window_start)) / 1000) + 1;
		pthread_mutex_unlock(&a->lock);
		return -1;
	}
	pthread_mutex_unlock(&a->lock);

	for (int i = 0; i < a->c->n_users; i++)
		if (!strcmp(a->c->users[i].name, user))
			hash = a->c->users[i].hash;
	ok = auth_check_password(hash, password) && hash != a->dummy;

	pthread_mutex_lock(&a->lock);
	if (!ok) {
		f = fail_slot(a, key, now, true);
		f->count++;
		pthread_mutex_unlock(&a->lock);
		return 0;
	}
	if (random_bytes(raw, sizeof(raw)) < 0) {
		pthread_mutex_unlock(&a->lock);
		return 0;
	}
	hex_encode(token, raw, sizeof(raw));
	{
		struct session *slot = &a->sessions[0];
		for (int i = 0; i < SESSIONS_MAX; i++) {
			struct session *s = &a->sessions[i];
			if (!s->token[0] || s->expires <= now) {
				slot = s;
				break;
			}
			if (s->expires < slot->expires)
				slot = s;	/* full: the session closest to expiry makes way */
		}
		memcpy(slot->token, token, SESSION_TOKEN_LEN + 1);
		snprintf(slot->user, sizeof(slot->user), "%s", user);
		slot->expires = now + (uint64_t)a->c->session_ttl * 1000;
	}
	pthread_mutex_unlock(&a->lock);
	return 1;
}

bool auth_session(struct auth *a, const char *token, char user[USER_MAX + 1])
{
	uint64_t now = now_ms();
	bool found = false;

	if (strlen(token) != SESSION_TOKEN_LEN)
		return false;
	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < SESSIONS_MAX && !found; i++) {
		struct session *s = &a->sessions[i];
		if (s->token[0] && secret_equal(s->token, token)) {
			if (s->expires > now) {
				snprintf(user, USER_MAX + 1, "%s", s->user);
				found = true;
			} else {
				memset(s, 0, sizeof(*s));
			}
		}
	}
	pthread_mutex_unlock(&a->lock);
	return found;
}

void auth_logout(struct auth *a, const char *token)
{
	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < SESSIONS_MAX; i++)
		if (a->sessions[i].token[0] && secret_equal(a->sessions[i].token, token))
			memset(&a->sessions[i], 0, sizeof(a->sessions[i]));
	pthread_mutex_unlock(&a->lock);
}

bool auth_bearer(const struct auth *a, const char *token)
{
	bool ok = false;

	for (int i = 0; i < a->c->n_tokens; i++)
		ok |= secret_equal(a->c->tokens[i], token);
	return ok;
}

int auth_sessions(struct auth *a)
{
	uint64_t now = now_ms();
	int n = 0;

	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < SESSIONS_MAX; i++)
		n += a->sessions[i].token[0] && a->sessions[i].expires > now;
	pthread_mutex_unlock(&a->lock);
	return n;
}
