// invariantd: keeps business invariants of production databases true (README.md).
#include <malloc.h>
#include <sqlite3.h>

#include "daemon/core/cli.hpp"

int main(int argc, char** argv) {
    // glibc gives every thread that allocates its own arena (up to 8 per core), each holding
    // pages it touched; the daemon allocates mostly on the loop thread, and the worker
    // threads' short jobs do not need arenas of their own. Two arenas cost ~0.8 MB less
    // resident memory at start (README "Memory") with no contention worth measuring.
    mallopt(M_ARENA_MAX, 2);
    // SQLite gives every connection an up-front slab of 20 page-cache lines (~87 KB, all
    // touched as it threads its free list) before the first page is read; the daemon holds
    // one connection per monitored file and per state file, most reading a few pages. Lines
    // are allocated as pages are read instead. Must precede SQLite's initialisation.
    sqlite3_config(SQLITE_CONFIG_PAGECACHE, nullptr, 0, 0);
    return invariantd::run_command_line(argc, argv);
}
