// invariantd: keeps business invariants of production databases true (README.md).
#include <malloc.h>

#include "daemon/core/cli.hpp"

int main(int argc, char** argv) {
    // glibc gives every thread that allocates its own arena (up to 8 per core), each holding
    // pages it touched; the daemon allocates mostly on the loop thread, and the worker
    // threads' short jobs do not need arenas of their own. Two arenas cost ~0.8 MB less
    // resident memory at start (README "Memory") with no contention worth measuring.
    mallopt(M_ARENA_MAX, 2);
    return invariantd::run_command_line(argc, argv);
}
