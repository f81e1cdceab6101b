#pragma once
/// `invariantd silence add|list|expire`: the silences API of a running daemon from a shell
/// (README "Silences"). Exit codes: 0 done, 1 rejected by the daemon, 2 daemon unreachable,
/// 64 usage.
#include <string>
#include <vector>

namespace invariantd {

/// `args` are the words after "silence".
int command_silence(const std::vector<std::string>& args);

}  // namespace invariantd
