#pragma once

namespace invariantd {

/// Exit codes of the command line (sysexits.h where one fits).
inline constexpr int exit_ok = 0;
inline constexpr int exit_violation = 1;    ///< once: an alert condition holds
inline constexpr int exit_check_error = 2;  ///< once: a check could not run
inline constexpr int exit_usage = 64;       ///< EX_USAGE: bad command line
inline constexpr int exit_software = 70;    ///< EX_SOFTWARE: could not start (e.g. address in use)
inline constexpr int exit_config = 78;      ///< EX_CONFIG: the configuration is invalid

/// The whole command line of README.md "Command line"; returns the process exit code.
int run_command_line(int argc, char** argv);

}  // namespace invariantd
