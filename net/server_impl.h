/* SPDX-License-Identifier: MIT */
/* The server toolkit's state, shared by its set-up, listeners, accept loops and connections. */
#ifndef CORING_NET_SERVER_IMPL_H
#define CORING_NET_SERVER_IMPL_H

#include <coring/net.h>
#include <coring/runtime.h>
#include <stdatomic.h>
#include <stdint.h>

#include "runtime_internal.h"

/* One address served and its listening sockets. */
typedef struct cr__srv_listener {
	cr_addr addr;		/* as given, then as bound (the real port) */
	int is_unix;		/* 1 = Unix: one socket shared by every worker */
	int unlink_path;	/* 1 = a filesystem path this server made */
	int *fds;		/* TCP: one per worker; Unix: fds[0]; -1 = closed */
	unsigned nfds;		/* entries of fds */
	_Atomic unsigned users; /* Unix: workers still accepting on fds[0] */
} cr__srv_listener;

/* A worker's counters: written by that worker only, read by any thread. */
typedef struct cr__srv_counters {
	_Atomic uint64_t accepted, active, refused, completed, handler_errors, idle_closed, cut,
		taken, setup_errors, accept_fd_errors, accept_errors, bytes_in, bytes_out;
} cr__srv_counters;

/* Adds v to a counter of the owning worker (single writer: no locked
 * instruction).  Returns nothing. */
static inline void cr__srv_add(_Atomic uint64_t *c, uint64_t v)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + v,
			      memory_order_relaxed);
}

/* Subtracts 1 from a counter of the owning worker.  Returns nothing. */
static inline void cr__srv_dec(_Atomic uint64_t *c)
{
	atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) - 1,
			      memory_order_relaxed);
}

struct cr__srv_worker;

/* One connection, on its worker's list from its acceptance to its end. */
typedef struct cr__srv_conn {
	cr__list node;		  /* the worker's list of live connections */
	struct cr__srv_worker *w; /* its worker */
	cr_task *task;		  /* its task once started, NULL before */
	int fd;			  /* the socket until the stream owns it */
	cr_stream *stream;	  /* its stream while open, NULL otherwise */
	int cut;		  /* 0, or the lasting error it was cut with */
	int stop_seen;		  /* 1 once the stop's cancellation was sent */
	int taken;		  /* 1 once the handler took it */
	cr_callback_id idle_id;	  /* the idle check's callback, 0 if none */
	uint64_t idle_seen;	  /* stream bytes at the last idle check */
	uint64_t idle_since;	  /* when the stream was last seen active */
	cr_server_conn info;	  /* what the handler sees */
} cr__srv_conn;

/* What one worker does for the server; touched by that worker's tasks only,
 * except the counters. */
typedef struct cr__srv_worker {
	cr_server *srv;		/* the server */
	unsigned index;		/* worker number */
	cr_task *task;		/* its task (the serving task's handle) */
	cr__list conns;		/* live connections */
	uint64_t n_conns;	/* how many */
	int stopping;		/* 1 once accepting stops */
	int draining;		/* 1 once the handlers were told to stop */
	cr__wait *drain_waiter; /* the worker task waiting for n_conns == 0, or NULL */
	cr__srv_counters st;	/* its counters */
	cr_bufpool *pool;	/* the streams' receive pool, NULL for one-shot reads */
} cr__srv_worker;

struct cr_server {
	cr_server_handler handler; /* the handler and its argument */
	void *arg;
	cr_server_opts opts;			 /* options, checked */
	cr__srv_listener l[CR_SERVER_MAX_ADDRS]; /* the addresses */
	unsigned n;				 /* how many */
	unsigned workers;			 /* workers served (set by listen) */
	int listening;				 /* 1 once the sockets exist */
	int serving;				 /* 1 while cr_server_serve runs */
	int served;				 /* 1 once cr_server_serve ran */
	uint64_t max_conns;			 /* the limit in force */
	cr__srv_worker *w;			 /* one per worker (set by listen) */
	_Atomic uint64_t live;			 /* connections counted against max_conns */
	_Atomic uint64_t seq;			 /* connections numbered so far */
	_Atomic int stop;			 /* 1 once a stop was asked for */
	_Atomic int stop_now;			 /* 1 = no grace period (cr_server_stop_now) */
	_Atomic(cr__wait *) stop_waiter;	 /* the serving task's wait for the stop */
	uint64_t grace_deadline_ns;		 /* end of the grace period, once stopping */
};

/* Creates the listening sockets of every address for srv->workers workers.
 * Returns 0 or -errno (every socket closed then). */
int cr__srv_listen_open(cr_server *srv);

/* Closes every listening socket still open and removes the Unix paths made.
 * Returns nothing. */
void cr__srv_listen_close(cr_server *srv);

/* Closes listener l's socket of worker w (TCP), or drops w's use of the
 * shared Unix socket, closing it with the last user.  Returns nothing. */
void cr__srv_listener_release(cr__srv_listener *l, unsigned w);

/* The task of one worker (spawned on it by cr_server_serve): runs an accept
 * loop per address until cancelled, then drains (see net.h).  Returns 0. */
int cr__srv_worker_main(void *arg);

/* Starts a handler task for fd on the calling worker, or resets fd at once
 * when max_conns is reached.  Returns nothing (counted either way). */
void cr__srv_conn_start(cr__srv_worker *w, int fd, unsigned listener);

/* Cuts connection c with the lasting error err (-ETIMEDOUT idle,
 * -ECONNABORTED stop): its stream fails, its task is cancelled.  Returns
 * nothing. */
void cr__srv_conn_cut(cr__srv_conn *c, int err);

#endif
