/*
 * The crypto the intercom needs, behind a small interface so a port can swap
 * the backend (mbedTLS here and on ESP-IDF; libsodium or OpenSSL would fit).
 */
#ifndef IC_CRYPTO_H
#define IC_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/* ChaCha20-Poly1305 (RFC 8439). ct may equal pt. Return 0 or an ic_err. */
int ic_aead_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
		 size_t aad_len, const uint8_t *pt, size_t len, uint8_t *ct, uint8_t tag[16]);
int ic_aead_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
		 size_t aad_len, const uint8_t *ct, size_t len, const uint8_t tag[16], uint8_t *pt);

/* HKDF-SHA256 (RFC 5869). */
int ic_hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len,
		   const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len);

#endif
