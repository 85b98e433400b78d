/* The session's thread pool (see thread_pool.h).
 *
 * Protocol.  The caller publishes a job under the mutex (function, context,
 * block count, claim counters reset) and bumps `generation`; pool threads
 * notice the new generation (spinning for a short while after their last
 * job, else asleep on `wake`), copy the job under the mutex and count
 * themselves `active`.  Everybody - caller included - claims blocks with an
 * atomic counter until none is left; the thread finishing the last block
 * wakes the caller.  A job is published only when no pool thread is still
 * inside the previous one (active == 0), so a late thread never claims a
 * block of a job it did not copy.  The shared counters are only touched with
 * the __atomic builtins (GCC, clang) or under the mutex. */
#include "thread_pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

/* how long an idle pool thread polls for the next job before it sleeps: the
 * next layer of a forward comes sooner than a wake-up (which, on a virtual
 * machine, may take the host's scheduler milliseconds) */
#define SPIN_IDLE_NS 100000L
/* how long the caller polls for blocks other threads are running (their end
 * is near: sleeping would only add a wake-up) */
#define SPIN_JOB_NS 5000000L
/* more threads than processors: a polling thread would take the processor
 * from the one it waits for, so poll briefly and yield while doing so */
#define SPIN_OVERSUBSCRIBED_NS 20000L

struct mxn_thread_pool {
    int threads;                 /* as created, the caller included */
    long spin_idle_ns, spin_job_ns;
    int yield_in_spin;           /* more threads than processors */
    int started;                 /* pool threads running */
    pthread_t *tids;
    pthread_mutex_t mu;
    pthread_cond_t wake;         /* pool threads: a new job, or quit */
    pthread_cond_t done;         /* the caller: last block finished / a thread left its job */
    /* the current job: written under mu while active == 0 */
    void (*job_fn)(void *ctx, int block);
    void *job_ctx;
    int job_blocks;
    /* atomics */
    unsigned generation;         /* bumped (under mu) for every job */
    int next;                    /* the next block to claim */
    int finished;                /* blocks done */
    int quit;
    int kicks;                   /* mxn_thread_pool_wake: sleeping threads spin again */
    int busy;                    /* a job runs: a nested call runs serially */
    int active;                  /* pool threads inside a job (changed under mu) */
    /* under mu */
    int sleepers;                /* pool threads waiting on `wake` */
};

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__) || (defined(__arm__) && defined(__ARM_ARCH) && __ARM_ARCH >= 7)
    __asm__ __volatile__("yield");
#endif
}

static long long now_ns(void)
{
    return mxn_monotonic_ns();
}

enum { UNTIL_CHANGED, UNTIL_AT_LEAST, UNTIL_EQUAL };

/* poll until *word != value (UNTIL_CHANGED), >= value or == value, or `ns`
 * passed (or *quit is set); 1 when the condition holds */
static int spin_wait(const int *word, int until, int value, const int *quit, long ns, int yield)
{
    long long deadline = 0;
    int i = 0;
    for (;;) {
        const int v = __atomic_load_n(word, __ATOMIC_ACQUIRE);
        if (until == UNTIL_CHANGED ? v != value : until == UNTIL_AT_LEAST ? v >= value : v == value) return 1;
        if (quit && __atomic_load_n(quit, __ATOMIC_ACQUIRE)) return 0;
        cpu_relax();
        if (++i % 64 == 0) {
            const long long t = now_ns();
            if (yield) sched_yield();
            if (!deadline) deadline = t + ns;
            else if (t > deadline) return 0;
        }
    }
}

/* claim and run blocks until none is left */
static void run_blocks(mxn_thread_pool *p, void (*fn)(void *, int), void *ctx, int blocks, int signal_last)
{
    for (;;) {
        const int b = __atomic_fetch_add(&p->next, 1, __ATOMIC_RELAXED);
        if (b >= blocks) return;
        fn(ctx, b);
        if (__atomic_add_fetch(&p->finished, 1, __ATOMIC_ACQ_REL) == blocks && signal_last) {
            pthread_mutex_lock(&p->mu);
            pthread_cond_broadcast(&p->done);
            pthread_mutex_unlock(&p->mu);
        }
    }
}

static void *pool_main(void *arg)
{
    mxn_thread_pool *p = (mxn_thread_pool *)arg;
    unsigned seen = 0;
    for (;;) {
        void (*fn)(void *, int);
        void *ctx;
        int blocks;
        if (!spin_wait((const int *)&p->generation, UNTIL_CHANGED, (int)seen, &p->quit, p->spin_idle_ns, p->yield_in_spin)) {
            const int kicks = __atomic_load_n(&p->kicks, __ATOMIC_ACQUIRE);
            pthread_mutex_lock(&p->mu);
            while (__atomic_load_n(&p->generation, __ATOMIC_ACQUIRE) == seen &&
                   !__atomic_load_n(&p->quit, __ATOMIC_ACQUIRE) && __atomic_load_n(&p->kicks, __ATOMIC_ACQUIRE) == kicks) {
                p->sleepers++;
                pthread_cond_wait(&p->wake, &p->mu);
                p->sleepers--;
            }
            if (__atomic_load_n(&p->generation, __ATOMIC_ACQUIRE) == seen && !__atomic_load_n(&p->quit, __ATOMIC_ACQUIRE)) {
                pthread_mutex_unlock(&p->mu);   /* kicked: spin again, a job is coming */
                continue;
            }
        } else {
            pthread_mutex_lock(&p->mu);
        }
        if (__atomic_load_n(&p->quit, __ATOMIC_ACQUIRE)) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        seen = __atomic_load_n(&p->generation, __ATOMIC_ACQUIRE);
        fn = p->job_fn;
        ctx = p->job_ctx;
        blocks = p->job_blocks;
        __atomic_add_fetch(&p->active, 1, __ATOMIC_RELAXED);
        pthread_mutex_unlock(&p->mu);

        run_blocks(p, fn, ctx, blocks, 1);

        pthread_mutex_lock(&p->mu);
        if (__atomic_sub_fetch(&p->active, 1, __ATOMIC_RELEASE) == 0) pthread_cond_broadcast(&p->done);
        pthread_mutex_unlock(&p->mu);
    }
}

int mxn_thread_pool_create(mxn_thread_pool **pool, int threads, mxn_error *err)
{
    mxn_thread_pool *p;
    int i;
    *pool = NULL;
    if (threads < 1) return mxn_error_set(err, MXN_ERR_PARAM, "number of threads must be >= 1, got %d", threads);
    p = (mxn_thread_pool *)calloc(1, sizeof(*p));
    if (!p) return mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory (thread pool)");
    p->threads = threads;
    {
        const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        p->yield_in_spin = cpus > 0 && threads > cpus;
        p->spin_idle_ns = p->yield_in_spin ? SPIN_OVERSUBSCRIBED_NS : SPIN_IDLE_NS;
        p->spin_job_ns = p->yield_in_spin ? SPIN_OVERSUBSCRIBED_NS : SPIN_JOB_NS;
    }
    if (threads > 1 && !(p->tids = (pthread_t *)calloc((size_t)threads - 1, sizeof(pthread_t)))) {
        free(p);
        return mxn_error_set(err, MXN_ERR_NO_MEM, "out of memory (thread pool)");
    }
    if (pthread_mutex_init(&p->mu, NULL)) {
        free(p->tids);
        free(p);
        return mxn_error_set(err, MXN_ERR_NO_MEM, "cannot create the thread pool's mutex");
    }
    if (pthread_cond_init(&p->wake, NULL)) {
        pthread_mutex_destroy(&p->mu);
        free(p->tids);
        free(p);
        return mxn_error_set(err, MXN_ERR_NO_MEM, "cannot create the thread pool's condition variable");
    }
    if (pthread_cond_init(&p->done, NULL)) {
        pthread_cond_destroy(&p->wake);
        pthread_mutex_destroy(&p->mu);
        free(p->tids);
        free(p);
        return mxn_error_set(err, MXN_ERR_NO_MEM, "cannot create the thread pool's condition variable");
    }
    /* a thread that cannot be started is left out: the caller runs its share */
    for (i = 0; i < threads - 1; i++)
        if (pthread_create(&p->tids[p->started], NULL, pool_main, p) == 0) p->started++;
    *pool = p;
    return MXN_OK;
}

void mxn_thread_pool_destroy(mxn_thread_pool *p)
{
    int i;
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    __atomic_store_n(&p->quit, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (i = 0; i < p->started; i++) pthread_join(p->tids[i], NULL);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->wake);
    pthread_mutex_destroy(&p->mu);
    free(p->tids);
    free(p);
}

void mxn_thread_pool_wake(mxn_thread_pool *p)
{
    if (!p || !p->started) return;
    pthread_mutex_lock(&p->mu);
    __atomic_add_fetch(&p->kicks, 1, __ATOMIC_RELEASE);
    if (p->sleepers) pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
}

int mxn_thread_pool_threads(const mxn_thread_pool *p)
{
    return p ? p->threads : 1;
}

/* run blocks 0..blocks-1 of fn over the pool (the caller included) */
static void pool_run(mxn_thread_pool *p, int blocks, void (*fn)(void *, int), void *ctx)
{
    int b;
    if (!p || !p->started || blocks < 2 || __atomic_exchange_n(&p->busy, 1, __ATOMIC_ACQUIRE)) {
        for (b = 0; b < blocks; b++) fn(ctx, b);
        return;
    }
    /* the previous job's stragglers (a thread that joined it late, or has
     * not yet counted itself out) */
    spin_wait(&p->active, UNTIL_EQUAL, 0, NULL, p->spin_job_ns, p->yield_in_spin);
    pthread_mutex_lock(&p->mu);
    while (__atomic_load_n(&p->active, __ATOMIC_ACQUIRE) > 0) pthread_cond_wait(&p->done, &p->mu);
    p->job_fn = fn;
    p->job_ctx = ctx;
    p->job_blocks = blocks;
    __atomic_store_n(&p->next, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&p->finished, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&p->generation, __atomic_load_n(&p->generation, __ATOMIC_RELAXED) + 1u, __ATOMIC_RELEASE);
    if (p->sleepers) pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);

    run_blocks(p, fn, ctx, blocks, 0);

    if (!spin_wait(&p->finished, UNTIL_AT_LEAST, blocks, NULL, p->spin_job_ns, p->yield_in_spin)) {
        pthread_mutex_lock(&p->mu);
        while (__atomic_load_n(&p->finished, __ATOMIC_ACQUIRE) < blocks) pthread_cond_wait(&p->done, &p->mu);
        pthread_mutex_unlock(&p->mu);
    }
    __atomic_store_n(&p->busy, 0, __ATOMIC_RELEASE);
}

/* ---- mxn_run_workers: argument blocks ---- */

typedef struct {
    void *(*fn)(void *);
    char *args;
    size_t arg_size;
} workers_job;

static void workers_block(void *ctx, int b)
{
    const workers_job *j = (const workers_job *)ctx;
    j->fn(j->args + (size_t)b * j->arg_size);
}

void mxn_run_workers(mxn_thread_pool *pool, int workers, void *(*fn)(void *), void *args, size_t arg_size)
{
    workers_job j;
    if (workers < 1) return;
    if (workers == 1) {
        fn(args);
        return;
    }
    j.fn = fn;
    j.args = (char *)args;
    j.arg_size = arg_size;
    pool_run(pool, workers, workers_block, &j);
}

/* ---- mxn_parallel_range: contiguous ranges ---- */

typedef struct {
    mxn_range_fn fn;
    void *ctx;
    size_t n, chunk;
} range_job;

static void range_block(void *ctx, int b)
{
    const range_job *j = (const range_job *)ctx;
    const size_t begin = (size_t)b * j->chunk;
    if (begin >= j->n) return;
    j->fn(j->ctx, begin, j->n - begin < j->chunk ? j->n : begin + j->chunk);
}

void mxn_parallel_range(mxn_thread_pool *pool, int threads, size_t n, size_t grain, mxn_range_fn fn, void *ctx)
{
    range_job j;
    size_t units, per;
    if (grain < 1) grain = 1;
    units = n / grain + (n % grain != 0);
    if (!pool || !pool->started || threads < 2 || units < 2) {
        if (n) fn(ctx, 0, n);
        return;
    }
    if ((size_t)threads > units) threads = (int)units;
    per = (units + (size_t)threads - 1) / (size_t)threads;
    j.fn = fn;
    j.ctx = ctx;
    j.n = n;
    j.chunk = per * grain;
    pool_run(pool, (int)((n + j.chunk - 1) / j.chunk), range_block, &j);
}
