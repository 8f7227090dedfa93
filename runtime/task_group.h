/* SPDX-License-Identifier: MIT */
/* Task groups: what the task code tells a group about its members. */
#ifndef CORING_TASK_GROUP_H
#define CORING_TASK_GROUP_H

struct cr_task;

/* Called by a task group when a member ends.  Returns nothing. */
void cr__group_member_done(struct cr_task *t);

#endif
