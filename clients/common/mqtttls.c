#include "mqttlink_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int mqtt_link_resolve(const char *host, char addrs[][MQTT_LINK_ADDR_MAX], int max, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *res, *p;
	int rc, n = 0;

	rc = getaddrinfo(host, NULL, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot resolve %s: %s", host, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
		return -1;
	}
	for (p = res; p && n < max; p = p->ai_next) {
		const void *a = p->ai_family == AF_INET ? (const void *)&((struct sockaddr_in *)p->ai_addr)->sin_addr
			      : p->ai_family == AF_INET6 ? (const void *)&((struct sockaddr_in6 *)p->ai_addr)->sin6_addr
							 : NULL;
		bool dup = false;

		if (!a || !inet_ntop(p->ai_family, a, addrs[n], MQTT_LINK_ADDR_MAX))
			continue;
		for (int i = 0; i < n; i++)
			dup |= !strcmp(addrs[i], addrs[n]);
		if (!dup)
			n++;
	}
	freeaddrinfo(res);
	if (n == 0) {
		snprintf(err, errlen, "cannot resolve %s: no IPv4 or IPv6 address", host);
		return -1;
	}
	return n;
}

/* --- TLS: the chain against our CA, the certificate against the configured name --- */

static int verify_cb(int ok, X509_STORE_CTX *store)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct mqtt_link *l = ssl ? SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) : NULL;

	if (!ok && l && !l->tls_why[0])
		snprintf(l->tls_why, sizeof(l->tls_why), "the broker's certificate was refused: %s",
			 X509_verify_cert_error_string(X509_STORE_CTX_get_error(store)));
	return ok;
}

/* libmosquitto names the numeric address it connects to as SNI; the server
 * should see the name it is known by (or none, for an address). */
static void info_cb(const SSL *ssl, int where, int ret)
{
	struct mqtt_link *l = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));

	(void)ret;
	if ((where & SSL_CB_HANDSHAKE_START) && l)
		SSL_set_tlsext_host_name((SSL *)ssl, l->host_is_ip ? NULL : l->host);
}

bool mqtt_tls_setup(struct mqtt_link *l, char *err, size_t errlen)
{
	X509_VERIFY_PARAM *param;
	unsigned long e;
	const char *what, *file = NULL;	/* what failed, and the file it read */
	char why[256] = "";

	if (!(l->tls = SSL_CTX_new(TLS_client_method()))) {
		what = "cannot create a TLS context";
		goto fail;
	}
	SSL_CTX_set_app_data(l->tls, l);
	SSL_CTX_set_min_proto_version(l->tls, TLS1_2_VERSION);
	SSL_CTX_set_options(l->tls, SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(l->tls, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_load_verify_locations(l->tls, l->c.cafile, NULL) != 1) {
		what = "cannot read the CA";
		file = l->c.cafile;
		goto fail;
	}
	SSL_CTX_set_verify(l->tls, SSL_VERIFY_PEER, verify_cb);
	SSL_CTX_set_info_callback(l->tls, info_cb);
	param = SSL_CTX_get0_param(l->tls);
	X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if ((l->host_is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, l->host)
			   : X509_VERIFY_PARAM_set1_host(param, l->host, 0)) != 1) {
		what = "cannot check certificates against the broker's name";
		goto fail;
	}
	if (l->c.certfile && l->c.certfile[0]) {
		if (SSL_CTX_use_certificate_chain_file(l->tls, l->c.certfile) != 1) {
			what = "cannot read the client certificate";
			file = l->c.certfile;
			goto fail;
		}
		if (SSL_CTX_use_PrivateKey_file(l->tls, l->c.keyfile, SSL_FILETYPE_PEM) != 1 ||
		    SSL_CTX_check_private_key(l->tls) != 1) {
			what = "cannot read the client key, or it does not match the certificate";
			file = l->c.keyfile;
			goto fail;
		}
	}
	return true;
fail:
	e = ERR_get_error();
	if (e)	/* OpenSSL 3 has no reason string for a system error: the whole text has its errno's words */
		ERR_error_string_n(e, why, sizeof(why));
	snprintf(err, errlen, "%s%s%s%s%s", what, file ? " " : "", file ? file : "", *why ? ": " : "", why);
	ERR_clear_error();
	return false;
}
