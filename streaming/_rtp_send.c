/*
 * The relay's per-subscriber send step in C: RTP header over shared payloads, SRTP protect,
 * one sendmmsg(2) for the whole unit.
 *
 * streaming/rtp_fanout.py (RtpWriter.send_unit) does the same in Python and stays the path
 * when this module is not built or a leg is not plain UDP. Here, per packet: the 12-byte
 * header (this subscriber's sequence number, marker on the unit's last packet) and the
 * header extension block are written in front of the payload, the clear packet is kept in
 * the writer's NACK history as (sequence, bytes, header length), the packet is protected by
 * libsrtp's srtp_protect (the copy pylibsrtp carries; its address and the session's srtp_t
 * are handed in by streaming/aiortc_private.py) and queued; the unit leaves in sendmmsg
 * calls on the ICE pair's socket. What the socket cannot take now (EAGAIN) is returned,
 * protected, for the caller to hand to the asyncio transport, which queues it; a datagram the
 * socket refuses for any other reason (ENOBUFS included) is dropped and counted, as asyncio's
 * transport drops it. Every payload is checked (type, size) before anything is protected, so
 * bad input changes nothing; the caller reserves the unit's sequence numbers before the call,
 * so a failure part way (libsrtp, memory) never lets a sequence number be protected twice.
 *
 * Only called with the GIL held; the buffers are static (one send at a time).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <errno.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#define BATCH 64
#define SLOT 1664          /* 1500 bytes of packet + libsrtp's largest trailer (144) + slack */
#define MAX_CLEAR 1356     /* as pylibsrtp: its 1500-byte buffer less the largest trailer */
#define SRTP_OK 0

typedef int (*srtp_protect_fn)(void *ctx, void *rtp_hdr, int *len_ptr);

static unsigned char slots[BATCH][SLOT] __attribute__((aligned(16)));
static struct mmsghdr messages[BATCH];
static struct iovec vectors[BATCH];

/* Send messages[0..count); return how many left the socket (the rest are still in slots). */
static int flush_batch(int fd, int count, int *hard_errors) {
    int done = 0;
    while (done < count) {
        int n = sendmmsg(fd, messages + done, (unsigned)(count - done), MSG_DONTWAIT);
        if (n > 0) {
            done += n;
            continue;
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        }
        /* Any other error concerns this datagram only (as asyncio's transport treats it):
           it is dropped and the rest go on. */
        (*hard_errors)++;
        done++;
    }
    return done;
}

/* Append slots[done..count) as bytes to `unsent` (a list, created on first use). */
static int keep_unsent(PyObject **unsent, int done, int count) {
    for (int i = done; i < count; i++) {
        if (*unsent == NULL && (*unsent = PyList_New(0)) == NULL) {
            return -1;
        }
        PyObject *data = PyBytes_FromStringAndSize((const char *)slots[i], (Py_ssize_t)vectors[i].iov_len);
        if (data == NULL) {
            return -1;
        }
        int rc = PyList_Append(*unsent, data);
        Py_DECREF(data);
        if (rc < 0) {
            return -1;
        }
    }
    return 0;
}

static PyObject *write_unit(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 9) {
        PyErr_SetString(PyExc_TypeError, "write_unit takes 9 arguments");
        return NULL;
    }
    PyObject *payloads = args[0], *header = args[1], *extension = args[2], *history = args[4];
    PyObject *address = args[8];
    if (!PyList_CheckExact(payloads) || !PyBytes_CheckExact(header) ||
        !PyBytes_CheckExact(extension) || !PyList_CheckExact(history) ||
        !PyBytes_CheckExact(address)) {
        PyErr_SetString(PyExc_TypeError, "write_unit: list, bytes, bytes, int, list, int, int, int, bytes");
        return NULL;
    }
    long sequence = PyLong_AsLong(args[3]);
    unsigned long long srtp = PyLong_AsUnsignedLongLong(args[5]);
    unsigned long long protect_address = PyLong_AsUnsignedLongLong(args[6]);
    long fd = PyLong_AsLong(args[7]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    Py_ssize_t header_size = PyBytes_GET_SIZE(header), extension_size = PyBytes_GET_SIZE(extension);
    Py_ssize_t history_size = PyList_GET_SIZE(history), address_size = PyBytes_GET_SIZE(address);
    if (header_size != 12 || sequence < 0 || sequence > 0xFFFF || history_size == 0 || fd < 0 ||
        fd > 0x7FFFFFFF ||
        srtp == 0 || protect_address == 0 ||
        (address_size != sizeof(struct sockaddr_in) && address_size != sizeof(struct sockaddr_in6))) {
        PyErr_SetString(PyExc_ValueError, "write_unit: bad header, sequence, history, socket or address");
        return NULL;
    }
    srtp_protect_fn protect = (srtp_protect_fn)(uintptr_t)protect_address;
    const unsigned char *head = (const unsigned char *)PyBytes_AS_STRING(header);
    const unsigned char *ext = (const unsigned char *)PyBytes_AS_STRING(extension);
    Py_ssize_t header_length = 12 + extension_size;
    Py_ssize_t count = PyList_GET_SIZE(payloads);
    long long octets = 0;
    int queued = 0, hard_errors = 0;
    PyObject *unsent = NULL, *header_length_obj = NULL;

    for (Py_ssize_t i = 0; i < count; i++) { /* all checked first: bad input changes nothing */
        PyObject *payload = PyList_GET_ITEM(payloads, i);
        if (!PyBytes_CheckExact(payload)) {
            PyErr_SetString(PyExc_TypeError, "write_unit: payloads must be bytes");
            return NULL;
        }
        if (header_length + PyBytes_GET_SIZE(payload) > MAX_CLEAR) {
            PyErr_SetString(PyExc_ValueError, "packet is too long");
            return NULL;
        }
    }
    if ((header_length_obj = PyLong_FromSsize_t(header_length)) == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < count; i++) {
        PyObject *payload = PyList_GET_ITEM(payloads, i);
        Py_ssize_t payload_size = PyBytes_GET_SIZE(payload);
        Py_ssize_t size = header_length + payload_size;
        unsigned char *out = slots[queued];
        memcpy(out, head, 12);
        if (i == count - 1) {
            out[1] |= 0x80;
        }
        out[2] = (unsigned char)(sequence >> 8);
        out[3] = (unsigned char)sequence;
        memcpy(out + 12, ext, (size_t)extension_size);
        memcpy(out + header_length, PyBytes_AS_STRING(payload), (size_t)payload_size);

        PyObject *clear = PyBytes_FromStringAndSize((const char *)out, size);
        PyObject *number = clear ? PyLong_FromLong(sequence) : NULL;
        PyObject *entry = number ? PyTuple_Pack(3, number, clear, header_length_obj) : NULL;
        Py_XDECREF(clear);
        Py_XDECREF(number);
        if (entry == NULL) {
            goto fail;
        }
        if (PyList_SetItem(history, (Py_ssize_t)(sequence % history_size), entry) < 0) {
            goto fail; /* (steals entry either way) the history list changed size meanwhile */
        }

        int length = (int)size;
        int status = protect((void *)(uintptr_t)srtp, out, &length);
        if (status != SRTP_OK) {
            PyErr_Format(PyExc_RuntimeError, "srtp_protect failed with status %d", status);
            goto fail;
        }
        vectors[queued].iov_base = out;
        vectors[queued].iov_len = (size_t)length;
        messages[queued].msg_hdr.msg_name = (void *)PyBytes_AS_STRING(address);
        messages[queued].msg_hdr.msg_namelen = (socklen_t)address_size;
        messages[queued].msg_hdr.msg_iov = &vectors[queued];
        messages[queued].msg_hdr.msg_iovlen = 1;
        messages[queued].msg_hdr.msg_control = NULL;
        messages[queued].msg_hdr.msg_controllen = 0;
        messages[queued].msg_hdr.msg_flags = 0;
        queued++;
        octets += payload_size;
        sequence = (sequence + 1) & 0xFFFF;
        if (queued == BATCH) {
            int done = unsent ? 0 : flush_batch((int)fd, queued, &hard_errors);
            if (keep_unsent(&unsent, done, queued) < 0) {
                goto fail;
            }
            queued = 0;
        }
    }
    if (queued > 0) {
        int done = unsent ? 0 : flush_batch((int)fd, queued, &hard_errors);
        if (keep_unsent(&unsent, done, queued) < 0) {
            goto fail;
        }
    }
    Py_DECREF(header_length_obj);
    if (unsent == NULL) {
        Py_INCREF(Py_None);
        unsent = Py_None;
    }
    return Py_BuildValue("(LiN)", octets, hard_errors, unsent);

fail:
    /* libsrtp or memory failed part way: what was protected before still leaves (held-back
       datagrams are given up: the subscriber's NACK brings them back from the history). */
    if (queued > 0 && unsent == NULL) {
        PyObject *type, *value, *traceback;
        PyErr_Fetch(&type, &value, &traceback);
        flush_batch((int)fd, queued, &hard_errors);
        PyErr_Restore(type, value, traceback);
    }
    Py_XDECREF(unsent);
    Py_DECREF(header_length_obj);
    return NULL;
}

static PyObject *socket_address(PyObject *self, PyObject *args) {
    (void)self;
    const char *host;
    int port;
    if (!PyArg_ParseTuple(args, "si", &host, &port)) {
        return NULL;
    }
    if (port < 0 || port > 0xFFFF) {
        PyErr_SetString(PyExc_ValueError, "port out of range");
        return NULL;
    }
    struct sockaddr_in v4;
    memset(&v4, 0, sizeof v4);
    if (inet_pton(AF_INET, host, &v4.sin_addr) == 1) {
        v4.sin_family = AF_INET;
        v4.sin_port = htons((uint16_t)port);
        return PyBytes_FromStringAndSize((const char *)&v4, sizeof v4);
    }
    struct sockaddr_in6 v6;
    memset(&v6, 0, sizeof v6);
    if (inet_pton(AF_INET6, host, &v6.sin6_addr) == 1) {
        v6.sin6_family = AF_INET6;
        v6.sin6_port = htons((uint16_t)port);
        return PyBytes_FromStringAndSize((const char *)&v6, sizeof v6);
    }
    Py_RETURN_NONE; /* a scoped or named address: the caller keeps the Python path */
}

static PyMethodDef methods[] = {
    {"write_unit", (PyCFunction)(void (*)(void))write_unit, METH_FASTCALL,
     "write_unit(payloads, header, extension, sequence, history, srtp, protect, fd, address)"
     " -> (octets, errors, unsent)"},
    {"socket_address", socket_address, METH_VARARGS,
     "socket_address(host, port) -> packed sockaddr bytes, or None"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_rtp_send", "The relay's send step in C (see rtp_fanout.py).", -1,
    methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__rtp_send(void) { return PyModule_Create(&module); }
