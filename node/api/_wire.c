/* `node/api/match_wire.py`'s encoding of a MatchResponse, in C: the same bytes without a Python step per hit.
 *
 * match_wire.py documents the message and holds the Python version this one must agree with byte for byte
 * (tests/test_match_wire.py runs both). Per record the part of a `Match` that does not depend on the hit is
 * written once: provenance_ref (3) = the record id in lower-case hex, policy (4, given encoded), labels (5,
 * from the labels section as the store keeps it: u16 count, each u16 length + UTF-8, big-endian), author (6),
 * record (1, given encoded, optional). Each hit is then a `matches` field (2) of its QueryResult: distance (2)
 * when not 0, then its record's part. A QueryResult is query_index (1) when not 0, its matches, query_id (3)
 * when not empty; the response is one `results` field (1) per query.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <string.h>

#define RESULT_TAG 0x0a
#define QUERY_INDEX_TAG 0x08
#define MATCH_TAG 0x12
#define QUERY_ID_TAG 0x1a
#define DISTANCE_TAG 0x10
#define PROVENANCE_REF_TAG 0x1a
#define LABELS_TAG 0x2a
#define AUTHOR_TAG 0x32
#define RECORD_ID_SIZE 32

static size_t varint_size(uint64_t value) {
    size_t size = 1;
    while (value >= 0x80) {
        value >>= 7;
        size++;
    }
    return size;
}

static uint8_t *put_varint(uint8_t *out, uint64_t value) {
    while (value >= 0x80) {
        *out++ = (uint8_t)(value | 0x80);
        value >>= 7;
    }
    *out++ = (uint8_t)value;
    return out;
}

/* A sequence's items as a C array of Python objects (borrowed), checked to be `count` long. */
static PyObject *fast(PyObject *sequence, Py_ssize_t count, const char *name) {
    PyObject *items = PySequence_Fast(sequence, name);
    if (items != NULL && count >= 0 && PySequence_Fast_GET_SIZE(items) != count) {
        PyErr_Format(PyExc_ValueError, "%s: got %zd items, want %zd", name, PySequence_Fast_GET_SIZE(items), count);
        Py_DECREF(items);
        return NULL;
    }
    return items;
}

static int bytes_of(PyObject *item, const char *name, Py_ssize_t i, const uint8_t **data, Py_ssize_t *size) {
    if (!PyBytes_Check(item)) {
        PyErr_Format(PyExc_TypeError, "%s[%zd]: want bytes", name, i);
        return 0;
    }
    *data = (const uint8_t *)PyBytes_AS_STRING(item);
    *size = PyBytes_GET_SIZE(item);
    return 1;
}

/* The encoded labels field of a labels section, written to `out` (NULL: only measured); -1 if malformed. */
static Py_ssize_t labels_field(const uint8_t *section, Py_ssize_t size, uint8_t *out) {
    if (size < 2) return -1;
    size_t count = (size_t)section[0] << 8 | section[1];
    const uint8_t *p = section + 2, *end = section + size;
    Py_ssize_t written = 0;
    for (size_t i = 0; i < count; i++) {
        if (end - p < 2) return -1;
        size_t length = (size_t)p[0] << 8 | p[1];
        if ((size_t)(end - p) < 2 + length) return -1;
        written += 1 + (Py_ssize_t)varint_size(length) + (Py_ssize_t)length;
        if (out != NULL) {
            *out++ = LABELS_TAG;
            out = put_varint(out, length);
            memcpy(out, p + 2, length);
            out += length;
        }
        p += 2 + length;
    }
    return p == end ? written : -1;
}

typedef struct {
    PyObject *ids, *sections, *authors, *policies, *infos; /* fast sequences, one item per record */
    PyObject *offsets, *slots, *distances, *query_ids;
} Columns;

static void release(Columns *c) {
    Py_XDECREF(c->ids);
    Py_XDECREF(c->sections);
    Py_XDECREF(c->authors);
    Py_XDECREF(c->policies);
    Py_XDECREF(c->infos);
    Py_XDECREF(c->offsets);
    Py_XDECREF(c->slots);
    Py_XDECREF(c->distances);
    Py_XDECREF(c->query_ids);
}

static const char HEX[] = "0123456789abcdef";

/* Writes each record's part into one buffer; `starts[r]`..`starts[r + 1]` is record r's. */
static uint8_t *record_parts(Columns *c, Py_ssize_t records, Py_ssize_t *starts) {
    PyObject **ids = PySequence_Fast_ITEMS(c->ids), **sections = PySequence_Fast_ITEMS(c->sections);
    PyObject **authors = PySequence_Fast_ITEMS(c->authors), **policies = PySequence_Fast_ITEMS(c->policies);
    PyObject **infos = c->infos ? PySequence_Fast_ITEMS(c->infos) : NULL;
    Py_ssize_t total = 0;
    for (Py_ssize_t r = 0; r < records; r++) {
        const uint8_t *data;
        Py_ssize_t size, labels;
        starts[r] = total;
        if (!bytes_of(ids[r], "record_ids", r, &data, &size)) return NULL;
        if (size != RECORD_ID_SIZE) {
            PyErr_Format(PyExc_ValueError, "record_ids[%zd]: %zd bytes, want 32", r, size);
            return NULL;
        }
        total += 2 + 2 * RECORD_ID_SIZE;
        if (!bytes_of(policies[r], "policies", r, &data, &size)) return NULL;
        total += size;
        if (!bytes_of(sections[r], "label_sections", r, &data, &size)) return NULL;
        if ((labels = labels_field(data, size, NULL)) < 0) {
            PyErr_Format(PyExc_ValueError, "label_sections[%zd]: malformed", r);
            return NULL;
        }
        total += labels;
        if (!bytes_of(authors[r], "authors", r, &data, &size)) return NULL;
        total += size ? 1 + (Py_ssize_t)varint_size((uint64_t)size) + size : 0;
        if (infos != NULL) {
            if (!bytes_of(infos[r], "infos", r, &data, &size)) return NULL;
            total += size;
        }
    }
    starts[records] = total;
    uint8_t *parts = PyMem_Malloc(total ? (size_t)total : 1), *out = parts;
    if (parts == NULL) {
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t r = 0; r < records; r++) {
        const uint8_t *data;
        Py_ssize_t size;
        data = (const uint8_t *)PyBytes_AS_STRING(ids[r]);
        *out++ = PROVENANCE_REF_TAG;
        *out++ = 2 * RECORD_ID_SIZE;
        for (int i = 0; i < RECORD_ID_SIZE; i++) {
            *out++ = (uint8_t)HEX[data[i] >> 4];
            *out++ = (uint8_t)HEX[data[i] & 15];
        }
        size = PyBytes_GET_SIZE(policies[r]);
        memcpy(out, PyBytes_AS_STRING(policies[r]), (size_t)size);
        out += size;
        out += labels_field((const uint8_t *)PyBytes_AS_STRING(sections[r]), PyBytes_GET_SIZE(sections[r]), out);
        size = PyBytes_GET_SIZE(authors[r]);
        if (size) {
            *out++ = AUTHOR_TAG;
            out = put_varint(out, (uint64_t)size);
            memcpy(out, PyBytes_AS_STRING(authors[r]), (size_t)size);
            out += size;
        }
        if (infos != NULL) {
            size = PyBytes_GET_SIZE(infos[r]);
            memcpy(out, PyBytes_AS_STRING(infos[r]), (size_t)size);
            out += size;
        }
    }
    return parts;
}

static int int_at(PyObject **items, Py_ssize_t i, const char *name, Py_ssize_t low, Py_ssize_t high, Py_ssize_t *value) {
    Py_ssize_t v = PyLong_AsSsize_t(items[i]);
    if (v == -1 && PyErr_Occurred()) return 0;
    if (v < low || v >= high) {
        PyErr_Format(PyExc_ValueError, "%s[%zd]: %zd out of range", name, i, v);
        return 0;
    }
    *value = v;
    return 1;
}

PyDoc_STRVAR(encode_doc,
             "encode(record_ids, label_sections, authors, policies, infos, offsets, slots, distances, query_ids)"
             " -> bytes\n\nThe serialized MatchResponse (see node/api/match_wire.py). Per record: its id (32 "
             "bytes), labels section as stored, contributor (UTF-8), encoded policy field(s) and, unless `infos` "
             "is None, its encoded `record` field. Per query i, hits offsets[i]..offsets[i+1] of `slots` and "
             "`distances`, and its query id (str).");

static PyObject *encode(PyObject *self, PyObject *args) {
    PyObject *a_ids, *a_sections, *a_authors, *a_policies, *a_infos, *a_offsets, *a_slots, *a_distances, *a_qids;
    if (!PyArg_ParseTuple(args, "OOOOOOOOO", &a_ids, &a_sections, &a_authors, &a_policies, &a_infos, &a_offsets,
                          &a_slots, &a_distances, &a_qids)) {
        return NULL;
    }
    Columns c = {0};
    PyObject *result = NULL;
    Py_ssize_t *starts = NULL, *bodies = NULL;
    uint8_t *parts = NULL;
    if (!(c.ids = fast(a_ids, -1, "record_ids"))) goto done;
    Py_ssize_t records = PySequence_Fast_GET_SIZE(c.ids);
    if (!(c.sections = fast(a_sections, records, "label_sections")) ||
        !(c.authors = fast(a_authors, records, "authors")) || !(c.policies = fast(a_policies, records, "policies")) ||
        (a_infos != Py_None && !(c.infos = fast(a_infos, records, "infos"))) ||
        !(c.offsets = fast(a_offsets, -1, "offsets")) || !(c.slots = fast(a_slots, -1, "slots"))) {
        goto done;
    }
    Py_ssize_t hits = PySequence_Fast_GET_SIZE(c.slots), queries = PySequence_Fast_GET_SIZE(c.offsets) - 1;
    if (queries < 0) {
        PyErr_SetString(PyExc_ValueError, "offsets: want at least one item");
        goto done;
    }
    if (!(c.distances = fast(a_distances, hits, "distances")) || !(c.query_ids = fast(a_qids, queries, "query_ids"))) {
        goto done;
    }
    starts = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)(records + 1));
    bodies = PyMem_Malloc(sizeof(Py_ssize_t) * (size_t)(queries ? queries : 1));
    if (starts == NULL || bodies == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (!(parts = record_parts(&c, records, starts))) goto done;
    PyObject **offsets = PySequence_Fast_ITEMS(c.offsets), **slots = PySequence_Fast_ITEMS(c.slots);
    PyObject **distances = PySequence_Fast_ITEMS(c.distances), **qids = PySequence_Fast_ITEMS(c.query_ids);
    /* Pass 1: sizes (and checks). */
    Py_ssize_t total = 0, previous = 0;
    for (Py_ssize_t q = 0; q < queries; q++) {
        Py_ssize_t lo, hi, body = q ? 1 + (Py_ssize_t)varint_size((uint64_t)q) : 0, qid_size;
        if (!int_at(offsets, q, "offsets", previous, hits + 1, &lo) ||
            !int_at(offsets, q + 1, "offsets", lo, hits + 1, &hi)) {
            goto done;
        }
        previous = hi;
        for (Py_ssize_t h = lo; h < hi; h++) {
            Py_ssize_t slot, distance;
            if (!int_at(slots, h, "slots", 0, records, &slot) ||
                !int_at(distances, h, "distances", 0, PY_SSIZE_T_MAX, &distance)) {
                goto done;
            }
            Py_ssize_t match = starts[slot + 1] - starts[slot];
            if (distance) match += 1 + (Py_ssize_t)varint_size((uint64_t)distance);
            body += 1 + (Py_ssize_t)varint_size((uint64_t)match) + match;
        }
        if (!PyUnicode_Check(qids[q]) || PyUnicode_AsUTF8AndSize(qids[q], &qid_size) == NULL) {
            if (!PyErr_Occurred()) PyErr_Format(PyExc_TypeError, "query_ids[%zd]: want str", q);
            goto done;
        }
        if (qid_size) body += 1 + (Py_ssize_t)varint_size((uint64_t)qid_size) + qid_size;
        bodies[q] = body;
        total += 1 + (Py_ssize_t)varint_size((uint64_t)body) + body;
    }
    /* Pass 2: the bytes. */
    result = PyBytes_FromStringAndSize(NULL, total);
    if (result == NULL) goto done;
    uint8_t *out = (uint8_t *)PyBytes_AS_STRING(result);
    for (Py_ssize_t q = 0; q < queries; q++) {
        Py_ssize_t lo = PyLong_AsSsize_t(offsets[q]), hi = PyLong_AsSsize_t(offsets[q + 1]), qid_size;
        *out++ = RESULT_TAG;
        out = put_varint(out, (uint64_t)bodies[q]);
        if (q) {
            *out++ = QUERY_INDEX_TAG;
            out = put_varint(out, (uint64_t)q);
        }
        for (Py_ssize_t h = lo; h < hi; h++) {
            Py_ssize_t slot = PyLong_AsSsize_t(slots[h]), distance = PyLong_AsSsize_t(distances[h]);
            Py_ssize_t part = starts[slot + 1] - starts[slot];
            Py_ssize_t match = part + (distance ? 1 + (Py_ssize_t)varint_size((uint64_t)distance) : 0);
            *out++ = MATCH_TAG;
            out = put_varint(out, (uint64_t)match);
            if (distance) {
                *out++ = DISTANCE_TAG;
                out = put_varint(out, (uint64_t)distance);
            }
            memcpy(out, parts + starts[slot], (size_t)part);
            out += part;
        }
        const char *qid = PyUnicode_AsUTF8AndSize(qids[q], &qid_size);
        if (qid_size) {
            *out++ = QUERY_ID_TAG;
            out = put_varint(out, (uint64_t)qid_size);
            memcpy(out, qid, (size_t)qid_size);
            out += qid_size;
        }
    }
done:
    PyMem_Free(parts);
    PyMem_Free(starts);
    PyMem_Free(bodies);
    release(&c);
    return result;
}

static PyMethodDef methods[] = {
    {"encode", encode, METH_VARARGS, encode_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_wire", "MatchResponse encoding in C (see node/api/match_wire.py).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__wire(void) { return PyModule_Create(&module); }
