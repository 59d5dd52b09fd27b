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
#define FAIL_SLOTS 4096

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

/* Login attempts, per address and per the network around it: counted when
 * they start, before the hash, so parallel guesses count too. */
struct fail {
	uint8_t addr[16];
	uint64_t window_start;
	int count;
	int hashing;			/* attempts of this address being checked right now */
};

/* A browser that logged in before: its cookie lets it past the limits that
 * strangers share, so nobody can lock the real user out by failing on
 * purpose. Kept in memory: after a restart it counts as new once. */
struct known {
	char token[SESSION_TOKEN_LEN + 1];
	uint64_t expires;
};

struct auth {
	const struct dash_config *c;
	pthread_mutex_t lock;
	/* Who may log in and which tokens open the API: the configuration's,
	 * copied, so a reload can change them under the lock. */
	struct dash_user users[DASH_USERS_MAX];
	int n_users;
	char tokens[DASH_TOKENS_MAX][TOKEN_MAX + 1];
	int n_tokens;
	struct session sessions[SESSIONS_MAX];
	struct fail fails[FAIL_SLOTS];
	struct known known[KNOWN_MAX];
	int hashing;			/* checks running for strangers, in all */
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
	auth_set_credentials(a, c);
	if (auth_hash_password("not a password", AUTH_ITERATIONS, a->dummy, sizeof(a->dummy)) < 0) {
		free(a);
		return NULL;
	}
	return a;
}

int auth_set_credentials(struct auth *a, const struct dash_config *c)
{
	int ended = 0;

	pthread_mutex_lock(&a->lock);
	/* A session of a user who is gone, or whose password changed, ends. */
	for (int i = 0; i < SESSIONS_MAX; i++) {
		struct session *s = &a->sessions[i];
		const char *old = NULL, *now = NULL;

		if (!s->token[0])
			continue;
		for (int k = 0; k < a->n_users; k++)
			if (!strcmp(a->users[k].name, s->user))
				old = a->users[k].hash;
		for (int k = 0; k < c->n_users; k++)
			if (!strcmp(c->users[k].name, s->user))
				now = c->users[k].hash;
		if (!now || (old && strcmp(old, now))) {
			memset(s, 0, sizeof(*s));
			ended++;
		}
	}
	memcpy(a->users, c->users, sizeof(a->users));
	a->n_users = c->n_users;
	memcpy(a->tokens, c->tokens, sizeof(a->tokens));
	a->n_tokens = c->n_tokens;
	pthread_mutex_unlock(&a->lock);
	return ended;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/* The address a failure counts against: IPv4, or an IPv6 /64 (one host may
 * hold a whole /64); with net, the network around it: an IPv4 /24 or an IPv6
 * /48, so that one host rotating through its neighbours' addresses is still
 * one place. */
static void addr_key(const struct sockaddr *sa, uint8_t key[16], bool net)
{
	memset(key, 0, 16);
	if (sa && sa->sa_family == AF_INET) {
		memcpy(key, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, net ? 3 : 4);
		key[14] = 4;
	} else if (sa && sa->sa_family == AF_INET6) {
		memcpy(key, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, net ? 6 : 8);
		key[14] = 6;
	}
	key[15] = net;
}

static struct fail *fail_slot(struct auth *a, const uint8_t key[16], uint64_t now, bool create)
{
	struct fail *victim = NULL;
	uint64_t window = (uint64_t)a->c->login_window * 1000;

	for (int i = 0; i < FAIL_SLOTS; i++) {
		struct fail *f = &a->fails[i];
		if (f->count && !f->hashing && now - f->window_start >= window)
			f->count = 0;
		if (f->count && !memcmp(f->addr, key, 16))
			return f;
		/* an empty slot, else the one whose window began longest ago
		 * (never one whose check is running) */
		if (f->hashing)
			continue;
		if (!victim || (victim->count && (!f->count || f->window_start < victim->window_start)))
			victim = f;
	}
	if (!create || !victim)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	memcpy(victim->addr, key, 16);
	victim->window_start = now;
	return victim;
}

static bool known_device(struct auth *a, const char *token, uint64_t now)
{
	if (!token || strlen(token) != SESSION_TOKEN_LEN)
		return false;
	for (int i = 0; i < KNOWN_MAX; i++)
		if (a->known[i].expires > now && secret_equal(a->known[i].token, token))
			return true;
	return false;
}

static void new_token(char token[SESSION_TOKEN_LEN + 1])
{
	uint8_t raw[SESSION_TOKEN_LEN / 2];

	if (random_bytes(raw, sizeof(raw)) < 0)
		memset(raw, 0, sizeof(raw));	/* then the caller's check refuses it */
	hex_encode(token, raw, sizeof(raw));
}

int auth_login(struct auth *a, const struct sockaddr *from, const char *known_token, const char *user,
	       const char *password, char token[SESSION_TOKEN_LEN + 1], char known_out[SESSION_TOKEN_LEN + 1],
	       int *retry_after)
{
	uint8_t key[2][16];
	uint64_t now = now_ms();
	const char *hash = a->dummy;
	char hash_of_user[HASH_MAX + 1] = "";
	struct fail *f[2] = { NULL, NULL };
	bool ok, known;
	int limit[2] = { a->c->login_attempts, a->c->login_attempts * 4 };

	addr_key(from, key[0], false);
	addr_key(from, key[1], true);
	pthread_mutex_lock(&a->lock);
	known = known_device(a, known_token, now);
	*retry_after = 1;
	if (!known) {
		/* Strangers: counted before the check, one check at a time per
		 * address, a few at a time in all. */
		for (int k = 0; k < 2; k++) {
			f[k] = fail_slot(a, key[k], now, true);
			if (!f[k]) {	/* every slot busy checking */
				pthread_mutex_unlock(&a->lock);
				return -1;
			}
			if (f[k]->count >= limit[k]) {
				*retry_after = (int)(((uint64_t)a->c->login_window * 1000 - (now - f[k]->window_start)) / 1000) + 1;
				pthread_mutex_unlock(&a->lock);
				return -1;
			}
			f[k]->count++;	/* now, before the check: parallel guesses count too */
		}
		if (f[0]->hashing || a->hashing >= AUTH_STRANGER_CHECKS) {
			pthread_mutex_unlock(&a->lock);
			return -2;
		}
		for (int k = 0; k < 2; k++)
			f[k]->hashing++;
		a->hashing++;
	}
	for (int i = 0; i < a->n_users; i++)	/* (the lock held: a reload may change them) */
		if (!strcmp(a->users[i].name, user))
			snprintf(hash_of_user, sizeof(hash_of_user), "%s", a->users[i].hash);
	pthread_mutex_unlock(&a->lock);

	if (hash_of_user[0])
		hash = hash_of_user;
	ok = auth_check_password(hash, password) && hash != a->dummy;
	if (ok)
		new_token(token);

	pthread_mutex_lock(&a->lock);
	if (ok) {	/* a reload while the hash ran may have removed the user or changed the password */
		bool still = false;
		for (int i = 0; i < a->n_users; i++)
			still |= !strcmp(a->users[i].name, user) && !strcmp(a->users[i].hash, hash_of_user);
		ok = still;
	}
	if (!known) {
		a->hashing--;
		for (int k = 0; k < 2; k++) {
			f[k]->hashing--;
			if (ok && k == 0)
				f[k]->count = 0;	/* this address is someone who knows the password */
		}
	}
	if (!ok) {
		pthread_mutex_unlock(&a->lock);
		return 0;
	}
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
	if (!known) {
		struct known *k = &a->known[0];

		for (int i = 0; i < KNOWN_MAX; i++) {
			if (a->known[i].expires <= now) {
				k = &a->known[i];
				break;
			}
			if (a->known[i].expires < k->expires)
				k = &a->known[i];
		}
		new_token(k->token);
		k->expires = now + KNOWN_TTL_S * 1000ull;
		memcpy(known_out, k->token, SESSION_TOKEN_LEN + 1);
	} else {
		known_out[0] = '\0';
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

bool auth_bearer(struct auth *a, const char *token)
{
	bool ok = false;

	pthread_mutex_lock(&a->lock);
	for (int i = 0; i < a->n_tokens; i++)
		ok |= secret_equal(a->tokens[i], token);
	pthread_mutex_unlock(&a->lock);
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
