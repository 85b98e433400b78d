/* The engine's threads: a pool owned by one session (session.c creates it at
 * the first run with more than one thread and destroys it with the session),
 * reached by the layers through mxn_option.pool.
 *
 * A job is a number of independent blocks.  The calling thread takes part:
 * every thread, caller included, claims the next unclaimed block until none
 * is left, so a pool thread that the OS does not schedule (a loaded machine)
 * or that could not be started only makes the job slower - the caller runs
 * its blocks.  Which thread runs a block never changes what the block
 * computes: results do not depend on the number of threads as long as each
 * block's work is fixed by its index (every user in the engine does so).
 *
 * Idle pool threads spin for a short while (a forward's next layer comes
 * within microseconds), then sleep on a condition variable. */
#ifndef MXN_THREAD_POOL_H
#define MXN_THREAD_POOL_H

#include <stddef.h>
#include "mxn_core.h"

/* typedef struct mxn_thread_pool mxn_thread_pool: in mxn_core.h (mxn_option holds one) */

/* A pool of `threads` threads counting the caller (threads - 1 are started).
 * MXN_ERR_PARAM for threads < 1, MXN_ERR_NO_MEM; a thread the system refuses
 * to start is left out (the pool is then smaller, never wrong). */
int mxn_thread_pool_create(mxn_thread_pool **pool, int threads, mxn_error *err);
/* stops and joins the threads; NULL is allowed */
void mxn_thread_pool_destroy(mxn_thread_pool *pool);
/* Wake the sleeping threads to spin for a while: a job is coming (the
 * session calls it when a run starts, so the first layer does not wait for
 * the threads to be scheduled).  NULL is allowed. */
void mxn_thread_pool_wake(mxn_thread_pool *pool);
/* the thread count it was created with (1 for NULL) */
int mxn_thread_pool_threads(const mxn_thread_pool *pool);

/* Run fn on `workers` argument blocks (args, args + arg_size, ...) and return
 * when all are done.  With pool NULL (or a one-thread pool), or when called
 * from inside a job of the same pool, the blocks run one after another on the
 * calling thread.  (This is the former conv_gemm.c function of the same name,
 * with the pool as new first argument.) */
void mxn_run_workers(mxn_thread_pool *pool, int workers, void *(*fn)(void *), void *args, size_t arg_size);

/* The next unclaimed item of a job whose workers take items dynamically
 * (first call 0, then 1, ...; the counter starts at 0): a worker the system
 * runs late or slowly takes fewer items instead of holding the others up.
 * What an item computes must not depend on which worker runs it. */
static inline int mxn_claim_item(int *next)
{
    return __atomic_fetch_add(next, 1, __ATOMIC_RELAXED);
}

/* Split [0, n) into at most `threads` contiguous ranges of at least `grain`
 * items (range boundaries are multiples of `grain`, so pass a multiple of the
 * cache line for float data) and call fn(ctx, begin, end) for each, in
 * parallel on the pool.  n <= grain, threads < 2 or no pool: fn(ctx, 0, n) on
 * the caller. */
typedef void (*mxn_range_fn)(void *ctx, size_t begin, size_t end);
void mxn_parallel_range(mxn_thread_pool *pool, int threads, size_t n, size_t grain, mxn_range_fn fn, void *ctx);

/* Work (elements, window taps) below which a cheap layer runs on one thread:
 * a job costs the other thread's wake-up and a share of the data moving
 * between caches, about what ~40 us of such work saves. */
#define MXN_PARALLEL_MIN_WORK 262144

/* the same from a layer's forward: opt->pool and opt->num_threads */
static inline void mxn_parallel_for(const mxn_option *opt, size_t n, size_t grain, mxn_range_fn fn, void *ctx)
{
    mxn_parallel_range(opt ? opt->pool : NULL, opt ? opt->num_threads : 1, n, grain, fn, ctx);
}

#endif
