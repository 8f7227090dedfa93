/* SPDX-License-Identifier: MIT */
/* OpenSSL over cr_poll_fd: a TLS server and client on loopback, handshake, echo up to 1 MiB,
 * shutdown. */
#include "net_cases.h"

#if !defined(CORING_HAVE_OPENSSL)

int main(void)
{
	check_skip("built without OpenSSL (pkg-config openssl not found; tools/setup-deps.sh "
		   "installs libssl-dev)");
}

#else

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>

#define NMSG 12		     /* messages echoed per run */
#define MAX_MSG (1u << 20)   /* largest message: 1 MiB */
#define SOCKBUF (64 * 1024)  /* small socket buffers, so that writes must wait too */
#define SIDE_TIMEOUT_S 60ull /* each side's deadline scope */

/* ---- a self-signed certificate, made at run time ----------------------------------------- */

/* Fails the test with OpenSSL's error queue unless ok.  Returns nothing. */
#define CHECK_SSL(ok)                                                                              \
	do {                                                                                       \
		if (!(ok)) {                                                                       \
			ERR_print_errors_fp(stderr);                                               \
			CHECK_MSG(0, "OpenSSL: %s", #ok);                                          \
		}                                                                                  \
	} while (0)

/* Makes a P-256 key.  Returns it (fails the test on an error). */
static EVP_PKEY *make_key(void)
{
	EVP_PKEY *key = NULL;
	EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
	CHECK_SSL(kc != NULL);
	CHECK_SSL(EVP_PKEY_keygen_init(kc) == 1);
	CHECK_SSL(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kc, NID_X9_62_prime256v1) == 1);
	CHECK_SSL(EVP_PKEY_keygen(kc, &key) == 1);
	EVP_PKEY_CTX_free(kc);
	return key;
}

/* Makes a certificate for CN=localhost signed by key itself, valid for a day.  Returns it. */
static X509 *make_cert(EVP_PKEY *key)
{
	X509 *x = X509_new();
	CHECK_SSL(x != NULL);
	CHECK_SSL(X509_set_version(x, 2) == 1);
	CHECK_SSL(ASN1_INTEGER_set(X509_get_serialNumber(x), 1) == 1);
	CHECK_SSL(X509_gmtime_adj(X509_getm_notBefore(x), -60) != NULL);
	CHECK_SSL(X509_gmtime_adj(X509_getm_notAfter(x), 86400) != NULL);
	X509_NAME *name = X509_get_subject_name(x);
	CHECK_SSL(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					     (const unsigned char *)"localhost", -1, -1, 0) == 1);
	CHECK_SSL(X509_set_issuer_name(x, name) == 1);
	CHECK_SSL(X509_set_pubkey(x, key) == 1);
	CHECK_SSL(X509_sign(x, key, EVP_sha256()) > 0);
	return x;
}

/* ---- driving OpenSSL on non-blocking fds ----------------------------------------------------- */

/* One side of the connection. */
typedef struct side {
	SSL *ssl;	     /* its TLS state */
	int fd;		     /* its non-blocking socket */
	unsigned want_read;  /* cr_poll_fd waits after SSL_ERROR_WANT_READ */
	unsigned want_write; /* ... after SSL_ERROR_WANT_WRITE */
} side;

/* After an OpenSSL call on s returned r <= 0: waits with cr_poll_fd if it would block.
 * Returns 1 to retry the call, 0 at a clean TLS end (SSL_ERROR_ZERO_RETURN); fails the test
 * on anything else. */
static int wait_for(side *s, int r, const char *what)
{
	int err = SSL_get_error(s->ssl, r);
	unsigned ev;
	if (err == SSL_ERROR_WANT_READ) {
		ev = POLLIN;
		s->want_read++;
	} else if (err == SSL_ERROR_WANT_WRITE) {
		ev = POLLOUT;
		s->want_write++;
	} else if (err == SSL_ERROR_ZERO_RETURN) {
		return 0;
	} else {
		ERR_print_errors_fp(stderr);
		CHECK_MSG(0, "%s: returned %d, SSL_get_error %d, errno %d", what, r, err, errno);
	}
	int got = cr_poll_fd(s->fd, ev);
	CHECK_MSG(got > 0, "%s: cr_poll_fd(%s): %d", what, ev == POLLIN ? "POLLIN" : "POLLOUT",
		  got);
	return 1; /* POLLERR / POLLHUP: the retried call says what went wrong */
}

/* Runs the handshake (SSL_accept or SSL_connect, per s's role).  Returns nothing. */
static void handshake(side *s)
{
	int r;
	while ((r = SSL_do_handshake(s->ssl)) != 1)
		CHECK_MSG(wait_for(s, r, "SSL_do_handshake"), "handshake: the peer closed");
}

/* Reads exactly len bytes.  Returns 1, or 0 if the peer ended TLS before any byte. */
static int read_exact(side *s, void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		size_t n = 0;
		int r = SSL_read_ex(s->ssl, (char *)buf + done, len - done, &n);
		if (r == 1) {
			done += n;
			continue;
		}
		if (!wait_for(s, r, "SSL_read_ex")) {
			CHECK_MSG(done == 0, "TLS ended after %zu of %zu bytes", done, len);
			return 0;
		}
	}
	return 1;
}

/* Writes all len bytes.  Returns nothing. */
static void write_all(side *s, const void *buf, size_t len)
{
	size_t done = 0;
	while (done < len) {
		size_t n = 0;
		int r = SSL_write_ex(s->ssl, (const char *)buf + done, len - done, &n);
		if (r == 1)
			done += n;
		else
			CHECK_MSG(wait_for(s, r, "SSL_write_ex"), "write: the peer ended TLS");
	}
}

/* Sends close_notify and waits for the peer's.  Returns nothing. */
static void tls_shutdown(side *s)
{
	for (;;) {
		int r = SSL_shutdown(s->ssl);
		if (r == 1)
			return;
		if (r == 0)
			continue; /* ours is sent: call again to wait for the peer's */
		CHECK_MSG(wait_for(s, r, "SSL_shutdown"), "shutdown: unexpected end");
	}
}

/* ---- the two sides ----------------------------------------------------------------------- */

/* Everything both tasks share. */
typedef struct tls_run {
	SSL_CTX *server_ctx; /* with the certificate and key */
	SSL_CTX *client_ctx; /* trusting that certificate only */
	int server_fd;	     /* accepted socket */
	int client_fd;	     /* connected socket */
	side server, client; /* their states and counters */
	size_t bytes;	     /* bytes echoed */
} tls_run;

/* Length of message k (1 byte, 1 MiB, and sizes in between). */
static size_t msg_len(unsigned k)
{
	if (k == 0)
		return 1;
	if (k == 1)
		return MAX_MSG;
	return 1 + mix(k * 7919u) % MAX_MSG;
}

/* Makes fd non-blocking with small buffers.  Returns nothing. */
static void prepare_fd(int fd)
{
	int sz = SOCKBUF;
	CHECK_OK(setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz)));
	CHECK_OK(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz)));
	int fl = fcntl(fd, F_GETFL);
	CHECK_OK(fl);
	CHECK_OK(fcntl(fd, F_SETFL, fl | O_NONBLOCK));
}

/* Echoes length-prefixed messages until the client ends TLS; checks each one. */
static int server_task(void *arg)
{
	tls_run *run = arg;
	side *s = &run->server;
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, SIDE_TIMEOUT_S * 1000 * MS));
	s->ssl = SSL_new(run->server_ctx);
	CHECK_SSL(s->ssl != NULL);
	s->fd = run->server_fd;
	CHECK_SSL(SSL_set_fd(s->ssl, s->fd) == 1);
	SSL_set_accept_state(s->ssl);
	handshake(s);
	uint8_t *buf = malloc(MAX_MSG);
	CHECK(buf != NULL);
	for (unsigned k = 0;; k++) {
		uint32_t len;
		if (!read_exact(s, &len, sizeof(len)))
			break; /* close_notify */
		CHECK_EQ_U64(len, msg_len(k));
		CHECK(read_exact(s, buf, len));
		check_pattern(buf, len, k, 0, "server got message");
		write_all(s, &len, sizeof(len));
		write_all(s, buf, len);
	}
	tls_shutdown(s);
	free(buf);
	CHECK_EQ_INT(cr_deadline_exit(&d), 0);
	return 0;
}

/* Connects, verifies the server's certificate, sends NMSG messages and checks their echoes,
 * then ends TLS. */
static int client_task(void *arg)
{
	tls_run *run = arg;
	side *s = &run->client;
	cr_deadline d;
	CHECK_OK(cr_timeout_enter(&d, SIDE_TIMEOUT_S * 1000 * MS));
	s->ssl = SSL_new(run->client_ctx);
	CHECK_SSL(s->ssl != NULL);
	s->fd = run->client_fd;
	CHECK_SSL(SSL_set_fd(s->ssl, s->fd) == 1);
	CHECK_SSL(SSL_set1_host(s->ssl, "localhost") == 1);
	SSL_set_connect_state(s->ssl);
	handshake(s);
	CHECK_EQ_INT(SSL_get_verify_result(s->ssl), X509_V_OK);
	uint8_t *out = malloc(MAX_MSG), *in = malloc(MAX_MSG);
	CHECK(out != NULL && in != NULL);
	for (unsigned k = 0; k < NMSG; k++) {
		uint32_t len = (uint32_t)msg_len(k), back = 0;
		fill_pattern(out, k, 0, len);
		write_all(s, &len, sizeof(len));
		write_all(s, out, len);
		CHECK(read_exact(s, &back, sizeof(back)));
		CHECK_EQ_U64(back, len);
		memset(in, 0, len);
		CHECK(read_exact(s, in, len));
		CHECK_EQ_MEM(in, out, len);
		run->bytes += len;
	}
	tls_shutdown(s);
	free(out);
	free(in);
	CHECK_EQ_INT(cr_deadline_exit(&d), 0);
	return 0;
}

/* SSL contexts: the server's with a fresh key and certificate, the client's trusting it. */
static void make_contexts(tls_run *run)
{
	EVP_PKEY *key = make_key();
	X509 *cert = make_cert(key);
	run->server_ctx = SSL_CTX_new(TLS_server_method());
	CHECK_SSL(run->server_ctx != NULL);
	CHECK_SSL(SSL_CTX_use_certificate(run->server_ctx, cert) == 1);
	CHECK_SSL(SSL_CTX_use_PrivateKey(run->server_ctx, key) == 1);
	CHECK_SSL(SSL_CTX_check_private_key(run->server_ctx) == 1);
	run->client_ctx = SSL_CTX_new(TLS_client_method());
	CHECK_SSL(run->client_ctx != NULL);
	CHECK_SSL(X509_STORE_add_cert(SSL_CTX_get_cert_store(run->client_ctx), cert) == 1);
	SSL_CTX_set_verify(run->client_ctx, SSL_VERIFY_PEER, NULL);
	X509_free(cert);
	EVP_PKEY_free(key);
}

/* One run: the client task on worker client_worker, the server on this one. */
static int run_tls(unsigned client_worker)
{
	tls_run run;
	memset(&run, 0, sizeof(run));
	make_contexts(&run);
	tcp_pair(&run.client_fd, &run.server_fd);
	prepare_fd(run.client_fd);
	prepare_fd(run.server_fd);
	cr_spawn_opts o = {.placement = CR_ON_WORKER, .worker = client_worker};
	cr_task *srv, *cli;
	uint64_t t0 = cr_now_ns();
	CHECK_OK(cr_spawn(&srv, server_task, &run, NULL));
	CHECK_OK(cr_spawn(&cli, client_task, &run, &o));
	int r1 = -1, r2 = -1;
	CHECK_OK(cr_join(cli, &r1));
	CHECK_OK(cr_join(srv, &r2));
	uint64_t ns = cr_now_ns() - t0;
	CHECK_EQ_INT(r1, 0);
	CHECK_EQ_INT(r2, 0);
	size_t expect = 0;
	for (unsigned k = 0; k < NMSG; k++)
		expect += msg_len(k);
	CHECK_EQ_U64(run.bytes, expect);
	/* Both kinds of waits happened, on both sides between them. */
	CHECK_GT_U64(run.server.want_read + run.client.want_read, 0);
	CHECK_GT_U64(run.server.want_write + run.client.want_write, 0);
	CHECK(SSL_get_shutdown(run.client.ssl) == (SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN));
	CHECK(SSL_get_shutdown(run.server.ssl) == (SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN));
	printf("TLS %s, client on worker %u: %zu bytes echoed in %d messages in %.1f ms; waits "
	       "server %u read / %u write, client %u read / %u write\n",
	       SSL_get_version(run.client.ssl), client_worker, expect, NMSG, ns / 1e6,
	       run.server.want_read, run.server.want_write, run.client.want_read,
	       run.client.want_write);
	SSL_free(run.client.ssl);
	SSL_free(run.server.ssl);
	SSL_CTX_free(run.client_ctx);
	SSL_CTX_free(run.server_ctx);
	CHECK_OK(cr_close(run.client_fd));
	CHECK_OK(cr_close(run.server_fd));
	return 0;
}

static int main_task(void *arg)
{
	(void)arg;
	return run_tls(cr_worker_count() - 1);
}

int main(void)
{
	check_watchdog(200);
	run_main(1, main_task); /* both sides on one worker */
	run_main(2, main_task); /* the client on the other worker */
	puts("test_net_tls_poll: ok");
	return 0;
}

#endif
