/* The session's thread pool (csrc/thread_pool.c) on its own, built with
 * ThreadSanitizer (MAIXNN_TSAN=ON, pool_test_tsan): thousands of jobs of 1 to
 * 7 blocks on pools of 1 to 4 threads, jobs that start a nested job on the
 * same pool (run serially), wake-ups, and mxn_parallel_range over every
 * length 0..9999; every block must run exactly once with its own argument.
 *
 * usage: pool_test */
#include <stdio.h>
#include <string.h>

#include "thread_pool.h"

#define RANGE_MAX 10000

typedef struct {
    mxn_thread_pool *pool;
    int *data;
    int id;
} block_arg;

static void *count_block(void *arg)
{
    int *counter = (int *)arg;
    *counter += 1;
    return NULL;
}

static void *outer_block(void *arg)
{
    block_arg *b = (block_arg *)arg;
    int nested[3] = {0, 0, 0};
    b->data[b->id] += b->id;
    mxn_run_workers(b->pool, 3, count_block, nested, sizeof(int));
    b->data[b->id] += nested[0] + nested[1] + nested[2];
    return NULL;
}

static void fill_range(void *ctx, size_t begin, size_t end)
{
    int *d = (int *)ctx;
    size_t i;
    for (i = begin; i < end; i++) d[i] += (int)i + 1;
}

static int big[RANGE_MAX];

int main(void)
{
    int threads, failures = 0;
    for (threads = 1; threads <= 4; threads++) {
        mxn_thread_pool *pool;
        mxn_error err;
        int round;
        if (mxn_thread_pool_create(&pool, threads, &err) != MXN_OK) {
            printf("FAIL  pool of %d threads: %s\n", threads, err.msg);
            return 1;
        }
        if (mxn_thread_pool_threads(pool) != threads) failures++;
        for (round = 0; round < 3000 && !failures; round++) {
            const int workers = 1 + round % 7;
            const size_t n = (size_t)round * 37 % RANGE_MAX;
            block_arg args[7];
            int data[7], i;
            size_t k;
            memset(data, 0, sizeof(data));
            for (i = 0; i < workers; i++) {
                args[i].pool = pool;
                args[i].data = data;
                args[i].id = i;
            }
            if (round % 100 == 0) mxn_thread_pool_wake(pool);
            mxn_run_workers(pool, workers, outer_block, args, sizeof(block_arg));
            for (i = 0; i < workers; i++)
                if (data[i] != i + 3) {
                    printf("FAIL  %d threads, round %d: block %d ran %s\n", threads, round, i,
                           data[i] ? "more than once or wrongly" : "never");
                    failures++;
                }
            memset(big, 0, sizeof(big));
            mxn_parallel_range(pool, threads, n, 16, fill_range, big);
            for (k = 0; k < RANGE_MAX; k++)
                if (big[k] != (k < n ? (int)k + 1 : 0)) {
                    printf("FAIL  %d threads, range of %zu: element %zu is %d\n", threads, n, k, big[k]);
                    failures++;
                    break;
                }
        }
        mxn_thread_pool_destroy(pool);
    }
    printf("pool_test: %s\n", failures ? "FAILED" : "ok");
    return failures ? 1 : 0;
}
