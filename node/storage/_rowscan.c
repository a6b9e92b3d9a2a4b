/* Reading the record rows a match hit, in C: `Store.active_hits`'s loop without a Python step per field.
 *
 * node/storage/store.py owns the row layout and node/core/records.py the record item's; this module reads the
 * few fields matching needs from rows already fetched from LMDB, exactly as the Python code beside it does
 * (`active_hits` falls back to it when this module is not built; tests/test_rowscan.py holds both to the same
 * answers):
 *
 *   row   entry id (32) ‖ index u32 ‖ seq u64 ‖ timestamp_ms u64 ‖ status u8 ‖ author (u16 len + UTF-8) ‖ item
 *   item  signal type (u16 len + UTF-8) ‖ value (u32 len + bytes) ‖ quality u8 ‖ labels (u16 count, each
 *         u16 len + UTF-8) ‖ ...
 *
 * A row matches when its status byte is 1 (active) or 5 (disputed: an open dispute case, quarantine mode mark). Its record id is SHA-256(tag ‖ entry id ‖ index): the first 36
 * bytes of the row. Integers are big-endian.
 *
 * `lookups` and `table_digest` are the start-up check's loop over every record row and over the exact-hash and
 * record-id tables (node/storage/integrity.py, `_check_lookups`, which falls back to its Python loop when this
 * module is not built): each row's exact-hash and record-id rows are summed as a multiset digest (`digest`),
 * the tables' rows the same way, and the two sums compared there. Rows this loop does not read itself (a
 * malformed row, a vpdq record, a signal type that is not ASCII) are handed back to the Python loop whole.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#define ROW_FIXED 55
#define STATUS_AT 52
#define AUTHOR_SIZE_AT 53
#define ID_MATERIAL 36
#define STATUS_ACTIVE 1
#define STATUS_DISPUTED 5
#define MAX_TAG 64

/* --- SHA-256 (FIPS 180-4) ----------------------------------------------------------------------------------- */

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void compress(uint32_t state[8], const uint8_t block[64]) {
    uint32_t w[64];
    for (int i = 0; i < 16; i++) {
        w[i] = (uint32_t)block[4 * i] << 24 | (uint32_t)block[4 * i + 1] << 16 | (uint32_t)block[4 * i + 2] << 8 |
               (uint32_t)block[4 * i + 3];
    }
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
}

/* SHA-256 of a message of at most 119 bytes (two blocks): a tag and the 36 bytes of a record id's material. */
static void sha256_short(const uint8_t *message, size_t size, uint8_t digest[32]) {
    uint32_t state[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                         0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    uint8_t blocks[128] = {0};
    memcpy(blocks, message, size);
    blocks[size] = 0x80;
    size_t total = size + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)size * 8;
    for (int i = 0; i < 8; i++) {
        blocks[total - 1 - i] = (uint8_t)(bits >> (8 * i));
    }
    for (size_t at = 0; at < total; at += 64) {
        compress(state, blocks + at);
    }
    for (int i = 0; i < 8; i++) {
        digest[4 * i] = (uint8_t)(state[i] >> 24);
        digest[4 * i + 1] = (uint8_t)(state[i] >> 16);
        digest[4 * i + 2] = (uint8_t)(state[i] >> 8);
        digest[4 * i + 3] = (uint8_t)state[i];
    }
}

/* --- rows --------------------------------------------------------------------------------------------------- */

static inline size_t u16_at(const uint8_t *p) { return (size_t)p[0] << 8 | p[1]; }
static inline size_t u32_at(const uint8_t *p) {
    return (size_t)p[0] << 24 | (size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3];
}

/* Where the labels section of the item at `item` (up to `end`) starts and ends; 0 when the item is malformed. */
static int labels_section(const uint8_t *item, const uint8_t *end, const uint8_t **start, const uint8_t **stop) {
    const uint8_t *p = item;
    if (end - p < 2) return 0;
    p += 2 + u16_at(p); /* signal type */
    if (end - p < 4) return 0;
    size_t value = u32_at(p);
    if ((size_t)(end - p) < 4 + value + 1 + 2) return 0;
    p += 4 + value + 1; /* value, quality */
    *start = p;
    size_t count = u16_at(p);
    p += 2;
    for (size_t i = 0; i < count; i++) {
        if (end - p < 2) return 0;
        size_t size = u16_at(p);
        if ((size_t)(end - p) < 2 + size) return 0;
        p += 2 + size;
    }
    *stop = p;
    return 1;
}

static PyObject *append_steal(PyObject *list, PyObject *item) {
    if (item == NULL) return NULL;
    int failed = PyList_Append(list, item);
    Py_DECREF(item);
    return failed ? NULL : list;
}

PyDoc_STRVAR(scan_doc,
             "scan(rows, tag) -> (positions, record_ids, authors, label_sections)\n\n"
             "For each row of `rows` (encoded record rows, or None) that is active: its position in `rows`, its "
             "record id (SHA-256 of `tag` and the row's first 36 bytes), its contributor (UTF-8 bytes) and the "
             "labels section of its record item, as stored. Raises ValueError for a malformed row.");

static PyObject *scan(PyObject *self, PyObject *args) {
    PyObject *rows_arg;
    Py_buffer tag;
    if (!PyArg_ParseTuple(args, "Oy*", &rows_arg, &tag)) return NULL;
    PyObject *rows = NULL, *positions = NULL, *ids = NULL, *authors = NULL, *sections = NULL, *result = NULL;
    if (tag.len > MAX_TAG) {
        PyErr_SetString(PyExc_ValueError, "tag: longer than 64 bytes");
        goto done;
    }
    rows = PySequence_Fast(rows_arg, "rows: want a sequence");
    if (rows == NULL) goto done;
    positions = PyList_New(0);
    ids = PyList_New(0);
    authors = PyList_New(0);
    sections = PyList_New(0);
    if (!positions || !ids || !authors || !sections) goto done;
    uint8_t message[MAX_TAG + ID_MATERIAL];
    memcpy(message, tag.buf, (size_t)tag.len);
    Py_ssize_t count = PySequence_Fast_GET_SIZE(rows);
    PyObject **items = PySequence_Fast_ITEMS(rows);
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *row = items[i];
        if (row == Py_None) continue;
        if (!PyBytes_Check(row)) {
            PyErr_Format(PyExc_TypeError, "rows[%zd]: want bytes or None", i);
            goto done;
        }
        const uint8_t *data = (const uint8_t *)PyBytes_AS_STRING(row);
        Py_ssize_t size = PyBytes_GET_SIZE(row);
        if (size < ROW_FIXED) {
            PyErr_Format(PyExc_ValueError, "record row: truncated at byte %zd", size);
            goto done;
        }
        if (data[STATUS_AT] != STATUS_ACTIVE && data[STATUS_AT] != STATUS_DISPUTED) continue;
        size_t author = u16_at(data + AUTHOR_SIZE_AT);
        const uint8_t *end = data + size, *item = data + ROW_FIXED + author, *start, *stop;
        if (item > end || !labels_section(item, end, &start, &stop)) {
            PyErr_Format(PyExc_ValueError, "record row: malformed at rows[%zd]", i);
            goto done;
        }
        uint8_t digest[32];
        memcpy(message + tag.len, data, ID_MATERIAL);
        sha256_short(message, (size_t)tag.len + ID_MATERIAL, digest);
        if (!append_steal(positions, PyLong_FromSsize_t(i)) ||
            !append_steal(ids, PyBytes_FromStringAndSize((const char *)digest, 32)) ||
            !append_steal(authors, PyBytes_FromStringAndSize((const char *)data + ROW_FIXED, (Py_ssize_t)author)) ||
            !append_steal(sections, PyBytes_FromStringAndSize((const char *)start, stop - start))) {
            goto done;
        }
    }
    result = PyTuple_Pack(4, positions, ids, authors, sections);
done:
    PyBuffer_Release(&tag);
    Py_XDECREF(rows);
    Py_XDECREF(positions);
    Py_XDECREF(ids);
    Py_XDECREF(authors);
    Py_XDECREF(sections);
    return result;
}


/* --- the start-up check's loops ----------------------------------------------------------------------------- */

#define STATUS_LAST 5
#define FNV_OFFSET 0xcbf29ce484222325ULL
#define FNV_PRIME 0x100000001b3ULL

static inline uint64_t fnv(uint64_t h, const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        h = (h ^ p[i]) * FNV_PRIME;
    }
    return h;
}

/* The digest of a (key, value) row of a table: FNV-1a of the key, its length and the value, then mixed
 * (splitmix64's finaliser) so that a sum of digests is a fair multiset digest. `key` may come in two parts. */
static uint64_t row_digest(const uint8_t *k1, size_t n1, const uint8_t *k2, size_t n2, const uint8_t *v, size_t nv) {
    uint64_t h = fnv(FNV_OFFSET, k1, n1);
    h = fnv(h, k2, n2);
    uint8_t size[8];
    uint64_t total = (uint64_t)(n1 + n2);
    for (int i = 0; i < 8; i++) size[i] = (uint8_t)(total >> (8 * i));
    h = fnv(h, size, 8);
    h = fnv(h, v, nv);
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ULL;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebULL;
    h ^= h >> 31;
    return h;
}

PyDoc_STRVAR(digest_doc, "digest(key, value) -> int\n\nThe digest of one table row (what `table_digest` sums).");

static PyObject *digest(PyObject *self, PyObject *args) {
    Py_buffer key, value;
    if (!PyArg_ParseTuple(args, "y*y*", &key, &value)) return NULL;
    uint64_t h = row_digest(key.buf, (size_t)key.len, NULL, 0, value.buf, (size_t)value.len);
    PyBuffer_Release(&key);
    PyBuffer_Release(&value);
    return PyLong_FromUnsignedLongLong(h);
}

/* The bytes of one (key, value) tuple an LMDB cursor yields; 0 (with an exception set) for anything else. */
static int pair(PyObject *item, const char **k, Py_ssize_t *nk, const char **v, Py_ssize_t *nv) {
    if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 2 || !PyBytes_Check(PyTuple_GET_ITEM(item, 0)) ||
        !PyBytes_Check(PyTuple_GET_ITEM(item, 1))) {
        PyErr_SetString(PyExc_TypeError, "rows: want (bytes, bytes) pairs");
        return 0;
    }
    *k = PyBytes_AS_STRING(PyTuple_GET_ITEM(item, 0));
    *nk = PyBytes_GET_SIZE(PyTuple_GET_ITEM(item, 0));
    *v = PyBytes_AS_STRING(PyTuple_GET_ITEM(item, 1));
    *nv = PyBytes_GET_SIZE(PyTuple_GET_ITEM(item, 1));
    return 1;
}

PyDoc_STRVAR(table_digest_doc,
             "table_digest(rows) -> (count, sum)\n\n"
             "The number of (key, value) pairs `rows` yields and the sum of their digests, modulo 2**64.");

static PyObject *table_digest(PyObject *self, PyObject *rows) {
    PyObject *iterator = PyObject_GetIter(rows), *item;
    if (iterator == NULL) return NULL;
    unsigned long long count = 0;
    uint64_t sum = 0;
    while ((item = PyIter_Next(iterator)) != NULL) {
        const char *k, *v;
        Py_ssize_t nk, nv;
        if (!pair(item, &k, &nk, &v, &nv)) {
            Py_DECREF(item);
            Py_DECREF(iterator);
            return NULL;
        }
        sum += row_digest((const uint8_t *)k, (size_t)nk, NULL, 0, (const uint8_t *)v, (size_t)nv);
        count++;
        Py_DECREF(item);
    }
    Py_DECREF(iterator);
    if (PyErr_Occurred()) return NULL;
    return Py_BuildValue("(KK)", count, (unsigned long long)sum);
}

static inline uint64_t u64_at(const uint8_t *p) {
    uint64_t x = 0;
    for (int i = 0; i < 8; i++) x = x << 8 | p[i];
    return x;
}

static int ascii(const uint8_t *p, size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (p[i] >= 0x80) return 0;
    }
    return 1;
}

/* The active rows per (signal type, contributor, labels section), counted into a dict; consecutive rows of the
 * same group (a contribution's records mostly are) are counted without building a key each. */
typedef struct {
    PyObject *groups, *last; /* last: the key of the group being counted, or NULL */
    long long pending;
} Groups;

static int same_bytes(PyObject *held, const uint8_t *p, size_t n) {
    return (size_t)PyBytes_GET_SIZE(held) == n && memcmp(PyBytes_AS_STRING(held), p, n) == 0;
}

static int groups_flush(Groups *g) {
    if (g->last == NULL) return 1;
    PyObject *held = PyDict_GetItemWithError(g->groups, g->last);
    if (held == NULL && PyErr_Occurred()) return 0;
    PyObject *count = PyLong_FromLongLong((held == NULL ? 0 : PyLong_AsLongLong(held)) + g->pending);
    int failed = count == NULL || PyDict_SetItem(g->groups, g->last, count) < 0;
    Py_XDECREF(count);
    Py_CLEAR(g->last);
    g->pending = 0;
    return !failed;
}

static int count_group(Groups *g, const uint8_t *kind, size_t nkind, const uint8_t *author, size_t nauthor,
                       const uint8_t *labels, size_t nlabels) {
    if (g->last != NULL && same_bytes(PyTuple_GET_ITEM(g->last, 0), kind, nkind) &&
        same_bytes(PyTuple_GET_ITEM(g->last, 1), author, nauthor) &&
        same_bytes(PyTuple_GET_ITEM(g->last, 2), labels, nlabels)) {
        g->pending++;
        return 1;
    }
    if (!groups_flush(g)) return 0;
    g->last = Py_BuildValue("(y#y#y#)", kind, (Py_ssize_t)nkind, author, (Py_ssize_t)nauthor, labels,
                            (Py_ssize_t)nlabels);
    g->pending = 1;
    return g->last != NULL;
}

PyDoc_STRVAR(lookups_doc,
             "lookups(rows, tag, pdq) -> (records, active, next_ordinal, exact_sum, rids_sum, groups, others, "
             "problems)\n\n"
             "`_check_lookups`'s loop over the records table: `rows` yields its (key, row) pairs in key order, `tag` "
             "is the record id's tag, `pdq` the pdq table as a dict (the rows met are popped from it). For each row "
             "read here: the ordinal's density, the digests of its exact-hash and record-id rows (summed), its "
             "entry in `pdq`, and, when active, its count in `groups` ((signal type, contributor, labels section) "
             "-> rows). `others` are the (ordinal, key, row) this loop leaves to the caller; `problems` the lines "
             "of what it found wrong, as the Python loop words them.");

static PyObject *lookups(PyObject *self, PyObject *args) {
    PyObject *rows, *pdq;
    Py_buffer tag;
    if (!PyArg_ParseTuple(args, "Oy*O!", &rows, &tag, &PyDict_Type, &pdq)) return NULL;
    PyObject *iterator = NULL, *item = NULL, *groups = PyDict_New(), *others = PyList_New(0),
             *problems = PyList_New(0), *result = NULL;
    Groups counted = {groups, NULL, 0};
    if (tag.len > MAX_TAG) {
        PyErr_SetString(PyExc_ValueError, "tag: longer than 64 bytes");
        goto done;
    }
    if (!groups || !others || !problems || (iterator = PyObject_GetIter(rows)) == NULL) goto done;
    uint8_t message[MAX_TAG + ID_MATERIAL];
    memcpy(message, tag.buf, (size_t)tag.len);
    unsigned long long records = 0, active_rows = 0, expected = 0;
    uint64_t exact_sum = 0, rids_sum = 0;
    while ((item = PyIter_Next(iterator)) != NULL) {
        const char *k, *v;
        Py_ssize_t nk, nv;
        if (!pair(item, &k, &nk, &v, &nv)) goto done;
        const uint8_t *key = (const uint8_t *)k, *row = (const uint8_t *)v;
        if (nk != 8 || u64_at(key) != expected) {
            PyObject *line;
            if (nk == 8) {
                line = PyUnicode_FromFormat("records ordinal %llu: found where ordinal %llu should be",
                                            (unsigned long long)u64_at(key), expected);
            } else {
                PyObject *hex = PyObject_CallMethod(PyTuple_GET_ITEM(item, 0), "hex", NULL);
                line = hex == NULL ? NULL
                                   : PyUnicode_FromFormat("records ordinal %U: found where ordinal %llu should be",
                                                          hex, expected);
                Py_XDECREF(hex);
            }
            if (!append_steal(problems, line)) goto done;
            if (nk != 8) {
                Py_CLEAR(item);
                continue;
            }
            expected = u64_at(key);
        }
        unsigned long long ordinal = expected++;
        records++;
        /* The fields the lookups need, as `_lookup_fields` reads them; any doubt: the Python loop reads it. */
        const uint8_t *end = row + nv, *item_at, *start, *stop;
        int ours = nv >= ROW_FIXED && row[STATUS_AT] >= 1 && row[STATUS_AT] <= STATUS_LAST;
        if (ours) {
            item_at = row + ROW_FIXED + u16_at(row + AUTHOR_SIZE_AT);
            ours = item_at <= end && labels_section(item_at, end, &start, &stop);
        }
        size_t nkind = 0;
        const uint8_t *kind = NULL, *value = NULL;
        size_t nvalue = 0;
        if (ours) {
            nkind = u16_at(item_at);
            kind = item_at + 2;
            value = kind + nkind + 4;
            nvalue = u32_at(kind + nkind);
            ours = ascii(kind, nkind) && !(nkind == 4 && memcmp(kind, "vpdq", 4) == 0);
        }
        if (!ours) {
            PyObject *other = Py_BuildValue("(KOO)", ordinal, PyTuple_GET_ITEM(item, 0), PyTuple_GET_ITEM(item, 1));
            if (!append_steal(others, other)) goto done;
            Py_CLEAR(item);
            continue;
        }
        int active = row[STATUS_AT] == STATUS_ACTIVE || row[STATUS_AT] == STATUS_DISPUTED;
        active_rows += active;
        /* exact row: (u16 size ‖ signal type ‖ value, ordinal key); rids row: (record id, ordinal key) */
        exact_sum += row_digest(item_at, 2 + nkind, value, nvalue, key, 8);
        uint8_t rid[32];
        memcpy(message + tag.len, row, ID_MATERIAL);
        sha256_short(message, (size_t)tag.len + ID_MATERIAL, rid);
        rids_sum += row_digest(rid, 32, NULL, 0, key, 8);
        int is_pdq = nkind == 3 && memcmp(kind, "pdq", 3) == 0;
        PyObject *listed = PyDict_GetItemWithError(pdq, PyTuple_GET_ITEM(item, 0));
        if (listed == NULL && PyErr_Occurred()) goto done;
        Py_XINCREF(listed);
        if (listed != NULL && PyDict_DelItem(pdq, PyTuple_GET_ITEM(item, 0)) < 0) {
            Py_DECREF(listed);
            goto done;
        }
        int same = listed != NULL && PyBytes_Check(listed) && (size_t)PyBytes_GET_SIZE(listed) == nvalue &&
                   memcmp(PyBytes_AS_STRING(listed), value, nvalue) == 0;
        PyObject *line = NULL;
        if (is_pdq && active && !same) {
            line = PyUnicode_FromFormat(
                "records ordinal %llu: active PDQ record missing from the pdq table (the index is built from it)",
                ordinal);
        } else if (listed != NULL && !(is_pdq && active)) {
            line = PyUnicode_FromFormat("records ordinal %llu: in the pdq table but not an active PDQ record",
                                        ordinal);
        }
        Py_XDECREF(listed);
        if (line != NULL && !append_steal(problems, line)) goto done;
        if (line == NULL && PyErr_Occurred()) goto done;
        if (active && !count_group(&counted, kind, nkind, row + ROW_FIXED, u16_at(row + AUTHOR_SIZE_AT), start,
                                   (size_t)(stop - start))) {
            goto done;
        }
        Py_CLEAR(item);
    }
    if (PyErr_Occurred() || !groups_flush(&counted)) goto done;
    result = Py_BuildValue("(KKKKKOOO)", records, active_rows, expected, (unsigned long long)exact_sum,
                           (unsigned long long)rids_sum, groups, others, problems);
done:
    PyBuffer_Release(&tag);
    Py_XDECREF(counted.last);
    Py_XDECREF(item);
    Py_XDECREF(iterator);
    Py_XDECREF(groups);
    Py_XDECREF(others);
    Py_XDECREF(problems);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS, scan_doc},
    {"lookups", lookups, METH_VARARGS, lookups_doc},
    {"table_digest", table_digest, METH_O, table_digest_doc},
    {"digest", digest, METH_VARARGS, digest_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_rowscan", "Reading matched record rows in C (see node/storage/store.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__rowscan(void) { return PyModule_Create(&module); }
