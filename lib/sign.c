/*
 * Ed25519 signatures over job bundles, with OpenSSL's EVP interface: key
 * pairs made and written as PEM, bundles signed and verified, keys named
 * by fingerprint.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include "base64.h"
#include "fsutil.h"
#include "sign.h"
#include "usage.h"

static void hex_of(const unsigned char *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

int ah_sha256_hex(const void *data, size_t len, char out[65], struct ah_err *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned n = 0;

	if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return ah_internal(err, "cannot compute a SHA-256 digest");
	hex_of(md, 32, out);
	return 0;
}

static int fingerprint_of(EVP_PKEY *key, char *out, size_t out_len, struct ah_err *err)
{
	unsigned char raw[32];
	size_t n = sizeof(raw);
	char hex[65];

	if (EVP_PKEY_get_raw_public_key(key, raw, &n) != 1 || n != sizeof(raw) ||
	    ah_sha256_hex(raw, n, hex, err) < 0)
		return ah_invalid(err, "not an Ed25519 public key");
	snprintf(out, out_len, "sha256:%s", hex);
	return 0;
}

/* A PEM text as a key: the public one (pub) or the private one. */
static EVP_PKEY *read_key(const char *pem, size_t len, int pub)
{
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *key = NULL;

	if (bio)
		key = pub ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) :
			    PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (key && EVP_PKEY_get_id(key) != EVP_PKEY_ED25519) {
		EVP_PKEY_free(key);
		key = NULL;
	}
	return key;
}

/* key written as PEM to path, created with mode (O_EXCL unless force). */
static int write_pem(EVP_PKEY *key, int pub, const char *path, int mode, int force,
		     struct ah_err *err)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long len;
	int fd = -1, ret = -1;

	if (!bio || !(pub ? PEM_write_bio_PUBKEY(bio, key) :
			    PEM_write_bio_PKCS8PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL))) {
		ah_internal(err, "cannot write a key as PEM");
		goto done;
	}
	len = BIO_get_mem_data(bio, &data);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (force ? O_TRUNC : O_EXCL), mode);
	if (fd < 0) {
		if (errno == EEXIST)
			ah_conflict(err, "'%s' exists (--force replaces it)", path);
		else
			ah_invalid(err, "cannot create '%s': %s", path, strerror(errno));
		goto done;
	}
	if (fchmod(fd, mode) < 0 || ah_write_full(fd, data, (size_t)len) < 0) {
		ah_internal(err, "cannot write '%s': %s", path, strerror(errno));
		goto done;
	}
	ret = 0;
done:
	if (fd >= 0 && close(fd) < 0 && !ret)
		ret = ah_internal(err, "cannot write '%s': %s", path, strerror(errno));
	BIO_free(bio);
	return ret;
}

int ah_sign_keygen(const char *path, int force, char *fp, size_t fp_len, struct ah_err *err)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	char *pub = xstrfmt("%s.pub", path);
	int ret = -1;

	if (!key) {
		ah_internal(err, "cannot make an Ed25519 key");
		goto done;
	}
	if (write_pem(key, 0, path, 0600, force, err) < 0)
		goto done;
	if (write_pem(key, 1, pub, 0644, force, err) < 0) {
		unlink(path);
		goto done;
	}
	ret = fingerprint_of(key, fp, fp_len, err);
done:
	EVP_PKEY_free(key);
	free(pub);
	return ret;
}

/* A key file (at most AH_SIGN_KEY_MAX bytes) as text. */
static int read_key_file(const char *path, char **pem, size_t *len, struct ah_err *err)
{
	if (ah_read_fd_max(open(path, O_RDONLY | O_CLOEXEC), AH_SIGN_KEY_MAX, pem, len) == 0)
		return 0;
	if (errno == EFBIG)
		return ah_invalid(err, "key '%s' is larger than %d bytes", path, AH_SIGN_KEY_MAX);
	return ah_error(err, errno == ENOENT ? 404 : 400, errno == ENOENT ? "not_found" : "invalid",
			"cannot read key '%s': %s", path, strerror(errno));
}

int ah_sign_data(const char *key_file, const void *data, size_t len, char **sig_b64,
		 struct ah_err *err)
{
	EVP_PKEY *key = NULL;
	EVP_MD_CTX *md = NULL;
	unsigned char sig[64];
	size_t sig_len = sizeof(sig), pem_len = 0;
	char *pem = NULL;
	int ret = -1;

	*sig_b64 = NULL;
	if (read_key_file(key_file, &pem, &pem_len, err) < 0)
		goto done;
	if (!(key = read_key(pem, pem_len, 0))) {
		ah_invalid(err, "key '%s' is not an Ed25519 private key (PEM)", key_file);
		goto done;
	}
	if (!(md = EVP_MD_CTX_new()) || EVP_DigestSignInit(md, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestSign(md, sig, &sig_len, data, len) != 1) {
		ah_internal(err, "cannot sign with '%s'", key_file);
		goto done;
	}
	*sig_b64 = ah_base64_encode(sig, sig_len);
	ret = 0;
done:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	free(pem);
	return ret;
}

int ah_sign_verify(const char *pub_pem, const void *data, size_t len, const unsigned char *sig,
		   size_t sig_len, struct ah_err *err)
{
	EVP_PKEY *key = read_key(pub_pem, strlen(pub_pem), 1);
	EVP_MD_CTX *md = NULL;
	int ret = -1;

	if (!key) {
		ah_invalid(err, "not an Ed25519 public key");
		goto done;
	}
	if (sig_len != 64 || !(md = EVP_MD_CTX_new()) ||
	    EVP_DigestVerifyInit(md, NULL, NULL, NULL, key) != 1 ||
	    EVP_DigestVerify(md, sig, sig_len, data, len) != 1) {
		ah_invalid(err, "signature does not verify");
		goto done;
	}
	ret = 0;
done:
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(key);
	return ret;
}

int ah_sign_fingerprint(const char *pub_pem, char *out, size_t out_len, struct ah_err *err)
{
	EVP_PKEY *key = read_key(pub_pem, strlen(pub_pem), 1);
	int ret;

	if (!key)
		return ah_invalid(err, "not an Ed25519 public key (PEM)");
	ret = fingerprint_of(key, out, out_len, err);
	EVP_PKEY_free(key);
	return ret;
}
