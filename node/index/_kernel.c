/* The PDQ index's inner loops in C: probing one table of a multi-index-hashing segment, and flat scans.
 *
 * `node/index/mih.py` owns the data layout and every decision (plans, which rows go in which table); this
 * module only runs the per-query loops that numpy cannot run without materialising every candidate: gather the
 * candidate rows of a query's probes, compare each in full (prefetching rows ahead: each is a cache miss), and
 * keep a match only from the first chunk that would have found it, so repeats are dropped without sorting.
 *
 * Arrays come in through the buffer protocol (no numpy headers: the extension builds with setuptools alone);
 * results go out as bytes that numpy wraps without copying. The GIL is released while a batch runs.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WORDS 4
#define HASH_BITS 256
#define MAX_CHUNKS 64
/* Candidate rows fetched ahead of the one compared. On the development box (AMD EPYC, 1M rows) 16-24 were
 * best, 12 ~15% slower, and 32 or more ~50% slower (more outstanding misses than the core tracks); 16 leaves
 * room for CPUs that track fewer. */
#ifndef PREFETCH_AHEAD
#define PREFETCH_AHEAD 16
#endif
#define SCAN_BLOCK_ROWS 2048
#define COARSE_BITS 12
#define COARSE_SLOTS (1 << COARSE_BITS)

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
/* One build runs everywhere: the probing loop is compiled twice and picked at load time by the CPU's features;
 * the scan is also compiled for AVX-512 VPOPCNTDQ and picked at module initialisation. */
#define HOT __attribute__((target_clones("popcnt", "default")))
#define WIDE_SCAN 1
#else
#define HOT
#define WIDE_SCAN 0
#endif

static inline int popcount64(uint64_t x) { return __builtin_popcountll(x); }

static inline int distance(const uint64_t *a, const uint64_t *b) {
    return popcount64(a[0] ^ b[0]) + popcount64(a[1] ^ b[1]) + popcount64(a[2] ^ b[2]) +
           popcount64(a[3] ^ b[3]);
}

/* --- growable results ------------------------------------------------------------------------------------ */

typedef struct {
    int64_t *query;
    int64_t *row;
    int32_t *distance;
    size_t size, capacity;
} Found;

static int found_push(Found *found, int64_t query, int64_t row, int32_t dist) {
    if (found->size == found->capacity) {
        size_t capacity = found->capacity ? 2 * found->capacity : 256;
        int64_t *q = realloc(found->query, capacity * sizeof(int64_t));
        if (q == NULL) return -1;
        found->query = q;
        int64_t *r = realloc(found->row, capacity * sizeof(int64_t));
        if (r == NULL) return -1;
        found->row = r;
        int32_t *d = realloc(found->distance, capacity * sizeof(int32_t));
        if (d == NULL) return -1;
        found->distance = d;
        found->capacity = capacity;
    }
    found->query[found->size] = query;
    found->row[found->size] = row;
    found->distance[found->size] = dist;
    found->size++;
    return 0;
}

static void found_free(Found *found) {
    free(found->query);
    free(found->row);
    free(found->distance);
}

/* (query bytes int64, row bytes int64, distance bytes int32), or NULL with an exception set. */
static PyObject *found_to_python(Found *found) {
    PyObject *q = PyBytes_FromStringAndSize((const char *)found->query, found->size * sizeof(int64_t));
    PyObject *r = PyBytes_FromStringAndSize((const char *)found->row, found->size * sizeof(int64_t));
    PyObject *d = PyBytes_FromStringAndSize((const char *)found->distance, found->size * sizeof(int32_t));
    if (q == NULL || r == NULL || d == NULL) {
        Py_XDECREF(q);
        Py_XDECREF(r);
        Py_XDECREF(d);
        return NULL;
    }
    return Py_BuildValue("(NNN)", q, r, d);
}

/* --- the table type -------------------------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    Py_buffer words, positions, lookup, chunks, permutation;
    int has_positions, has_permutation;
    int64_t rows;
    int offsets;     /* lookup is per-chunk offsets tables, else sorted (chunk << 24 | value) keys */
    int n_chunks;
    int word[MAX_CHUNKS], shift[MAX_CHUNKS];
    uint64_t mask[MAX_CHUNKS];
    int64_t table_base[MAX_CHUNKS]; /* where each chunk's offsets table starts in lookup */
    int64_t *coarse;                /* sorted keys: per chunk, where each run of values with the same top bits
                                       starts (COARSE_SLOTS + 1 each), so a search reads a few keys, not log2(rows) */
    int coarse_shift[MAX_CHUNKS];
    uint8_t source_bit[HASH_BITS];  /* the permutation: bit j of a stored row is bit source_bit[j] of the hash */
} Table;

static void table_dealloc(Table *self) {
    free(self->coarse);
    PyBuffer_Release(&self->words);
    if (self->has_positions) {
        PyBuffer_Release(&self->positions);
        PyBuffer_Release(&self->lookup);
        PyBuffer_Release(&self->chunks);
    }
    if (self->has_permutation) PyBuffer_Release(&self->permutation);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int need(Py_buffer *view, Py_ssize_t itemsize, const char *name) {
    if (view->itemsize != itemsize || view->len % itemsize != 0) {
        PyErr_Format(PyExc_ValueError, "%s: got items of %zd bytes, want %zd", name, view->itemsize, itemsize);
        return -1;
    }
    return 0;
}

/* Table(words, positions, lookup, offsets, chunks, permutation): `chunks` is int32 (word, shift, width) per
 * chunk; positions, lookup and chunks are None for a table that is only scanned; permutation is None or 256
 * uint8 source bits. Every buffer must be C-contiguous; the table keeps them (and their owners) alive. */
static int index_keys(Table *self);

static int table_init(Table *self, PyObject *args, PyObject *kwds) {
    PyObject *words, *positions, *lookup, *chunks, *permutation;
    int offsets;
    static char *names[] = {"words", "positions", "lookup", "offsets", "chunks", "permutation", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "OOOpOO", names, &words, &positions, &lookup, &offsets,
                                     &chunks, &permutation))
        return -1;
    if (self->words.obj != NULL) {
        PyErr_SetString(PyExc_TypeError, "Table is initialised once");
        return -1;
    }
    if (PyObject_GetBuffer(words, &self->words, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    if (need(&self->words, 8, "words") < 0 || self->words.len % (WORDS * 8) != 0) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "words: want rows of 4 uint64");
        PyBuffer_Release(&self->words);
        self->words.obj = NULL;
        return -1;
    }
    self->rows = self->words.len / (WORDS * 8);
    self->offsets = offsets;
    if (positions != Py_None) {
        if (PyObject_GetBuffer(positions, &self->positions, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) goto fail;
        if (PyObject_GetBuffer(lookup, &self->lookup, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
            PyBuffer_Release(&self->positions);
            goto fail;
        }
        if (PyObject_GetBuffer(chunks, &self->chunks, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
            PyBuffer_Release(&self->positions);
            PyBuffer_Release(&self->lookup);
            goto fail;
        }
        self->has_positions = 1;
        if (need(&self->positions, 4, "positions") < 0 || need(&self->lookup, 4, "lookup") < 0 ||
            need(&self->chunks, 4, "chunks") < 0)
            goto fail;
        Py_ssize_t spec = self->chunks.len / 4;
        if (spec % 3 != 0 || spec / 3 < 1 || spec / 3 > MAX_CHUNKS) {
            PyErr_SetString(PyExc_ValueError, "chunks: want (word, shift, width) rows, 1 to 64 of them");
            goto fail;
        }
        self->n_chunks = (int)(spec / 3);
        const int32_t *c = self->chunks.buf;
        int64_t base = 0;
        for (int i = 0; i < self->n_chunks; i++) {
            int word = c[3 * i], shift = c[3 * i + 1], width = c[3 * i + 2];
            if (word < 0 || word >= WORDS || shift < 0 || width < 1 || width > 24 || shift + width > 64) {
                PyErr_SetString(PyExc_ValueError, "chunks: a chunk outside its word");
                goto fail;
            }
            self->word[i] = word;
            self->shift[i] = shift;
            self->mask[i] = (UINT64_C(1) << width) - 1;
            self->table_base[i] = base;
            base += (INT64_C(1) << width) + 1;
        }
        int64_t want_lookup = offsets ? base : self->n_chunks * self->rows;
        if ((int64_t)(self->lookup.len / 4) != want_lookup ||
            (int64_t)(self->positions.len / 4) != (self->n_chunks - 1) * self->rows) {
            PyErr_SetString(PyExc_ValueError, "positions or lookup: sizes do not fit the rows and chunks");
            goto fail;
        }
        if (!offsets && index_keys(self) < 0) goto fail;
    }
    if (permutation != Py_None) {
        if (PyObject_GetBuffer(permutation, &self->permutation, PyBUF_C_CONTIGUOUS) < 0) goto fail;
        self->has_permutation = 1;
        if (self->permutation.len != HASH_BITS) {
            PyErr_SetString(PyExc_ValueError, "permutation: want 256 source bits");
            goto fail;
        }
        memcpy(self->source_bit, self->permutation.buf, HASH_BITS);
    }
    return 0;
fail:
    /* table_dealloc releases whatever was acquired */
    return -1;
}

/* The coarse index of a table of sorted keys (see `coarse`); checks that each chunk's keys are sorted. */
static int index_keys(Table *self) {
    self->coarse = malloc((size_t)self->n_chunks * (COARSE_SLOTS + 1) * sizeof(int64_t));
    if (self->coarse == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    const uint32_t *lookup = self->lookup.buf;
    for (int c = 0; c < self->n_chunks; c++) {
        int width = 64 - __builtin_clzll(self->mask[c]);
        int shift = width > COARSE_BITS ? width - COARSE_BITS : 0;
        self->coarse_shift[c] = shift;
        const uint32_t *keys = lookup + c * self->rows;
        int64_t *slots = self->coarse + (int64_t)c * (COARSE_SLOTS + 1);
        int64_t i = 0;
        for (int64_t slot = 0; slot <= COARSE_SLOTS; slot++) {
            /* first key whose value is at least slot << shift (the chunk number sits above bit 24) */
            while (i < self->rows && (keys[i] & 0xFFFFFF) < ((uint64_t)slot << shift)) {
                if (keys[i] >> 24 != (uint32_t)c || (i && keys[i] < keys[i - 1])) {
                    PyErr_SetString(PyExc_ValueError, "lookup: keys out of order");
                    return -1;
                }
                i++;
            }
            slots[slot] = i;
        }
    }
    return 0;
}

/* The query in the table's bit order (rows of a permuted table are stored permuted). */
static inline void prepare(const Table *t, const uint64_t *hash, uint64_t *out) {
    if (!t->has_permutation) {
        memcpy(out, hash, WORDS * sizeof(uint64_t));
        return;
    }
    uint64_t result[WORDS] = {0, 0, 0, 0};
    for (int j = 0; j < HASH_BITS; j++) {
        int s = t->source_bit[j];
        result[j >> 6] |= ((hash[s >> 6] >> (s & 63)) & 1) << (j & 63);
    }
    memcpy(out, result, sizeof(result));
}

/* Distances of rows [r0, r1) to one query, into `out`: a loop without branches, which compilers vectorise. */
#define DISTANCES_BODY                                                                                        \
    for (int64_t r = r0; r < r1; r++) out[r - r0] = (uint16_t)distance(words + WORDS * r, q);

static void distances_plain(const uint64_t *words, int64_t r0, int64_t r1, const uint64_t *q, uint16_t *out) {
    DISTANCES_BODY
}
#if WIDE_SCAN
__attribute__((target("popcnt"))) static void distances_popcnt(const uint64_t *words, int64_t r0, int64_t r1,
                                                                const uint64_t *q, uint16_t *out) {
    DISTANCES_BODY
}
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vpopcntdq"))) static void distances_avx512(
    const uint64_t *words, int64_t r0, int64_t r1, const uint64_t *q, uint16_t *out) {
    DISTANCES_BODY
}
#endif
static void (*distances)(const uint64_t *, int64_t, int64_t, const uint64_t *, uint16_t *) = distances_plain;

/* Every row within `threshold` of each query, one block of rows at a time so the block stays in cache. */
static int scan_rows(const uint64_t *words, int64_t rows, const uint64_t *queries, int64_t m, int threshold,
                     const int64_t *query_ids, Found *found) {
    uint16_t dist[SCAN_BLOCK_ROWS];
    for (int64_t r0 = 0; r0 < rows; r0 += SCAN_BLOCK_ROWS) {
        int64_t r1 = r0 + SCAN_BLOCK_ROWS < rows ? r0 + SCAN_BLOCK_ROWS : rows;
        for (int64_t i = 0; i < m; i++) {
            distances(words, r0, r1, queries + WORDS * i, dist);
            for (int64_t r = r0; r < r1; r++) {
                if (dist[r - r0] <= threshold && found_push(found, query_ids ? query_ids[i] : i, r, dist[r - r0]) < 0)
                    return -1;
            }
        }
    }
    return 0;
}

typedef struct {
    const int32_t *chunk; /* per probe, in chunk order */
    const uint32_t *flip;
    const int32_t *radius; /* per chunk */
    Py_ssize_t probes;
} Plan;

typedef struct {
    int64_t *start, *count; /* per probe */
    int64_t *candidates;
    size_t capacity;
} Scratch;

/* Was `row` within reach of an earlier chunk's probes? Then that chunk has already reported it. */
static inline int found_earlier(const Table *t, const Plan *plan, const uint64_t *row, const uint64_t *value,
                                int chunk) {
    for (int j = 0; j < chunk; j++) {
        uint64_t v = (row[t->word[j]] >> t->shift[j]) & t->mask[j];
        if (popcount64(v ^ value[j]) <= plan->radius[j]) return 1;
    }
    return 0;
}

/* The run of `key` within keys[a, n) (sorted), as [*lo, *hi). */
static inline void key_range(const uint32_t *keys, int64_t a, int64_t n, uint32_t key, int64_t *lo,
                             int64_t *hi) {
    int64_t b = n;
    while (a < b) {
        int64_t mid = (a + b) >> 1;
        if (keys[mid] < key) a = mid + 1; else b = mid;
    }
    *lo = a;
    b = n;
    while (a < b) {
        int64_t mid = (a + b) >> 1;
        if (keys[mid] <= key) a = mid + 1; else b = mid;
    }
    *hi = a;
}

#define INCONSISTENT (-2) /* arrays that contradict each other (a damaged snapshot): refuse, never read past them */

/* Bucket ranges of every probe: `start` indexes rows for chunk 0, positions for the others; INCONSISTENT if a
 * range falls outside the table. */
static int64_t probe_ranges(const Table *t, const Plan *plan, const uint64_t *value, Scratch *s) {
    const uint32_t *lookup = t->lookup.buf;
    int64_t total = 0;
    for (Py_ssize_t p = 0; p < plan->probes; p++) {
        int c = plan->chunk[p];
        uint64_t v = value[c] ^ plan->flip[p];
        int64_t lo, hi;
        if (t->offsets) {
            const uint32_t *table = lookup + t->table_base[c];
            lo = table[v];
            hi = table[v + 1];
            if (lo > hi || hi > t->rows) return INCONSISTENT;
        } else {
            const int64_t *slots = t->coarse + (int64_t)c * (COARSE_SLOTS + 1) + (v >> t->coarse_shift[c]);
            key_range(lookup + c * t->rows, slots[0], slots[1], (uint32_t)((uint64_t)c << 24 | v), &lo, &hi);
        }
        s->start[p] = c == 0 ? lo : (int64_t)(c - 1) * t->rows + lo;
        s->count[p] = hi - lo;
        /* the bucket's first entries are read next: start fetching them now, with the other probes' */
        if (hi > lo) {
            if (c == 0) __builtin_prefetch((const uint64_t *)t->words.buf + WORDS * lo);
            else __builtin_prefetch((const uint32_t *)t->positions.buf + s->start[p]);
        }
        total += hi - lo;
    }
    return total;
}

static int reserve(Scratch *s, size_t size) {
    if (size <= s->capacity) return 0;
    int64_t *grown = realloc(s->candidates, size * sizeof(int64_t));
    if (grown == NULL) return -1;
    s->candidates = grown;
    s->capacity = size;
    return 0;
}

/* One query: probe, gather, compare; scanned flat instead when its buckets hold more than `flat_limit` rows. */
HOT static int match_query(const Table *t, const Plan *plan, const uint64_t *hash, int64_t query_id,
                           int threshold, int64_t flat_limit, Scratch *s, Found *found, int64_t *counted) {
    uint64_t q[WORDS], value[MAX_CHUNKS];
    prepare(t, hash, q);
    for (int c = 0; c < t->n_chunks; c++) value[c] = (q[t->word[c]] >> t->shift[c]) & t->mask[c];
    int64_t total = probe_ranges(t, plan, value, s);
    if (total < 0) return INCONSISTENT;
    if (total > flat_limit) {
        if (counted) *counted = t->rows;
        return scan_rows(t->words.buf, t->rows, q, 1, threshold, &query_id, found);
    }
    if (counted) *counted = total;
    if (reserve(s, (size_t)total) < 0) return -1;
    const uint32_t *positions = t->positions.buf;
    int64_t n = 0, chunk_end[MAX_CHUNKS];
    for (int c = 0; c < t->n_chunks; c++) chunk_end[c] = 0;
    for (Py_ssize_t p = 0; p < plan->probes; p++) {
        int64_t start = s->start[p], count = s->count[p];
        if (plan->chunk[p] == 0) {
            for (int64_t i = 0; i < count; i++) s->candidates[n + i] = start + i;
        } else {
            for (int64_t i = 0; i < count; i++) {
                uint32_t row = positions[start + i];
                if (row >= t->rows) return INCONSISTENT;
                s->candidates[n + i] = row;
            }
        }
        n += count;
        chunk_end[plan->chunk[p]] = n;
    }
    for (int c = 1; c < t->n_chunks; c++)
        if (chunk_end[c] < chunk_end[c - 1]) chunk_end[c] = chunk_end[c - 1];
    const uint64_t *words = t->words.buf;
    int chunk = 0;
    for (int64_t i = 0; i < n; i++) {
        if (i + PREFETCH_AHEAD < n) __builtin_prefetch(words + WORDS * s->candidates[i + PREFETCH_AHEAD]);
        const uint64_t *row = words + WORDS * s->candidates[i];
        int d = distance(row, q);
        if (d > threshold) continue;
        while (i >= chunk_end[chunk]) chunk++;
        if (chunk > 0 && found_earlier(t, plan, row, value, chunk)) continue;
        if (found_push(found, query_id, s->candidates[i], d) < 0) return -1;
    }
    return 0;
}

static int get_plan(PyObject *chunk, PyObject *flip, PyObject *radius, Py_buffer views[3], const Table *t,
                    Plan *plan) {
    PyObject *objects[3] = {chunk, flip, radius};
    for (int i = 0; i < 3; i++) {
        if (PyObject_GetBuffer(objects[i], &views[i], PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) {
            for (int j = 0; j < i; j++) PyBuffer_Release(&views[j]);
            return -1;
        }
    }
    plan->chunk = views[0].buf;
    plan->flip = views[1].buf;
    plan->radius = views[2].buf;
    plan->probes = views[0].len / 4;
    const char *problem = NULL;
    if (views[0].itemsize != 4 || views[1].itemsize != 4 || views[2].itemsize != 4)
        problem = "plan: want 4-byte integers";
    else if (views[1].len != views[0].len || views[2].len / 4 != t->n_chunks)
        problem = "plan: want a flip per probe and a radius per chunk";
    else {
        for (Py_ssize_t p = 0; p < plan->probes && problem == NULL; p++) {
            if (plan->chunk[p] < 0 || plan->chunk[p] >= t->n_chunks || (p && plan->chunk[p] < plan->chunk[p - 1]))
                problem = "plan: want probes in chunk order";
            else if ((uint64_t)plan->flip[p] > t->mask[plan->chunk[p]])
                problem = "plan: a flip wider than its chunk";
        }
    }
    if (problem != NULL) {
        PyErr_SetString(PyExc_ValueError, problem);
        for (int i = 0; i < 3; i++) PyBuffer_Release(&views[i]);
        return -1;
    }
    return 0;
}

static int get_queries(PyObject *queries, Py_buffer *view) {
    if (PyObject_GetBuffer(queries, view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return -1;
    if (view->itemsize != 8 || view->len % (WORDS * 8) != 0) {
        PyErr_SetString(PyExc_ValueError, "queries: want rows of 4 uint64");
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

/* match(queries, probe_chunk, probe_flip, radius, threshold, flat_limit, counted=None)
 *   -> (query bytes int64, row bytes int64, distance bytes int32); `counted` (int64 per query, writable)
 *   receives the rows each query compared. */
static PyObject *table_match(Table *self, PyObject *args) {
    PyObject *queries, *chunk, *flip, *radius, *counted_obj = Py_None;
    int threshold;
    long long flat_limit;
    if (!PyArg_ParseTuple(args, "OOOOiL|O", &queries, &chunk, &flip, &radius, &threshold, &flat_limit,
                          &counted_obj))
        return NULL;
    if (self->words.obj == NULL) {
        PyErr_SetString(PyExc_TypeError, "Table was not initialised");
        return NULL;
    }
    if (!self->has_positions) {
        PyErr_SetString(PyExc_ValueError, "match: this table has no chunk tables; scan it");
        return NULL;
    }
    Py_buffer q_view, plan_views[3], counted_view;
    Plan plan;
    if (get_queries(queries, &q_view) < 0) return NULL;
    if (get_plan(chunk, flip, radius, plan_views, self, &plan) < 0) {
        PyBuffer_Release(&q_view);
        return NULL;
    }
    int64_t m = q_view.len / (WORDS * 8);
    int64_t *counted = NULL;
    int has_counted = counted_obj != Py_None;
    if (has_counted) {
        if (PyObject_GetBuffer(counted_obj, &counted_view, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE | PyBUF_FORMAT) < 0)
            goto release;
        if (counted_view.itemsize != 8 || counted_view.len / 8 != m) {
            PyErr_SetString(PyExc_ValueError, "counted: want one int64 per query");
            PyBuffer_Release(&counted_view);
            goto release;
        }
        counted = counted_view.buf;
    }
    Found found = {0};
    Scratch scratch = {0};
    int failed = 0;
    scratch.start = malloc((plan.probes + 1) * sizeof(int64_t));
    scratch.count = malloc((plan.probes + 1) * sizeof(int64_t));
    if (scratch.start == NULL || scratch.count == NULL) failed = 1;
    const uint64_t *hashes = q_view.buf;
    Py_BEGIN_ALLOW_THREADS
    for (int64_t i = 0; i < m && !failed; i++)
        failed = match_query(self, &plan, hashes + WORDS * i, i, threshold, flat_limit, &scratch, &found,
                             counted ? counted + i : NULL);
    Py_END_ALLOW_THREADS
    free(scratch.start);
    free(scratch.count);
    free(scratch.candidates);
    PyObject *result;
    if (failed == INCONSISTENT)
        result = PyErr_Format(PyExc_ValueError, "lookup or positions: entries outside the table's %lld rows",
                              (long long)self->rows);
    else
        result = failed ? PyErr_NoMemory() : found_to_python(&found);
    found_free(&found);
    if (has_counted) PyBuffer_Release(&counted_view);
    PyBuffer_Release(&q_view);
    for (int i = 0; i < 3; i++) PyBuffer_Release(&plan_views[i]);
    return result;
release:
    PyBuffer_Release(&q_view);
    for (int i = 0; i < 3; i++) PyBuffer_Release(&plan_views[i]);
    return NULL;
}

/* scan(queries, threshold) -> (query, row, distance) bytes: every row compared, any threshold. */
static PyObject *table_scan(Table *self, PyObject *args) {
    PyObject *queries;
    int threshold;
    if (!PyArg_ParseTuple(args, "Oi", &queries, &threshold)) return NULL;
    if (self->words.obj == NULL) {
        PyErr_SetString(PyExc_TypeError, "Table was not initialised");
        return NULL;
    }
    Py_buffer q_view;
    if (get_queries(queries, &q_view) < 0) return NULL;
    int64_t m = q_view.len / (WORDS * 8);
    uint64_t *prepared = malloc((m ? m : 1) * WORDS * sizeof(uint64_t));
    Found found = {0};
    int failed = prepared == NULL;
    Py_BEGIN_ALLOW_THREADS
    if (!failed) {
        for (int64_t i = 0; i < m; i++) prepare(self, (const uint64_t *)q_view.buf + WORDS * i, prepared + WORDS * i);
        failed = scan_rows(self->words.buf, self->rows, prepared, m, threshold, NULL, &found) < 0;
    }
    Py_END_ALLOW_THREADS
    free(prepared);
    PyObject *result = failed ? PyErr_NoMemory() : found_to_python(&found);
    found_free(&found);
    PyBuffer_Release(&q_view);
    return result;
}

/* --- rows to records ------------------------------------------------------------------------------------- */

static inline int64_t ordinal_at(const Py_buffer *ords, int64_t i) {
    return ords->itemsize == 4 ? (int64_t)((const uint32_t *)ords->buf)[i] : ((const int64_t *)ords->buf)[i];
}

static inline int is_dead(const uint8_t *dead, int64_t record) { return (dead[record >> 3] >> (record & 7)) & 1; }

/* records(query, row, distance, extra_rows, ords, extra_ords, dead, ord_base)
 *   -> (query bytes int64, ordinal bytes int64, distance bytes int32)
 * A segment's matched rows as its live records: record i < rows is row i's first ordinal, record rows + j is
 * extra j (extra_rows[j] is its row; sorted). See MihSegment._to_records, which does the same in numpy. */
static PyObject *kernel_records(PyObject *module, PyObject *args) {
    PyObject *objects[7];
    long long ord_base;
    if (!PyArg_ParseTuple(args, "OOOOOOOL", &objects[0], &objects[1], &objects[2], &objects[3], &objects[4],
                          &objects[5], &objects[6], &ord_base))
        return NULL;
    static const Py_ssize_t itemsize[7] = {8, 8, 4, 4, 0, 0, 1};
    static const char *names[7] = {"query", "row", "distance", "extra_rows", "ords", "extra_ords", "dead"};
    Py_buffer views[7];
    int acquired = 0;
    PyObject *result = NULL;
    for (; acquired < 7; acquired++) {
        if (PyObject_GetBuffer(objects[acquired], &views[acquired], PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0)
            goto done;
        Py_ssize_t size = views[acquired].itemsize;
        int fits = itemsize[acquired] ? size == itemsize[acquired] : size == 4 || size == 8;
        if (!fits) {
            acquired++;
            PyErr_Format(PyExc_ValueError, "%s: got items of %zd bytes", names[acquired - 1], size);
            goto done;
        }
    }
    int64_t n = views[0].len / 8, rows = views[4].len / views[4].itemsize, extras = views[3].len / 4;
    if (views[1].len / 8 != n || views[2].len / 4 != n || views[5].len / views[5].itemsize != extras ||
        views[6].len * 8 < rows + extras) {
        PyErr_SetString(PyExc_ValueError, "records: array sizes disagree");
        goto done;
    }
    const int64_t *query = views[0].buf, *row = views[1].buf;
    const int32_t *dist = views[2].buf;
    const uint32_t *extra_rows = views[3].buf;
    const uint8_t *dead = views[6].buf;
    Found found = {0};
    int failed = 0;
    for (int64_t i = 0; i < n && !failed; i++) {
        int64_t r = row[i];
        if (r < 0 || r >= rows) {
            found_free(&found);
            PyErr_SetString(PyExc_ValueError, "records: a row outside the segment");
            goto done;
        }
        if (!is_dead(dead, r)) failed = found_push(&found, query[i], ordinal_at(&views[4], r) + ord_base, dist[i]);
        int64_t lo, hi;
        key_range(extra_rows, 0, extras, (uint32_t)r, &lo, &hi);
        for (int64_t j = lo; j < hi && !failed; j++)
            if (!is_dead(dead, rows + j))
                failed = found_push(&found, query[i], ordinal_at(&views[5], j) + ord_base, dist[i]);
    }
    result = failed ? PyErr_NoMemory() : found_to_python(&found);
    found_free(&found);
done:
    for (int i = 0; i < acquired; i++) PyBuffer_Release(&views[i]);
    return result;
}

static PyMethodDef kernel_functions[] = {
    {"records", kernel_records, METH_VARARGS,
     "records(query, row, distance, extra_rows, ords, extra_ords, dead, ord_base) -> live (query, ordinal, "
     "distance) as int64/int64/int32 bytes"},
    {NULL, NULL, 0, NULL},
};

static PyMethodDef table_methods[] = {
    {"match", (PyCFunction)table_match, METH_VARARGS,
     "match(queries, probe_chunk, probe_flip, radius, threshold, flat_limit, counted=None) -> "
     "(query, row, distance) as int64/int64/int32 bytes, each (query, row) once"},
    {"scan", (PyCFunction)table_scan, METH_VARARGS,
     "scan(queries, threshold) -> (query, row, distance) as int64/int64/int32 bytes"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject TableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "node.index._kernel.Table",
    .tp_doc = "One table of a PDQ index segment: its rows and, unless it is only scanned, its chunk tables.",
    .tp_basicsize = sizeof(Table),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)table_init,
    .tp_dealloc = (destructor)table_dealloc,
    .tp_methods = table_methods,
};

static struct PyModuleDef kernel_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "node.index._kernel",
    .m_doc = "Compiled inner loops of the PDQ index (optional: node/index falls back to numpy without them).",
    .m_size = -1,
    .m_methods = kernel_functions,
};

PyMODINIT_FUNC PyInit__kernel(void) {
#if WIDE_SCAN
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512vpopcntdq") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl"))
        distances = distances_avx512;
    else if (__builtin_cpu_supports("popcnt"))
        distances = distances_popcnt;
#endif
    if (PyType_Ready(&TableType) < 0) return NULL;
    PyObject *module = PyModule_Create(&kernel_module);
    if (module == NULL) return NULL;
    Py_INCREF(&TableType);
    if (PyModule_AddObject(module, "Table", (PyObject *)&TableType) < 0) {
        Py_DECREF(&TableType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
