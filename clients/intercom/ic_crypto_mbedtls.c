/* mbedTLS backend: the library ESP-IDF ships, so device and base run the same code. */
#include "ic_crypto.h"
#include "intercom.h"

#include <mbedtls/chachapoly.h>
#include <mbedtls/hkdf.h>
#include <mbedtls/md.h>

int ic_aead_seal(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
		 size_t aad_len, const uint8_t *pt, size_t len, uint8_t *ct, uint8_t tag[16])
{
	mbedtls_chachapoly_context ctx;
	int ret = IC_ERR_CRYPTO;

	mbedtls_chachapoly_init(&ctx);
	if (mbedtls_chachapoly_setkey(&ctx, key) == 0 &&
	    mbedtls_chachapoly_encrypt_and_tag(&ctx, len, nonce, aad, aad_len, pt, ct, tag) == 0)
		ret = IC_OK;
	mbedtls_chachapoly_free(&ctx);
	return ret;
}

int ic_aead_open(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad,
		 size_t aad_len, const uint8_t *ct, size_t len, const uint8_t tag[16], uint8_t *pt)
{
	mbedtls_chachapoly_context ctx;
	int ret = IC_ERR_CRYPTO;
	int r;

	mbedtls_chachapoly_init(&ctx);
	if (mbedtls_chachapoly_setkey(&ctx, key) == 0) {
		r = mbedtls_chachapoly_auth_decrypt(&ctx, len, nonce, aad, aad_len, tag, ct, pt);
		ret = r == 0 ? IC_OK : r == MBEDTLS_ERR_CHACHAPOLY_AUTH_FAILED ? IC_ERR_AUTH : IC_ERR_CRYPTO;
	}
	mbedtls_chachapoly_free(&ctx);
	return ret;
}

int ic_hkdf_sha256(uint8_t *out, size_t out_len, const uint8_t *salt, size_t salt_len,
		   const uint8_t *ikm, size_t ikm_len, const uint8_t *info, size_t info_len)
{
	const mbedtls_md_info_t *md = mbedtls_md_info_from_type(MBEDTLS_MD_SHA256);

	if (!md || mbedtls_hkdf(md, salt, salt_len, ikm, ikm_len, info, info_len, out, out_len) != 0)
		return IC_ERR_CRYPTO;
	return IC_OK;
}
