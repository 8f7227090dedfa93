/* SPDX-License-Identifier: MIT */
/* Watching tasks end: the watcher list every join, gather, wait_any and group waits on. */
#ifndef CORING_JOIN_H
#define CORING_JOIN_H

#include "task.h"

/* Wakes everyone watching t (t just ended).  Returns nothing. */
void cr__task_notify_watchers(struct cr_task *t);

/* Links watch node n onto t's watchers.  Returns nothing. */
void cr__watch_add(struct cr_task *t, cr__watch *n, cr__wait *w, int index);

/* Unlinks n from the task it watches if still linked.  Returns nothing. */
void cr__watch_remove(cr__watch *n);

#endif
