// invariantd: keeps business invariants of production databases true. The libraries do
// the work; main only hands the command line to them.
#include "daemon/core/cli.hpp"

int main(int argc, char** argv) { return invariantd::run_command_line(argc, argv); }
