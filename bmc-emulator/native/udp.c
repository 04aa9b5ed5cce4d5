/*
 * The virtual BMCs' UDP sockets, as a Node-API addon.
 *
 * node:dgram costs a BMC more than its whole IPMI work: per datagram it allocates a 64 KiB receive
 * buffer, formats the sender's address into a new object, calls into JavaScript once, then builds a
 * send request and parses the address back for the reply, and it reads the socket once more only to
 * learn that it is empty. Here one readiness callback takes up to BATCH datagrams with one
 * recvmmsg(2) into a buffer JavaScript reads, calls JavaScript once for all of them, and sends the
 * replies JavaScript wrote beside them with one sendmmsg(2): no call from JavaScript per datagram.
 *
 * JavaScript sees (bmc-emulator/src/ipmi/udp-native.ts):
 *   open(family 4|6, address, port, onBatch(count)) -> handle
 *   localPort(handle), sendTo(handle, buffer, address, port), peerAddress(handle, slot),
 *   close(handle), and the ArrayBuffers `inbox`, `outbox` and `meta`.
 * Datagram i of a batch is inbox[i*SLOT, i*SLOT+length); meta (uint32) i*META: length (TOO_LONG when
 * it did not fit a slot), sender port, family, the sender's address as four words, and the length
 * of the reply JavaScript wrote to outbox[i*SLOT] (0: none).
 *
 * One batch is handled at a time per JavaScript thread, so the batch buffers are the thread's, not
 * each socket's: a thousand BMCs in one process cost a thousand file descriptors and poll handles,
 * not a thousand sets of buffers.
 */
#define _GNU_SOURCE
#define NAPI_VERSION 8
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <node_api.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#define BATCH 32
#define SLOT 1024 /* the largest datagram a BMC takes; the largest RMCP+ request is a few hundred bytes */
#define META 8
#define REPLY 7 /* meta word: the reply's length */
#define TOO_LONG 0xffffffffu
/* A socket that never runs dry must not hold the event loop: at most this many batches per wake-up. */
#define ROUNDS 4

/* The batch buffers of one JavaScript thread (Node-API instance data). */
typedef struct {
  uint8_t *inbox;  /* JavaScript's `inbox` */
  uint8_t *outbox; /* JavaScript's `outbox` */
  uint32_t *meta;  /* JavaScript's `meta` */
  napi_ref inbox_ref;
  napi_ref outbox_ref;
  napi_ref meta_ref;
  struct mmsghdr in[BATCH];
  struct iovec in_iov[BATCH];
  struct sockaddr_storage from[BATCH];
  struct mmsghdr out[BATCH];
  struct iovec out_iov[BATCH];
  int queued;
} batch_t;

typedef struct {
  uv_poll_t poll; /* first: the poll handle's address is the endpoint's */
  int fd;
  int family;
  int closing;
  int received; /* datagrams of the batch JavaScript is handling, 0 outside onBatch */
  napi_env env;
  batch_t *batch;
  napi_ref on_batch;
  napi_async_context async;
} endpoint;

#define CHECK(call)                                                                                   \
  do {                                                                                                \
    if ((call) != napi_ok) return NULL;                                                               \
  } while (0)

static napi_value throw_errno(napi_env env, const char *syscall, int err) {
  char msg[128];
  napi_value code, message, error;
  snprintf(msg, sizeof msg, "%s %s", syscall, strerror(err));
  const char *name = err == EADDRINUSE      ? "EADDRINUSE"
                     : err == EADDRNOTAVAIL ? "EADDRNOTAVAIL"
                     : err == EACCES        ? "EACCES"
                     : err == EAFNOSUPPORT  ? "EAFNOSUPPORT"
                                            : "EIO";
  napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_set_named_property(env, error, "code", code);
  napi_throw(env, error);
  return NULL;
}

static napi_value throw_type(napi_env env, const char *what) {
  napi_throw_type_error(env, NULL, what);
  return NULL;
}

static endpoint *unwrap(napi_env env, napi_value v) {
  endpoint *ep = NULL;
  if (napi_get_value_external(env, v, (void **)&ep) != napi_ok || ep == NULL || ep->closing) {
    napi_throw_error(env, NULL, "the socket is closed");
    return NULL;
  }
  return ep;
}

/* The arguments of a call on a socket, the socket first; NULL (an exception pending) if it is closed. */
static endpoint *socket_call(napi_env env, napi_callback_info info, size_t want, napi_value *argv) {
  size_t argc = want;
  for (size_t i = 0; i < want; i++) napi_get_undefined(env, &argv[i]);
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) return NULL;
  return unwrap(env, argv[0]);
}

/* Parses a literal address and port into `sa`; 0 when it is no literal of the socket's family. */
static socklen_t sockaddr_of(int family, const char *address, uint32_t port, struct sockaddr_storage *sa) {
  memset(sa, 0, sizeof *sa);
  if (family == AF_INET) {
    struct sockaddr_in *a = (struct sockaddr_in *)sa;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    return inet_pton(AF_INET, address, &a->sin_addr) == 1 ? sizeof *a : 0;
  }
  struct sockaddr_in6 *a = (struct sockaddr_in6 *)sa;
  a->sin6_family = AF_INET6;
  a->sin6_port = htons((uint16_t)port);
  return inet_pton(AF_INET6, address, &a->sin6_addr) == 1 ? sizeof *a : 0;
}

static void flush(endpoint *ep) {
  batch_t *b = ep->batch;
  int sent = 0;
  while (sent < b->queued) {
    int n = sendmmsg(ep->fd, b->out + sent, b->queued - sent, MSG_DONTWAIT);
    if (n > 0) {
      sent += n;
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      /* A full send buffer or an unreachable peer: UDP loses the reply, as a busy BMC would. */
      sent++;
    }
  }
  b->queued = 0;
}

static void on_readable(uv_poll_t *handle, int status, int events) {
  endpoint *ep = (endpoint *)handle;
  (void)events;
  if (status < 0 || ep->closing) return;
  napi_env env = ep->env;
  batch_t *b = ep->batch;
  for (int round = 0; round < ROUNDS && !ep->closing; round++) {
    for (int i = 0; i < BATCH; i++) b->in[i].msg_hdr.msg_namelen = sizeof b->from[i];
    int n = recvmmsg(ep->fd, b->in, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) return;
    for (int i = 0; i < n; i++) {
      uint32_t *m = b->meta + i * META;
      const struct msghdr *h = &b->in[i].msg_hdr;
      m[0] = (h->msg_flags & MSG_TRUNC) ? TOO_LONG : b->in[i].msg_len;
      m[REPLY] = 0;
      if (b->from[i].ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&b->from[i];
        m[1] = ntohs(a->sin_port);
        m[2] = 4;
        m[3] = ntohl(a->sin_addr.s_addr);
        m[4] = m[5] = m[6] = 0;
      } else {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&b->from[i];
        uint32_t w[4];
        memcpy(w, &a->sin6_addr, sizeof w);
        m[1] = ntohs(a->sin6_port);
        m[2] = 6;
        for (int k = 0; k < 4; k++) m[3 + k] = ntohl(w[k]);
      }
    }
    ep->received = n;
    napi_handle_scope scope;
    napi_value cb, recv, argv[1], result;
    napi_open_handle_scope(env, &scope);
    napi_get_reference_value(env, ep->on_batch, &cb);
    napi_get_global(env, &recv); /* make_callback wants an object for `this` */
    napi_create_uint32(env, (uint32_t)n, &argv[0]);
    /* make_callback, not call_function: promise reactions and ticks run when the batch is done. */
    napi_status st = napi_make_callback(env, ep->async, recv, cb, 1, argv, &result);
    if (st == napi_pending_exception) {
      napi_value err;
      napi_get_and_clear_last_exception(env, &err);
      napi_fatal_exception(env, err);
    }
    napi_close_handle_scope(env, scope);
    ep->received = 0;
    if (ep->closing) return;
    for (int i = 0; i < n; i++) {
      uint32_t len = b->meta[i * META + REPLY];
      if (len == 0 || len > SLOT) continue;
      int q = b->queued++;
      b->out_iov[q].iov_base = b->outbox + i * SLOT;
      b->out_iov[q].iov_len = len;
      b->out[q].msg_hdr.msg_name = &b->from[i];
      b->out[q].msg_hdr.msg_namelen = b->in[i].msg_hdr.msg_namelen;
    }
    if (b->queued > 0) flush(ep);
    if (n < BATCH) return; /* the socket is empty: no read just to hear EAGAIN */
  }
}

static void on_closed(uv_handle_t *handle) { free(handle); }

static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 4) return throw_type(env, "open(family, address, port, onBatch)");
  uint32_t fam, port;
  char address[INET6_ADDRSTRLEN + 1];
  size_t len;
  napi_valuetype t;
  batch_t *b;
  CHECK(napi_get_instance_data(env, (void **)&b));
  if (napi_get_value_uint32(env, argv[0], &fam) != napi_ok || (fam != 4 && fam != 6))
    return throw_type(env, "family: 4 or 6");
  if (napi_get_value_string_utf8(env, argv[1], address, sizeof address, &len) != napi_ok)
    return throw_type(env, "address: an IP literal");
  if (napi_get_value_uint32(env, argv[2], &port) != napi_ok || port > 65535)
    return throw_type(env, "port: 0-65535");
  if (napi_typeof(env, argv[3], &t) != napi_ok || t != napi_function) return throw_type(env, "onBatch: a function");

  int family = fam == 4 ? AF_INET : AF_INET6;
  struct sockaddr_storage sa;
  socklen_t salen = sockaddr_of(family, address, port, &sa);
  if (salen == 0) return throw_type(env, "address: an IP literal of the family");
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, "socket", errno);
  if (bind(fd, (struct sockaddr *)&sa, salen) < 0) {
    int err = errno;
    close(fd);
    return throw_errno(env, "bind", err);
  }

  endpoint *ep = calloc(1, sizeof *ep);
  if (ep == NULL) {
    close(fd);
    return throw_errno(env, "calloc", ENOMEM);
  }
  ep->fd = fd;
  ep->family = family;
  ep->env = env;
  ep->batch = b;
  napi_value resource_name, external;
  uv_loop_t *loop;
  if (napi_create_reference(env, argv[3], 1, &ep->on_batch) != napi_ok ||
      napi_create_string_utf8(env, "BMCUDP", NAPI_AUTO_LENGTH, &resource_name) != napi_ok ||
      napi_async_init(env, NULL, resource_name, &ep->async) != napi_ok ||
      napi_get_uv_event_loop(env, &loop) != napi_ok || uv_poll_init(loop, &ep->poll, fd) != 0) {
    close(fd);
    free(ep);
    return throw_errno(env, "open", EIO);
  }
  if (uv_poll_start(&ep->poll, UV_READABLE, on_readable) != 0) {
    close(fd);
    uv_close((uv_handle_t *)&ep->poll, on_closed);
    return throw_errno(env, "poll", EIO);
  }
  CHECK(napi_create_external(env, ep, NULL, NULL, &external));
  return external;
}

static napi_value js_local_port(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  endpoint *ep = socket_call(env, info, 1, argv);
  if (ep == NULL) return NULL;
  struct sockaddr_storage sa;
  socklen_t len = sizeof sa;
  if (getsockname(ep->fd, (struct sockaddr *)&sa, &len) < 0) return throw_errno(env, "getsockname", errno);
  uint16_t port = sa.ss_family == AF_INET ? ((struct sockaddr_in *)&sa)->sin_port
                                          : ((struct sockaddr_in6 *)&sa)->sin6_port;
  CHECK(napi_create_uint32(env, ntohs(port), &out));
  return out;
}

/* sendTo(handle, buffer, address, port): sent at once (unprompted output, delayed replies). */
static napi_value js_send_to(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  endpoint *ep = socket_call(env, info, 4, argv);
  if (ep == NULL) return NULL;
  void *data;
  size_t len, alen;
  char address[INET6_ADDRSTRLEN + 1];
  uint32_t port;
  if (napi_get_buffer_info(env, argv[1], &data, &len) != napi_ok) return throw_type(env, "a Buffer");
  if (napi_get_value_string_utf8(env, argv[2], address, sizeof address, &alen) != napi_ok)
    return throw_type(env, "address: an IP literal");
  if (napi_get_value_uint32(env, argv[3], &port) != napi_ok || port > 65535) return throw_type(env, "port");
  struct sockaddr_storage sa;
  socklen_t salen = sockaddr_of(ep->family, address, port, &sa);
  if (salen == 0) return throw_type(env, "address: an IP literal of the socket's family");
  /* Lost when the send buffer is full, as a datagram is. */
  while (sendto(ep->fd, data, len, MSG_DONTWAIT, (struct sockaddr *)&sa, salen) < 0 && errno == EINTR) {
  }
  return NULL;
}

/* peerAddress(handle, slot): the sender of datagram `slot` as text, as node:dgram reports it. */
static napi_value js_peer_address(napi_env env, napi_callback_info info) {
  napi_value argv[2], out;
  endpoint *ep = socket_call(env, info, 2, argv);
  if (ep == NULL) return NULL;
  uint32_t slot;
  if (napi_get_value_uint32(env, argv[1], &slot) != napi_ok || (int)slot >= ep->received)
    return throw_type(env, "slot: a datagram of the running batch");
  char text[INET6_ADDRSTRLEN];
  const struct sockaddr_storage *sa = &ep->batch->from[slot];
  const void *addr = sa->ss_family == AF_INET ? (const void *)&((const struct sockaddr_in *)sa)->sin_addr
                                              : (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
  if (inet_ntop(sa->ss_family, addr, text, sizeof text) == NULL) return throw_errno(env, "inet_ntop", errno);
  CHECK(napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &out));
  return out;
}

static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  endpoint *ep = NULL;
  if (napi_get_value_external(env, argv[0], (void **)&ep) != napi_ok || ep == NULL || ep->closing) return NULL;
  ep->closing = 1;
  /* Stopped polls leave epoll at once, so the port is free when close() returns: a lab restarting a
   * BMC binds it again straight away. */
  uv_poll_stop(&ep->poll);
  close(ep->fd);
  napi_delete_reference(env, ep->on_batch);
  napi_async_destroy(env, ep->async);
  uv_close((uv_handle_t *)&ep->poll, on_closed);
  return NULL;
}

static void free_batch(napi_env env, void *data, void *hint) {
  batch_t *b = data;
  (void)hint;
  napi_delete_reference(env, b->inbox_ref);
  napi_delete_reference(env, b->outbox_ref);
  napi_delete_reference(env, b->meta_ref);
  free(b);
}

static napi_value init(napi_env env, napi_value exports) {
  batch_t *b = calloc(1, sizeof *b);
  napi_value inbox, outbox, meta;
  if (b == NULL) return NULL;
  if (napi_create_arraybuffer(env, BATCH * SLOT, (void **)&b->inbox, &inbox) != napi_ok ||
      napi_create_arraybuffer(env, BATCH * SLOT, (void **)&b->outbox, &outbox) != napi_ok ||
      napi_create_arraybuffer(env, BATCH * META * sizeof(uint32_t), (void **)&b->meta, &meta) != napi_ok ||
      napi_create_reference(env, inbox, 1, &b->inbox_ref) != napi_ok ||
      napi_create_reference(env, outbox, 1, &b->outbox_ref) != napi_ok ||
      napi_create_reference(env, meta, 1, &b->meta_ref) != napi_ok ||
      napi_set_instance_data(env, b, free_batch, NULL) != napi_ok) {
    free(b);
    return NULL;
  }
  for (int i = 0; i < BATCH; i++) {
    b->in_iov[i].iov_base = b->inbox + i * SLOT;
    b->in_iov[i].iov_len = SLOT;
    b->in[i].msg_hdr.msg_iov = &b->in_iov[i];
    b->in[i].msg_hdr.msg_iovlen = 1;
    b->in[i].msg_hdr.msg_name = &b->from[i];
    b->out[i].msg_hdr.msg_iov = &b->out_iov[i];
    b->out[i].msg_hdr.msg_iovlen = 1;
  }
  napi_property_descriptor fns[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"localPort", NULL, js_local_port, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sendTo", NULL, js_send_to, NULL, NULL, NULL, napi_enumerable, NULL},
      {"peerAddress", NULL, js_peer_address, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_value batch, slot, meta_words, reply_word, too_long;
  napi_create_uint32(env, BATCH, &batch);
  napi_create_uint32(env, SLOT, &slot);
  napi_create_uint32(env, META, &meta_words);
  napi_create_uint32(env, REPLY, &reply_word);
  napi_create_uint32(env, TOO_LONG, &too_long);
  napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns);
  napi_set_named_property(env, exports, "BATCH", batch);
  napi_set_named_property(env, exports, "SLOT", slot);
  napi_set_named_property(env, exports, "META", meta_words);
  napi_set_named_property(env, exports, "REPLY", reply_word);
  napi_set_named_property(env, exports, "TOO_LONG", too_long);
  napi_set_named_property(env, exports, "inbox", inbox);
  napi_set_named_property(env, exports, "outbox", outbox);
  napi_set_named_property(env, exports, "meta", meta);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
