#include "tests/support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "tests/support/http_client.hpp"
#include "tests/support/temp_dir.hpp"

extern char** environ;

namespace invariantd::test {
namespace {

[[noreturn]] void exec_child(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
    for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
    std::vector<char*> args;
    for (const auto& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    std::fprintf(stderr, "exec %s failed: %s\n", args[0], std::strerror(errno));
    _exit(127);
}

/// Forks `argv` with stdout and stderr appended to `log_path`.
pid_t spawn_logged(const std::vector<std::string>& argv, const std::string& log_path,
                   const std::map<std::string, std::string>& env) {
    const pid_t pid = fork();
    if (pid == 0) {
        const int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
        exec_child(argv, env);
    }
    if (pid < 0) throw std::runtime_error("fork failed");
    return pid;
}

}  // namespace

std::string daemon_binary() { return INVARIANTD_BINARY; }
std::string source_path(const std::string& relative) { return std::string(INVARIANTD_SOURCE_DIR) + "/" + relative; }

command_result run_command(const std::vector<std::string>& argv, const std::string& input,
                           const std::map<std::string, std::string>& env) {
    int in_pipe[2], out_pipe[2], err_pipe[2];
    if (pipe(in_pipe) != 0 || pipe(out_pipe) != 0 || pipe(err_pipe) != 0) throw std::runtime_error("pipe failed");
    const pid_t pid = fork();
    if (pid == 0) {
        dup2(in_pipe[0], 0);
        dup2(out_pipe[1], 1);
        dup2(err_pipe[1], 2);
        for (int fd : {in_pipe[0], in_pipe[1], out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
        exec_child(argv, env);
    }
    close(in_pipe[0]);
    close(out_pipe[1]);
    close(err_pipe[1]);
    // Feed stdin from a thread so a child that writes a lot before reading cannot deadlock us.
    std::thread feeder([fd = in_pipe[1], &input]() {
        signal(SIGPIPE, SIG_IGN);
        std::size_t written = 0;
        while (written < input.size()) {
            const ssize_t n = write(fd, input.data() + written, input.size() - written);
            if (n <= 0) break;
            written += static_cast<std::size_t>(n);
        }
        close(fd);
    });
    command_result result;
    pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
    int open_count = 2;
    while (open_count > 0) {
        if (poll(fds, 2, -1) < 0) break;
        for (int i = 0; i < 2; ++i) {
            if (fds[i].fd < 0 || (fds[i].revents & (POLLIN | POLLHUP)) == 0) continue;
            char chunk[8192];
            const ssize_t n = read(fds[i].fd, chunk, sizeof chunk);
            if (n <= 0) {
                close(fds[i].fd);
                fds[i].fd = -1;
                --open_count;
                continue;
            }
            (i == 0 ? result.out : result.err).append(chunk, static_cast<std::size_t>(n));
        }
    }
    feeder.join();
    int status = 0;
    waitpid(pid, &status, 0);
    result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    return result;
}

daemon_process::daemon_process(const std::string& config_path, const std::string& log_path,
                               const std::map<std::string, std::string>& env)
    : log_path_(log_path) {
    pid_ = spawn_logged({daemon_binary(), "run", "-c", config_path}, log_path, env);
    static const std::regex listening("listening on [^ ]*:(\\d+)");
    std::smatch match;
    const bool started = poll_until([&]() {
        const std::string text = log();
        if (std::regex_search(text, match, listening)) {
            port_ = static_cast<std::uint16_t>(std::stoi(match[1]));
            return true;
        }
        int status = 0;
        if (waitpid(pid_, &status, WNOHANG) == pid_) {
            exited_ = true;
            return true;
        }
        return false;
    });
    if (!started || exited_ || port_ == 0) {
        throw std::runtime_error("daemon did not start; log:\n" + log());
    }
}

daemon_process::~daemon_process() {
    if (!exited_ && pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
}

void daemon_process::signal(int signal_number) const { kill(pid_, signal_number); }

std::optional<int> daemon_process::wait_exit(std::chrono::milliseconds timeout) {
    int status = 0;
    const bool done = poll_until([&]() { return waitpid(pid_, &status, WNOHANG) == pid_; }, timeout);
    if (!done) return std::nullopt;
    exited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::string daemon_process::log() const { return read_file(log_path_); }

background_process::background_process(const std::vector<std::string>& argv, const std::string& log_path,
                                       const std::map<std::string, std::string>& env)
    : pid_(spawn_logged(argv, log_path, env)), log_path_(log_path) {}

background_process::~background_process() {
    if (pid_ <= 0 || exited_) return;
    kill(pid_, SIGTERM);
    if (!poll_until([&]() { return waitpid(pid_, nullptr, WNOHANG) == pid_; }, std::chrono::seconds(10))) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
    }
}

bool background_process::running() const {
    if (!exited_ && waitpid(pid_, nullptr, WNOHANG) == pid_) exited_ = true;
    return !exited_;
}

std::string background_process::log() const { return read_file(log_path_); }

std::optional<double> metric_value(const std::string& metrics_text, const std::string& series_prefix) {
    std::istringstream lines(metrics_text);
    for (std::string line; std::getline(lines, line);) {
        if (line.rfind(series_prefix, 0) != 0) continue;
        const auto space = line.rfind(' ');
        if (space == std::string::npos) continue;
        return std::stod(line.substr(space + 1));
    }
    return std::nullopt;
}

void wait_until_ready(const background_process& process, std::uint16_t port, const std::string& path,
                      const std::string& name) {
    const bool ready = poll_until(
        [&] {
            if (!process.running()) return true;
            try {
                return http_get(port, path).status == 200;
            } catch (const std::exception&) {
                return false;  // not listening yet
            }
        },
        std::chrono::seconds(60));
    if (!ready || !process.running()) throw std::runtime_error(name + " did not become ready; log:\n" + process.log());
}

}  // namespace invariantd::test
