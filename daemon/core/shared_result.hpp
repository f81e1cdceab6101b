#pragma once
/// Cluster mode: a check's last results as the owner stores them in the coordination
/// database on every run (`<schema>.results`), so every member shows the whole cluster's
/// checks with fresh results and a new owner exports the last result before its first run
/// (SPEC §12). The document is JSON; offender keys are left out (the ledger holds them).
#include <optional>
#include <string>

#include "daemon/core/check_task.hpp"

namespace invariantd {

std::string shared_result_document(const check_status& status);
/// nullopt when the document is not readable.
std::optional<check_status> shared_result_from(const std::string& document);

}  // namespace invariantd
