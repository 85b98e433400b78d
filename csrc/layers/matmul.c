/* MatMul (0 transB) between two blobs, ncnn's rules for up to 3-D: 2-D x 2-D
 * is A (M x K) times B (K x N, or N x K with transB); a 3-D blob is a batch of
 * matrices (channels), a 2-D operand is shared by every batch entry, batches
 * of 1 broadcast; 1-D x 1-D is a dot product, a 1-D A is one row, a 1-D B one
 * column.  Sums run over k in order (ncnn's reference).  float32. */
#include "layer_util.h"

typedef struct {
    int transB;
} matmul_priv;

static int load_param(mxn_layer *l, const mxn_paramdict *pd, mxn_error *err)
{
    matmul_priv *p;
    int rc = mxn_check_blob_counts(l, 2, 1, err);
    if (rc) return rc;
    if (!(p = (matmul_priv *)mxn_priv_alloc(l, sizeof(*p), err))) return err->code;
    p->transB = mxn_pd_int(pd, 0, 0);
    return MXN_OK;
}

/* C (M x N) = A (M x K) * B, B read as K x N (or N x K when transB) */
static void gemm(const float *A, const float *B, float *C, int M, int K, int N, int transB)
{
    int i, j, k;
    for (i = 0; i < M; i++)
        for (j = 0; j < N; j++) {
            float sum = 0.f;
            for (k = 0; k < K; k++) sum += A[(size_t)i * K + k] * (transB ? B[(size_t)j * K + k] : B[(size_t)k * N + j]);
            C[(size_t)i * N + j] = sum;
        }
}

static int forward(const mxn_layer *l, const mxn_mat *bottoms, mxn_mat *tops, const mxn_option *opt,
                   mxn_error *err)
{
    const matmul_priv *p = (const matmul_priv *)l->priv;
    const mxn_mat *A = &bottoms[0], *B = &bottoms[1];
    int M, K, N, KB, batch, ab, bb, b, rc;
    (void)opt;
    if ((rc = mxn_check_f32(l, A, 0, err)) || (rc = mxn_check_f32(l, B, 1, err))) return rc;
    /* A as [ab][M][K], B as [bb][K][N] (or [bb][N][K]) */
    M = A->dims == 1 ? 1 : A->h;
    K = A->w;
    ab = A->dims == 3 ? A->c : 1;
    if (B->dims == 1) {
        N = 1;
        KB = B->w;
        bb = 1;
    } else {
        N = p->transB ? B->h : B->w;
        KB = p->transB ? B->w : B->h;
        bb = B->dims == 3 ? B->c : 1;
    }
    if (KB != K || (ab != bb && ab != 1 && bb != 1))
        return mxn_error_set(err, MXN_ERR_SHAPE, "MatMul of %d-D %dx%dx%d and %d-D %dx%dx%d (c,h,w, transB %d) does "
                             "not fit", A->dims, A->c, A->h, A->w, B->dims, B->c, B->h, B->w, p->transB);
    batch = ab > bb ? ab : bb;
    if (A->dims == 1 && B->dims == 1) rc = mxn_mat_alloc(&tops[0], 1, 1, 1, 1, MXN_F32, err);
    else if (B->dims == 1) rc = A->dims == 3 ? mxn_mat_alloc(&tops[0], 2, M, batch, 1, MXN_F32, err)
                                             : mxn_mat_alloc(&tops[0], 1, M, 1, 1, MXN_F32, err);
    else if (A->dims == 1) rc = B->dims == 3 ? mxn_mat_alloc(&tops[0], 2, N, batch, 1, MXN_F32, err)
                                             : mxn_mat_alloc(&tops[0], 1, N, 1, 1, MXN_F32, err);
    else if (batch > 1 || A->dims == 3 || B->dims == 3) rc = mxn_mat_alloc(&tops[0], 3, N, M, batch, MXN_F32, err);
    else rc = mxn_mat_alloc(&tops[0], 2, N, M, 1, MXN_F32, err);
    if (rc) return rc;
    for (b = 0; b < batch; b++) {
        const float *pa = mxn_mat_f32(A) + (size_t)(ab == 1 ? 0 : b) * M * K;
        const float *pb = mxn_mat_f32(B) + (size_t)(bb == 1 ? 0 : b) * K * N;
        float *pc = mxn_mat_f32(&tops[0]) + (size_t)b * M * N;
        if (B->dims == 1) gemm(pa, pb, pc, M, K, 1, 1);
        else gemm(pa, pb, pc, M, K, N, p->transB);
    }
    return MXN_OK;
}

const mxn_layer_ops mxn_layer_matmul = {"MatMul", load_param, NULL, forward, NULL};
