/* The pod sandbox's process: holds the pod's namespaces and does nothing
 * until SIGTERM/SIGINT. Reaps zombies in case it is PID 1 of a shared PID
 * namespace. Built static so the image is this one file. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static void quit(int sig) { (void)sig; _exit(0); }
static void reap(int sig) {
  (void)sig;
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

int main(void) {
  signal(SIGINT, quit);
  signal(SIGTERM, quit);
  signal(SIGCHLD, reap);
  for (;;) pause();
  return 0;
}
