/*
 * The machine's floor for a UDP server: every datagram sent straight back, nothing else (no IPMI).
 * What this costs per datagram is what any server pays here for the wake-up, the two system calls
 * and the loopback delivery before it does any work of its own.
 *
 *   cc -O2 -o echo echo.c && ./echo 127.0.0.1 PORT     (prints "ready" once bound)
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/socket.h>

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: %s ADDRESS PORT\n", argv[0]);
    return 2;
  }
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)atoi(argv[2]))};
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  if (fd < 0 || inet_pton(AF_INET, argv[1], &a.sin_addr) != 1 || bind(fd, (struct sockaddr *)&a, sizeof a) < 0) {
    perror("echo: bind");
    return 1;
  }
  int ep = epoll_create1(0);
  struct epoll_event ev = {.events = EPOLLIN};
  epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
  printf("ready\n");
  fflush(stdout);
  char buf[2048];
  for (;;) {
    if (epoll_wait(ep, &ev, 1, -1) < 0) continue;
    for (;;) {
      struct sockaddr_in from;
      socklen_t len = sizeof from;
      ssize_t n = recvfrom(fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &len);
      if (n < 0) break;
      sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
    }
  }
}
