#ifndef SIGN_H
#define SIGN_H

#include <stddef.h>
#include "err.h"

/*
 * Job bundle signatures: Ed25519 (OpenSSL EVP), keys as PEM (the private
 * one PKCS#8, the public one SubjectPublicKeyInfo), a signature as the
 * base64 of its 64 bytes, a key known by its fingerprint "sha256:" + the
 * hex SHA-256 of its raw 32-byte public key.
 */
#define AH_SIGN_FINGERPRINT_MAX 80
/* The largest key file read. */
#define AH_SIGN_KEY_MAX 16384

/* The hex SHA-256 of data into out (65 bytes). */
int ah_sha256_hex(const void *data, size_t len, char out[65], struct ah_err *err);

/*
 * A new key pair: the private key at path (0600, created: never over an
 * existing file unless force), the public one at path.pub (0644); the
 * fingerprint into fp.
 */
int ah_sign_keygen(const char *path, int force, char *fp, size_t fp_len, struct ah_err *err);

/* data signed with the private key in key_file: *sig_b64 is the signature (base64). */
int ah_sign_data(const char *key_file, const void *data, size_t len, char **sig_b64,
		 struct ah_err *err);

/* 0 when sig (raw bytes) is pub_pem's signature over data; 400 "signature does not verify". */
int ah_sign_verify(const char *pub_pem, const void *data, size_t len, const unsigned char *sig,
		   size_t sig_len, struct ah_err *err);

/* The fingerprint of the public key pub_pem (400 when it is not an Ed25519 key). */
int ah_sign_fingerprint(const char *pub_pem, char *out, size_t out_len, struct ah_err *err);

#endif
