/* SPDX-License-Identifier: MIT */
/* File I/O on the loop: offsets, holes, current position, fsync, close, errors, many writers. */
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"

#define MIB (1024 * 1024)
#define HOLE_AT ((int64_t)1 * MIB)
#define BIG_AT ((int64_t)2 * MIB)
#define BIG_LEN ((size_t)8 * MIB)
#define NWRITERS 64
#define REGION ((size_t)64 * 1024)
#define NCANCEL 16 /* writers cancelled mid-way */
#define CHUNK ((size_t)16 * 1024)

static char dir[PATH_MAX];

static void path_in_dir(char *out, const char *name)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);
	CHECK(n > 0 && n < PATH_MAX);
}

static uint8_t big_byte(size_t i)
{
	uint64_t x = (uint64_t)i * 0x9e3779b97f4a7c15ull;
	return (uint8_t)((x >> 29) ^ (x >> 47));
}

static uint8_t region_byte(int writer, size_t i)
{
	return (uint8_t)(writer * 37 + i * 11 + (i >> 9));
}

static off_t file_size(int fd)
{
	struct stat st;
	CHECK_EQ_INT(fstat(fd, &st), 0);
	return st.st_size;
}

/* Reads len bytes at off through the ring, retrying short reads. */
static void read_exact(int fd, uint8_t *buf, size_t len, int64_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t n = cr_file_read(fd, buf + done, len - done, off + (int64_t)done);
		CHECK_MSG(n > 0, "read at %lld returned %zd", (long long)(off + (int64_t)done), n);
		done += (size_t)n;
	}
}

/* Writes at offsets, a hole, the current position, EOF, both fsyncs. */
static void check_offsets(int fd)
{
	uint8_t buf[16];
	static const uint8_t zero[16];

	CHECK_EQ_INT(cr_file_write(fd, "head", 4, 0), 4);
	CHECK_EQ_INT(cr_file_write(fd, "tail", 4, HOLE_AT), 4);
	CHECK_EQ_INT(file_size(fd), HOLE_AT + 4);
	/* The hole reads as zeros; a read that spans its end returns both. */
	CHECK_EQ_INT(cr_file_read(fd, buf, 8, HOLE_AT - 4), 8);
	CHECK_EQ_MEM(buf, zero, 4);
	CHECK_EQ_MEM(buf + 4, "tail", 4);
	CHECK_EQ_INT(cr_file_read(fd, buf, 16, 4096), 16);
	CHECK_EQ_MEM(buf, zero, 16);
	/* At and past EOF: 0; a read crossing EOF is short. */
	CHECK_EQ_INT(cr_file_read(fd, buf, 16, HOLE_AT + 4), 0);
	CHECK_EQ_INT(cr_file_read(fd, buf, 16, 3 * HOLE_AT), 0);
	CHECK_EQ_INT(cr_file_read(fd, buf, 16, HOLE_AT + 2), 2);
	CHECK_EQ_MEM(buf, "il", 2);
	/* A length beyond 4 GiB is shortened, not truncated to 32 bits: the
	 * kernel writes only the 4 bytes left before EOF. */
	CHECK_EQ_INT(cr_file_read(fd, buf, ((size_t)1 << 32) + 1, HOLE_AT), 4);
	CHECK_EQ_MEM(buf, "tail", 4);
	/* Explicit offsets leave the file position alone: -1 reads from 0. */
	CHECK_EQ_INT(lseek(fd, 0, SEEK_CUR), 0);
	CHECK_EQ_INT(cr_file_read(fd, buf, 4, -1), 4);
	CHECK_EQ_MEM(buf, "head", 4);
	CHECK_EQ_INT(lseek(fd, 0, SEEK_CUR), 4);
	CHECK_EQ_INT(cr_file_read(fd, buf, 4, -1), 4);
	CHECK_EQ_MEM(buf, zero, 4);
	CHECK_EQ_INT(lseek(fd, 0, SEEK_CUR), 8);
	/* A write at -1 goes to the position and advances it. */
	CHECK_EQ_INT(cr_file_write(fd, "mid!", 4, -1), 4);
	CHECK_EQ_INT(lseek(fd, 0, SEEK_CUR), 12);
	CHECK_EQ_INT(pread(fd, buf, 12, 0), 12);
	CHECK_EQ_MEM(buf, "head\0\0\0\0mid!", 12);
	/* At EOF through the position too. */
	CHECK_EQ_INT(lseek(fd, 0, SEEK_END), HOLE_AT + 4);
	CHECK_EQ_INT(cr_file_read(fd, buf, 4, -1), 0);
	CHECK_EQ_INT(cr_file_write(fd, NULL, 0, 0), 0);
	CHECK_EQ_INT(cr_file_fsync(fd, 0), 0);
	CHECK_EQ_INT(cr_file_fsync(fd, 1), 0);
}

/* Writes the 8 MiB block in one cr_file_write_all and checks it from the kernel's side. */
static void check_write_all(int fd, const uint8_t *big)
{
	uint8_t buf[4096];
	CHECK_EQ_INT(cr_file_write_all(fd, big, BIG_LEN, BIG_AT), (ssize_t)BIG_LEN);
	CHECK_EQ_INT(file_size(fd), BIG_AT + (int64_t)BIG_LEN);
	CHECK_EQ_INT(cr_file_fsync(fd, 1), 0);
	CHECK_EQ_INT(pread(fd, buf, sizeof(buf), BIG_AT + 12345), (ssize_t)sizeof(buf));
	CHECK_EQ_MEM(buf, big + 12345, sizeof(buf));
	/* write_all at -1 appends at the position (here: the end). */
	CHECK_EQ_INT(lseek(fd, 0, SEEK_END), BIG_AT + (int64_t)BIG_LEN);
	CHECK_EQ_INT(cr_file_write_all(fd, "END", 3, -1), 3);
	CHECK_EQ_INT(lseek(fd, 0, SEEK_CUR), BIG_AT + (int64_t)BIG_LEN + 3);
}

/* Reopens the file and checks every byte of it. */
static void verify_file(const char *path, const uint8_t *big)
{
	size_t total = (size_t)BIG_AT + BIG_LEN + 3;
	uint8_t *all = malloc(total);
	uint8_t tmp[8];
	CHECK(all != NULL);
	int fd = cr_file_open(path, O_RDONLY | O_CLOEXEC, 0);
	CHECK_GE_INT(fd, 0);
	CHECK_EQ_INT(file_size(fd), (off_t)total);
	read_exact(fd, all, total, 0);
	CHECK_EQ_INT(cr_file_read(fd, tmp, sizeof(tmp), (int64_t)total), 0);
	uint8_t *want = calloc(1, total);
	CHECK(want != NULL);
	memcpy(want, "head", 4);
	memcpy(want + 8, "mid!", 4);
	memcpy(want + HOLE_AT, "tail", 4);
	memcpy(want + BIG_AT, big, BIG_LEN);
	memcpy(want + BIG_AT + BIG_LEN, "END", 3);
	CHECK_EQ_MEM(all, want, total);
	free(want);
	/* Writing to a read-only fd fails without touching the file. */
	CHECK_EQ_INT(cr_file_write(fd, "x", 1, 0), -EBADF);
	CHECK_EQ_INT(cr_file_close(fd), 0);
	free(all);
}

static void check_errors(const char *path)
{
	char missing[PATH_MAX];
	uint8_t b;
	path_in_dir(missing, "no-such-file");
	CHECK_EQ_INT(cr_file_open(missing, O_RDONLY, 0), -ENOENT);
	CHECK_EQ_INT(cr_file_open(path, O_RDWR | O_CREAT | O_EXCL, 0600), -EEXIST);
	/* Close twice: the second close fails, and reads on the closed fd too. */
	int fd = cr_file_open(path, O_RDONLY | O_CLOEXEC, 0);
	CHECK_GE_INT(fd, 0);
	CHECK_EQ_INT(cr_file_close(fd), 0);
	CHECK_EQ_INT(cr_file_read(fd, &b, 1, 0), -EBADF);
	CHECK_EQ_INT(cr_file_write(fd, &b, 1, 0), -EBADF);
	CHECK_EQ_INT(cr_file_fsync(fd, 0), -EBADF);
	CHECK_EQ_INT(cr_file_close(fd), -EBADF);
	CHECK_EQ_INT(cr_file_read(-1, &b, 1, 0), -EBADF);
	CHECK_EQ_INT(cr_file_read(1 << 20, &b, 1, 0), -EBADF);
	CHECK_EQ_INT(cr_file_close(1 << 20), -EBADF);
	/* A directory opens but does not read. */
	fd = cr_file_open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	CHECK_GE_INT(fd, 0);
	CHECK_EQ_INT(cr_file_read(fd, &b, 1, 0), -EISDIR);
	CHECK_EQ_INT(cr_file_close(fd), 0);
}

/* State shared by the concurrent writers. */
typedef struct shared {
	int fd;	      /* the file they all write */
	int written;  /* writers done writing */
	int verified; /* writers done verifying */
} shared;

static shared SH;

/* Writes its own 64 KiB region in chunks of varying size with waits in
 * between, waits for all writers, then reads its region back. */
static int region_writer(void *arg)
{
	int id = (int)(intptr_t)arg;
	int64_t base = (int64_t)id * (int64_t)REGION;
	uint8_t *buf = malloc(REGION);
	CHECK(buf != NULL);
	for (size_t i = 0; i < REGION; i++)
		buf[i] = region_byte(id, i);
	size_t off = 0, step = 512 + (size_t)id * 97;
	while (off < REGION) {
		size_t n = REGION - off < step ? REGION - off : step;
		CHECK_EQ_INT(cr_file_write_all(SH.fd, buf + off, n, base + (int64_t)off),
			     (ssize_t)n);
		off += n;
		step = step * 3 / 2 + 1;
	}
	SH.written++;
	while (SH.written < NWRITERS)
		CHECK_EQ_INT(cr_yield(), 0);
	memset(buf, 0, REGION);
	read_exact(SH.fd, buf, REGION, base);
	for (size_t i = 0; i < REGION; i++)
		CHECK_MSG(buf[i] == region_byte(id, i), "writer %d: byte %zu is 0x%02x", id, i,
			  buf[i]);
	SH.verified++;
	free(buf);
	return id;
}

static void check_concurrent_writers(const char *path)
{
	cr_task *t[NWRITERS];
	uint8_t *all = malloc((size_t)NWRITERS * REGION);
	CHECK(all != NULL);
	SH.fd = cr_file_open(path, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600);
	CHECK_GE_INT(SH.fd, 0);
	/* Writers start in reverse order so the file grows from the end too. */
	for (int i = NWRITERS - 1; i >= 0; i--)
		CHECK_OK(cr_spawn(&t[i], region_writer, (void *)(intptr_t)i, NULL));
	for (int i = 0; i < NWRITERS; i++) {
		int res = -1;
		CHECK_EQ_INT(cr_join(t[i], &res), 0);
		CHECK_EQ_INT(res, i);
	}
	CHECK_EQ_INT(SH.verified, NWRITERS);
	CHECK_EQ_INT(cr_file_fsync(SH.fd, 0), 0);
	CHECK_EQ_INT(file_size(SH.fd), (off_t)((size_t)NWRITERS * REGION));
	CHECK_EQ_INT(pread(SH.fd, all, (size_t)NWRITERS * REGION, 0),
		     (ssize_t)((size_t)NWRITERS * REGION));
	for (int w = 0; w < NWRITERS; w++)
		for (size_t i = 0; i < REGION; i++)
			CHECK_MSG(all[(size_t)w * REGION + i] == region_byte(w, i),
				  "region %d byte %zu", w, i);
	CHECK_EQ_INT(cr_file_close(SH.fd), 0);
	free(all);
}

/* A writer that rewrites its chunk and fsyncs until it is cancelled. */
typedef struct cwriter {
	int id;	       /* index, selects the chunk */
	int fd;	       /* the shared file */
	int last_ok;   /* iteration whose write last succeeded, -1 if none */
	int seen;      /* -ECANCELED results seen */
	int in_fsync;  /* 1 if the cancel hit an fsync rather than a write */
	cr_task *task; /* handle */
} cwriter;

static void fill_chunk(uint8_t *b, int id, int iter)
{
	for (size_t i = 0; i < CHUNK; i++)
		b[i] = (uint8_t)(id * 41 + iter * 13 + (int)(i % 251));
}

static int cancel_writer(void *arg)
{
	cwriter *f = arg;
	uint8_t *buf = malloc(CHUNK);
	int64_t off = (int64_t)f->id * (int64_t)CHUNK;
	CHECK(buf != NULL);
	f->last_ok = -1;
	uint64_t t0 = cr_now_ns();
	for (int it = 0; !f->seen; it++) {
		CHECK_MSG(cr_now_ns() - t0 < 20000000000ull, "writer %d: cancel never delivered",
			  f->id);
		fill_chunk(buf, f->id, it);
		ssize_t r = cr_file_write(f->fd, buf, CHUNK, off);
		if (r == -ECANCELED) {
			f->seen++;
			break;
		}
		CHECK_EQ_INT(r, (ssize_t)CHUNK);
		f->last_ok = it;
		int s = cr_file_fsync(f->fd, it & 1);
		if (s == -ECANCELED) {
			f->seen++;
			f->in_fsync = 1;
		} else
			CHECK_EQ_INT(s, 0);
	}
	CHECK_EQ_INT(f->seen, 1);
	CHECK_EQ_INT(cr_yield(), 0); /* delivered once */
	CHECK_EQ_INT(cr_nop(), 0);
	free(buf);
	return 0;
}

/* Writers cancelled at random points: each write either happened in full or
 * not at all, so every chunk holds exactly its last successful write. */
static void check_cancelled_writers(const char *path)
{
	cwriter w[NCANCEL];
	uint8_t *want = malloc(CHUNK), *got = malloc(CHUNK);
	uint64_t rng = 0x1234567;
	int fd = cr_file_open(path, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600);
	CHECK(want != NULL && got != NULL);
	CHECK_GE_INT(fd, 0);
	CHECK_EQ_INT(ftruncate(fd, (off_t)(NCANCEL * CHUNK)), 0); /* unwritten chunks read as 0 */
	for (int i = 0; i < NCANCEL; i++) {
		w[i] = (cwriter){.id = i, .fd = fd};
		CHECK_OK(cr_spawn(&w[i].task, cancel_writer, &w[i], NULL));
	}
	for (int i = 0; i < NCANCEL; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		if (rng % 4 == 0)
			CHECK_EQ_INT(cr_yield(), 0);
		else if (rng % 4 != 1)
			CHECK_EQ_INT(cr_sleep(rng % 500000), 0);
		CHECK_EQ_INT(cr_cancel(w[(i * 7) % NCANCEL].task), 0);
	}
	int in_fsync = 0, iters = 0;
	for (int i = 0; i < NCANCEL; i++) {
		CHECK_EQ_INT(cr_join(w[i].task, NULL), 0);
		in_fsync += w[i].in_fsync;
		iters += w[i].last_ok + 1;
		if (w[i].last_ok < 0)
			memset(want, 0, CHUNK);
		else
			fill_chunk(want, i, w[i].last_ok);
		CHECK_EQ_INT(pread(fd, got, CHUNK, (off_t)i * (off_t)CHUNK), (ssize_t)CHUNK);
		CHECK_EQ_MEM(got, want, CHUNK);
	}
	printf("cancelled writers: %d in fsync, %d in write, %d writes done\n", in_fsync,
	       NCANCEL - in_fsync, iters);
	CHECK_EQ_INT(cr_file_close(fd), 0);
	free(want);
	free(got);
}

static int file_main(void *arg)
{
	(void)arg;
	char path[PATH_MAX], path2[PATH_MAX];
	uint8_t *big = malloc(BIG_LEN);
	CHECK(big != NULL);
	for (size_t i = 0; i < BIG_LEN; i++)
		big[i] = big_byte(i);
	path_in_dir(path, "data");
	path_in_dir(path2, "regions");

	int fd = cr_file_open(path, O_CREAT | O_RDWR | O_TRUNC | O_CLOEXEC, 0600);
	CHECK_GE_INT(fd, 0);
	check_offsets(fd);
	check_write_all(fd, big);
	CHECK_EQ_INT(cr_file_close(fd), 0);
	verify_file(path, big);
	check_errors(path);
	check_concurrent_writers(path2);
	check_cancelled_writers(path2);

	CHECK_EQ_INT(unlink(path), 0);
	CHECK_EQ_INT(unlink(path2), 0);
	free(big);
	return 0;
}

/* Best-effort removal of the temp dir if a check fails half-way. */
static void cleanup(void)
{
	static const char *const names[] = {"data", "regions"};
	char path[PATH_MAX];
	if (!dir[0])
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (snprintf(path, sizeof(path), "%s/%s", dir, names[i]) < PATH_MAX)
			unlink(path);
	}
	rmdir(dir);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");
	int n = snprintf(dir, sizeof(dir), "%s/coring-file-io-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	CHECK(n > 0 && n < (int)sizeof(dir));
	CHECK_MSG(mkdtemp(dir) != NULL, "mkdtemp(%s): %s", dir, strerror(errno));
	CHECK_EQ_INT(atexit(cleanup), 0);
	int r = check_run(NULL, file_main, NULL);
	CHECK_EQ_INT(rmdir(dir), 0);
	dir[0] = '\0';
	return r;
}
