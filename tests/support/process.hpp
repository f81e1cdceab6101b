#pragma once
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace invariantd::test {

struct command_result {
    int exit_code = -1;
    std::string out;
    std::string err;
};

/// Runs a program to completion (argv[0] looked up in PATH), feeding `input` on stdin.
/// `env` entries are added to the environment of the child.
command_result run_command(const std::vector<std::string>& argv, const std::string& input = {},
                           const std::map<std::string, std::string>& env = {});

/// Path of the invariantd binary under test.
std::string daemon_binary();
/// Path inside the source tree.
std::string source_path(const std::string& relative);

/// The real daemon binary as a child process with stdout+stderr captured to a log file.
/// The constructor waits until it logs "listening on HOST:PORT" and records the port.
class daemon_process {
public:
    daemon_process(const std::string& config_path, const std::string& log_path,
                   const std::map<std::string, std::string>& env = {});
    ~daemon_process();
    daemon_process(const daemon_process&) = delete;
    daemon_process& operator=(const daemon_process&) = delete;

    std::uint16_t port() const { return port_; }
    int pid() const { return pid_; }
    void signal(int signal_number) const;
    /// Waits for the process to exit; its exit code, or nullopt on timeout.
    std::optional<int> wait_exit(std::chrono::milliseconds timeout);
    /// The log so far.
    std::string log() const;

private:
    int pid_ = -1;
    std::string log_path_;
    std::uint16_t port_ = 0;
    bool exited_ = false;
};

/// Any other program (Prometheus, say) running beside the test, output captured to a log
/// file; SIGTERM (then SIGKILL after 10 s) when the object goes away.
class background_process {
public:
    background_process(const std::vector<std::string>& argv, const std::string& log_path,
                       const std::map<std::string, std::string>& env = {});
    ~background_process();
    background_process(const background_process&) = delete;
    background_process& operator=(const background_process&) = delete;

    /// False once the process has exited (it is reaped then).
    bool running() const;
    std::string log() const;

private:
    int pid_ = -1;
    std::string log_path_;
    mutable bool exited_ = false;  ///< reaped by running(): never signal a recycled pid
};

/// Waits (up to a minute) until `process` answers 200 on GET `path` at `port`; throws with its
/// log when it exits first or never answers. For the real servers tests start (Prometheus,
/// Alertmanager).
void wait_until_ready(const background_process& process, std::uint16_t port, const std::string& path,
                      const std::string& name);

/// The value of a sample in Prometheus text output, e.g.
/// metric_value(text, "invariantd_check_value{check=\"x\"") — the series prefix up to
/// the labels you care about. nullopt when absent.
std::optional<double> metric_value(const std::string& metrics_text, const std::string& series_prefix);

}  // namespace invariantd::test
