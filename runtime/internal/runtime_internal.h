/* SPDX-License-Identifier: MIT */
/* The runtime as the layers above it (sync/, net/) see it: their only door into runtime/. */
#ifndef CORING_RUNTIME_INTERNAL_H
#define CORING_RUNTIME_INTERNAL_H

/*
 * sync/ and net/ are built with this folder on their include path and
 * runtime/ itself off it, so `#include "runtime_internal.h"` is the one way
 * they reach the runtime's internals (tests/test_layering.sh checks the rest).
 * What they get:
 *   current.h  the running worker (opaque), cr__in_task, cr__yield_shielded
 *   wait.h     wait records: park a task, wake it exactly once, abort
 *   reclaim.h  quiescent-state reclamation (cr__retire)
 *   io.h       one-shot I/O on the ring with kernel-side cancellation
 *   list.h     container_of and the intrusive list
 *   ring.h     SQE slots, queued SQEs, cancel requests, CQE handlers and
 *              provided-buffer rings
 *   fiber.h    sanitizer and valgrind annotations
 * The worker's and the task's structs stay out of reach.
 */
#include "../current.h"
#include "../fiber.h"
#include "../io.h"
#include "../list.h"
#include "../reclaim.h"
#include "../ring.h"
#include "../wait.h"

#endif
