/* SPDX-License-Identifier: MIT */
/* coring runtime: stackful tasks on an io_uring loop, timers, cancellation, deadlines. */
#ifndef CORING_RUNTIME_H
#define CORING_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Conventions: every function that can fail returns 0 (or a count / fd) on
 * success and a negative errno value on failure; errno is left untouched.
 * Waiting calls (sleep, join, I/O, ...) may only be made from inside a task.
 * One rule for a call made where it cannot work: outside cr_run, or a call
 * that must wait or needs a task made from a loop callback or a thread that
 * is not a worker, returns -EPERM and does nothing.  (-ESRCH means only that
 * the task a call names has already ended.)  Calls that return ids or
 * pointers instead of errors (cr_call_soon, cr_current, ...) return 0 / NULL
 * there.
 * Every waiting call returns -ECANCELED if the calling task was cancelled
 * (see cr_cancel) and -ETIMEDOUT if a deadline scope around it expired
 * (see cr_deadline_enter).  A call that fails leaves nothing registered.
 */

#define CR_VERSION_MAJOR 0
#define CR_VERSION_MINOR 2
#define CR_VERSION_PATCH 0
#define CR_VERSION_STRING "0.2.0"

/* Default stack size of a task: address space reserved, touched lazily. */
#define CR_DEFAULT_STACK_SIZE (64u * 1024u)
/* Smallest stack size accepted by cr_spawn (smaller requests are rounded up). */
#define CR_MIN_STACK_SIZE (16u * 1024u)
/* Largest stack size accepted by cr_spawn. */
#define CR_MAX_STACK_SIZE (64u * 1024u * 1024u)
/* Longest task name kept, including the terminating NUL. */
#define CR_TASK_NAME_MAX 32

/* ---- durations ------------------------------------------------------------ */

/* Every duration and deadline coring takes is in nanoseconds; these make
 * them from other units.  Each returns nanoseconds, saturated at UINT64_MAX
 * (which no deadline reaches). */
static inline uint64_t cr_us(uint64_t us)
{
	return us > UINT64_MAX / 1000u ? UINT64_MAX : us * 1000u;
}

static inline uint64_t cr_ms(uint64_t ms)
{
	return ms > UINT64_MAX / 1000000u ? UINT64_MAX : ms * 1000000u;
}

static inline uint64_t cr_sec(uint64_t s)
{
	return s > UINT64_MAX / 1000000000u ? UINT64_MAX : s * 1000000000u;
}

/* ---- running the runtime ----------------------------------------------- */

/* Defaults and limits of cr_config, in one place (cr_config_init and cr_run use them). */
#define CR_DEFAULT_SQ_ENTRIES 256u    /* SQ entries per worker */
#define CR_MAX_SQ_ENTRIES 32768u      /* the kernel's limit */
#define CR_DEFAULT_CQ_ENTRIES 8192u   /* generous: a multishot SQE posts many CQEs */
#define CR_MAX_CQ_ENTRIES 65536u      /* the kernel's limit */
#define CR_DEFAULT_READY_BUDGET 64u   /* ready items run between two looks at I/O */
#define CR_DEFAULT_OFFLOAD_THREADS 8u /* threads of the blocking-call pool */

/* Configuration of cr_run; initialise with cr_config_init, then adjust. */
typedef struct cr_config {
	unsigned workers;    /* worker threads; 0 = one per CPU this process may use (affinity) */
	size_t stack_size;   /* default stack size for tasks (bytes) */
	unsigned sq_entries; /* io_uring SQ entries per worker, 1..CR_MAX_SQ_ENTRIES */
	unsigned cq_entries; /* io_uring CQ entries per worker, <= CR_MAX_CQ_ENTRIES (raised to
			      * 2 * sq_entries if below) */
	unsigned no_defer_taskrun; /* 1 = do not try SINGLE_ISSUER|DEFER_TASKRUN */
	unsigned ready_budget;	   /* max ready items run before polling I/O again; 0 = default */
	unsigned offload_threads;  /* max threads of the blocking-call pool (cr_to_thread); 0 =
				      default */
	unsigned cancel_on_signal; /* 1 = SIGINT/SIGTERM cancel the main task (graceful stop) */
} cr_config;

/* Most workers cr_run starts. */
#define CR_MAX_WORKERS 256

/* Fills *cfg with defaults.  Returns nothing. */
void cr_config_init(cr_config *cfg);

/* A task body: receives the spawn argument, returns the task's int result. */
typedef int (*cr_task_fn)(void *arg);

/*
 * Runs fn(arg) as the main task on the calling thread until it returns, then
 * cancels and waits for every task still alive, and tears the loop down.
 * cfg may be NULL for defaults.  *result (if not NULL) gets the main task's
 * return value.  Returns 0 on success, or:
 *   -EINVAL  bad configuration, -EBUSY  already inside cr_run on this thread,
 *   -ENOSYS / -EPERM / -ENOMEM / ...  io_uring could not be set up: see
 *   cr_setup_error() for a sentence naming the cause.
 */
int cr_run(const cr_config *cfg, cr_task_fn fn, void *arg, int *result);

/* Returns a human-readable sentence explaining the last cr_run setup failure
 * on this thread, or "" if there was none.  The string stays valid until the
 * next cr_run on this thread. */
const char *cr_setup_error(void);

/* ---- tasks ---------------------------------------------------------------- */

typedef struct cr_task cr_task;

/* Where cr_spawn places a task (cr_spawn_opts.placement). */
enum cr_placement {
	CR_ON_CURRENT = 0, /* the calling worker (default) */
	CR_ON_WORKER = 1,  /* the worker numbered cr_spawn_opts.worker */
	CR_ON_ANY = 2,	   /* any worker, chosen round robin */
};

/* Options for cr_spawn; a NULL pointer (or a zeroed struct) means all defaults. */
typedef struct cr_spawn_opts {
	const char *name;  /* task name (copied, truncated to CR_TASK_NAME_MAX-1); NULL = "task" */
	size_t stack_size; /* 0 = the runtime's default stack size */
	int placement;	   /* enum cr_placement */
	unsigned worker;   /* worker index for CR_ON_WORKER */
} cr_spawn_opts;

/*
 * Creates a task running fn(arg); it starts after the current task next waits
 * or yields (FIFO with other ready tasks).  If out is not NULL, *out receives
 * a handle the caller must later pass to cr_join or cr_detach; if out is NULL
 * the task is detached.  A task stays on the worker it was placed on for its
 * whole life.  Placing a task on another worker waits for that worker to
 * create it, so it must be done from a task (not a callback).  Returns 0,
 * -EINVAL (no fn, bad stack size, worker index out of range), -ENOMEM (no
 * stack could be mapped), -EPERM outside cr_run (or another worker
 * requested outside a task), -ECANCELED / -ETIMEDOUT if the caller was
 * interrupted while waiting for another worker (the task is then still made
 * and detached).
 */
int cr_spawn(cr_task **out, cr_task_fn fn, void *arg, const cr_spawn_opts *opts);

/*
 * Waits for task t (on any worker) to end and releases the handle.  *result
 * (if not NULL) gets its return value.  Returns 0, -EDEADLK if t is the
 * calling task, -EINVAL if t is NULL, -EPERM outside a task, -ECANCELED /
 * -ETIMEDOUT if the wait was interrupted (the handle then stays valid and t
 * keeps running).
 */
int cr_join(cr_task *t, int *result);

/* Releases a handle without waiting; the task runs on and is reaped when it
 * ends.  Returns nothing. */
void cr_detach(cr_task *t);

/*
 * Requests cancellation of t: its current wait (or, if it is not waiting, its
 * next one) returns -ECANCELED.  The task may clean up and return normally.
 * An in-flight I/O is cancelled in the kernel and its completion awaited
 * first; if it completed anyway its result is returned and the cancellation
 * is delivered at the following wait.  Returns 0, or -ESRCH if t has ended.
 */
int cr_cancel(cr_task *t);

/* Returns 1 if t has ended (its result is available to cr_join), else 0. */
int cr_task_done(const cr_task *t);

/* Lets every other ready task and callback run once.  Returns 0, -ECANCELED
 * or -ETIMEDOUT (a yield is a wait, like asyncio.sleep(0)). */
int cr_yield(void);

/* Returns the calling task, or NULL outside a task (e.g. in a callback). */
cr_task *cr_current(void);

/* Returns the index of the calling worker (0 .. cr_worker_count()-1), or -1
 * outside cr_run. */
int cr_worker_id(void);

/* Returns the number of workers of the running runtime, or 0 outside cr_run. */
unsigned cr_worker_count(void);

/* Returns the name of t (NULL = current task), or "" outside a task. */
const char *cr_task_name(const cr_task *t);

/* ---- time, sleeping, callbacks ------------------------------------------ */

/* Returns the monotonic clock (CLOCK_MONOTONIC) in nanoseconds. */
uint64_t cr_now_ns(void);

/* Sleeps for ns nanoseconds (0 = yield).  Returns 0, -ECANCELED, -ETIMEDOUT. */
int cr_sleep(uint64_t ns);

/* Sleeps until the absolute monotonic time deadline_ns.  Returns as cr_sleep. */
int cr_sleep_until(uint64_t deadline_ns);

/* Identifies a scheduled callback; 0 is never a valid id. */
typedef uint64_t cr_callback_id;

/* A callback run by the loop (not in a task: it must not wait). */
typedef void (*cr_callback_fn)(void *arg);

/*
 * Schedules fn(arg) to run on the loop as soon as possible, after the
 * callbacks and tasks already ready (asyncio's call_soon).  Returns an id for
 * cr_callback_cancel, or 0 if out of memory or called outside cr_run.
 */
cr_callback_id cr_call_soon(cr_callback_fn fn, void *arg);

/* As cr_call_soon, but runs at now + delay_ns (asyncio's call_later).  Equal
 * deadlines run in the order they were scheduled.  Returns an id or 0. */
cr_callback_id cr_call_later(uint64_t delay_ns, cr_callback_fn fn, void *arg);

/* As cr_call_later with an absolute monotonic deadline.  Returns an id or 0. */
cr_callback_id cr_call_at(uint64_t deadline_ns, cr_callback_fn fn, void *arg);

/* Cancels a scheduled callback.  Returns 0 if it will no longer run, -ENOENT
 * if it already ran, was cancelled, or id is unknown, -EPERM outside cr_run.
 * Costs nothing later. */
int cr_callback_cancel(cr_callback_id id);

/* ---- waiting for many tasks ------------------------------------------------ */

/*
 * Waits for all n tasks and joins them (every handle is released, whatever
 * the outcome).  results (if not NULL) gets each task's return value.  If the
 * caller is cancelled or its deadline expires while waiting, every task still
 * running is cancelled and awaited, then -ECANCELED / -ETIMEDOUT is returned
 * (as asyncio.gather propagates cancellation).  Returns 0 otherwise.
 */
int cr_gather(cr_task *const *tasks, size_t n, int *results);

/*
 * Waits until at least one of the n tasks has ended (asyncio.wait with
 * FIRST_COMPLETED) without joining any.  *index gets the lowest index of an
 * ended task.  The tasks must live on the caller's worker.  Returns 0,
 * -EINVAL (n == 0), -EXDEV (a task on another worker), -ECANCELED or
 * -ETIMEDOUT.
 */
int cr_wait_any(cr_task *const *tasks, size_t n, size_t *index);

/* Private: a node (or the head) of the runtime's intrusive lists. */
typedef struct cr__list {
	struct cr__list *next; /* private: next node (the head after the last) */
	struct cr__list *prev; /* private: previous node (the head before the first) */
} cr__list;

/* Structured concurrency: a group owns its tasks and waits for them all.
 * Caller-allocated; fields are private. */
typedef struct cr_task_group {
	void *owner_wait; /* private: the waiting owner's wait record */
	cr__list members; /* private: list of member tasks */
	size_t live;	  /* private: members not yet ended */
	int first_error;  /* private: first negative result, 0 if none */
	int cancelling;	  /* private: 1 once members were cancelled */
	void *worker;	  /* private: worker the group belongs to */
} cr_task_group;

/* Initialises an empty group.  Does not allocate.  Returns nothing. */
void cr_task_group_init(cr_task_group *g);

/*
 * Spawns a member task on the caller's worker (placement in opts is ignored).
 * Returns 0, an error of cr_spawn, or -ECANCELED if the group is already
 * cancelling after a failure.
 */
int cr_task_group_spawn(cr_task_group *g, cr_task_fn fn, void *arg, const cr_spawn_opts *opts);

/*
 * Waits for every member.  The first member that returns a negative value
 * cancels all the others.  If the caller is cancelled or its deadline
 * expires, all members are cancelled and still awaited.  Returns 0 if every
 * member returned >= 0, the first member's negative result otherwise, or
 * -ECANCELED / -ETIMEDOUT if the wait itself was interrupted.  The group is
 * empty (and reusable) afterwards.
 */
int cr_task_group_wait(cr_task_group *g);

/* ---- deadline scopes (asyncio.timeout) -------------------------------------- */

/* A deadline scope; caller-allocated (usually on the task's stack). */
typedef struct cr_deadline {
	struct cr_deadline *outer; /* private: enclosing scope */
	uint64_t deadline_ns;	   /* absolute monotonic deadline of this scope */
	uint64_t effective_ns;	   /* private: min of this and the outer scopes */
	int expired;		   /* 1 once a wait inside timed out because of this scope */
} cr_deadline;

/*
 * Runs fn(arg) in the calling task inside a deadline scope that ends when fn
 * returns, whatever it returns, so it cannot be left open (asyncio's
 * "async with asyncio.timeout(...)").  Every wait inside fn returns
 * -ETIMEDOUT once the scope's deadline passes (or an enclosing scope's, if
 * earlier).  Returns fn's result, except -ETIMEDOUT when fn returned a
 * negative value after this scope expired (the timeout propagated out, as
 * asyncio's TimeoutError does; an fn that handled it and returned >= 0
 * returns that); -EPERM outside a task; -EINVAL if fn is NULL.
 */
int cr_with_timeout(uint64_t timeout_ns, cr_task_fn fn, void *arg);

/* As cr_with_timeout with an absolute monotonic deadline (asyncio's
 * timeout_at).  Returns the same. */
int cr_with_deadline(uint64_t deadline_ns, cr_task_fn fn, void *arg);

/*
 * Enters a scope: every wait of the current task inside it returns
 * -ETIMEDOUT once the monotonic clock passes deadline_ns.  Scopes nest and
 * must be exited in reverse order, in the function that entered them (a
 * scope left open makes every later wait of the task time out; prefer
 * cr_with_timeout, which cannot be left open).  Returns 0, or -EPERM
 * outside a task.
 */
int cr_deadline_enter(cr_deadline *d, uint64_t deadline_ns);

/* As cr_deadline_enter with deadline now + timeout_ns.  Returns the same. */
int cr_timeout_enter(cr_deadline *d, uint64_t timeout_ns);

/*
 * Leaves the innermost scope, which must be d.  Returns 1 if a wait inside it
 * timed out because of this scope (the innermost expired scope is the one
 * charged), 0 otherwise, -EINVAL if d is not the innermost scope.
 */
int cr_deadline_exit(cr_deadline *d);

/* ---- file I/O on the loop ------------------------------------------------- */

/* Opens path (openat relative to the cwd).  Returns an fd or -errno. */
int cr_file_open(const char *path, int flags, mode_t mode);

/* Reads up to len bytes at offset off (-1 = current position).
 * Returns the number of bytes read (0 at EOF) or -errno. */
ssize_t cr_file_read(int fd, void *buf, size_t len, int64_t off);

/* Writes up to len bytes at offset off (-1 = current position).
 * Returns the number of bytes written or -errno. */
ssize_t cr_file_write(int fd, const void *buf, size_t len, int64_t off);

/* Writes all len bytes at off (advancing), retrying short writes.
 * Returns len or -errno (bytes already written stay written). */
ssize_t cr_file_write_all(int fd, const void *buf, size_t len, int64_t off);

/* Flushes fd to stable storage (datasync != 0: fdatasync).  Returns 0 or -errno. */
int cr_file_fsync(int fd, int datasync);

/* Closes fd through the ring.  Returns 0 or -errno. */
int cr_file_close(int fd);

/* Submits a no-op to the ring and waits for its completion (for benchmarks
 * and health checks).  Returns 0, -ECANCELED or -ETIMEDOUT. */
int cr_nop(void);

/* ---- introspection ---------------------------------------------------------- */

/* Counters of one worker; a snapshot, read with cr_stats. */
typedef struct cr_stats {
	uint64_t tasks_alive;	   /* tasks created and not yet reaped */
	uint64_t tasks_spawned;	   /* tasks ever spawned */
	uint64_t switches;	   /* context switches into tasks */
	uint64_t sqes_submitted;   /* SQEs handed to the kernel */
	uint64_t enter_calls;	   /* io_uring_enter system calls */
	uint64_t cqes;		   /* completions reaped */
	uint64_t timers_pending;   /* timers (sleeps, callbacks, deadlines) armed now */
	uint64_t timers_fired;	   /* timers that expired */
	uint64_t callbacks_run;	   /* loop callbacks run */
	uint64_t stacks_mapped;	   /* stacks currently mapped (free or in use) */
	uint64_t wakeups_sent;	   /* wake-ups this worker sent to other workers */
	uint64_t wakeups_received; /* wake-ups other workers or threads sent to this one */
	uint64_t doorbells_sent;   /* MSG_RING / eventfd notifications sent to sleeping workers */
	uint64_t messages;	   /* inbox messages handled (wake-ups, spawns, cancels, ...) */
	unsigned ring_flags;	   /* io_uring setup flags in use */
	unsigned guard_mode;	   /* 0 = MADV_GUARD_INSTALL, 1 = mprotect, 2 = canary only */
} cr_stats;

/* Fills *out with the current worker's counters.  Returns 0 or -EPERM
 * outside cr_run. */
int cr_stats_get(cr_stats *out);

/* Fills *out with worker `worker`'s counters, taken by that worker itself (a
 * consistent snapshot; waits for it when it is another worker, so call it
 * from a task).  Returns 0, -EINVAL (no such worker), -EPERM (another worker
 * asked outside a task or outside cr_run), -ECANCELED, -ETIMEDOUT. */
int cr_stats_get_worker(unsigned worker, cr_stats *out);

/* ---- blocking calls on the offload pool (asyncio.to_thread) ------------------- */

/* A blocking function run on a pool thread; its return value is handed back. */
typedef intptr_t (*cr_blocking_fn)(void *arg);

/*
 * Runs fn(arg) on a thread of the offload pool (at most cfg.offload_threads;
 * excess calls queue in FIFO order) and parks the calling task until it
 * returns; *result (if not NULL) gets its return value.  If the caller is
 * cancelled or times out while the call is still queued, it is removed and
 * never runs; once started it cannot be stopped, so the caller waits for it,
 * gets its result, and the cancellation is delivered at the next wait.
 * Returns 0, -EPERM outside a task, -ECANCELED / -ETIMEDOUT (not started),
 * -EAGAIN if no pool thread could be created.
 */
int cr_to_thread(cr_blocking_fn fn, void *arg, intptr_t *result);

/* ---- signals -------------------------------------------------------------------- */

/*
 * Waits until one of the n signals listed in signals[] is delivered to the
 * process and writes its number to *signo.  The signals are blocked in the
 * calling thread (worker threads other than cr_run's caller, and pool
 * threads, block every signal) and stay blocked until cr_run returns, so
 * they are received here instead of by their default action.  Returns 0,
 * -EINVAL (no or invalid signal), -EPERM outside a task, -ECANCELED,
 * -ETIMEDOUT, or -errno from signalfd.
 */
int cr_signal_wait(const int *signals, size_t n, int *signo);

/* ---- kernel probe (what coring-probe prints) ------------------------------- */

/* One feature the runtime relies on and what happens without it. */
typedef struct cr_probe_item {
	const char *name;     /* e.g. "IORING_SETUP_DEFER_TASKRUN" or "IORING_OP_MSG_RING" */
	const char *kind;     /* "setup-flag", "opcode", "feature" or "kernel" */
	int available;	      /* 1 if this kernel has it, 0 if not, -1 unknown */
	const char *fallback; /* what coring does without it */
} cr_probe_item;

/* The result of cr_probe. */
typedef struct cr_probe_report {
	char kernel[128];	 /* uname release and machine */
	int io_uring_usable;	 /* 1 if a ring could be created here */
	int setup_errno;	 /* errno of the failed io_uring_setup, 0 if usable */
	char reason[256];	 /* why io_uring is unusable ("" if usable) */
	int io_uring_disabled;	 /* value of kernel.io_uring_disabled, -1 if absent */
	uint64_t memlock_limit;	 /* RLIMIT_MEMLOCK soft limit in bytes (UINT64_MAX = unlimited) */
	size_t n_items;		 /* entries used in items */
	cr_probe_item items[48]; /* setup flags, opcodes and features */
} cr_probe_report;

/* Probes the running kernel without starting the runtime.  Returns 0 (the
 * report says whether io_uring is usable) or -errno if probing itself failed. */
int cr_probe(cr_probe_report *out);

#ifdef __cplusplus
}
#endif

#endif
