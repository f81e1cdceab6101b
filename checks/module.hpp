#pragma once
/// The interface every check module implements, and what it receives when it runs.
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "checks/params.hpp"
#include "checks/result.hpp"
#include "daemon/db/database.hpp"

namespace invariantd::checks {

/// Everything one run of a module may use. The session is already inside a read-only
/// transaction with the check's timeout applied by the driver.
struct check_context {
    const nlohmann::json& params;  ///< validated, defaults applied (see the module's parameters())
    db::session& session;
    std::string_view driver;  ///< "sqlite" or "postgres": the SQL dialect to emit
    std::size_t max_samples;
};

/// A check module: stateless, shared by every check that uses it, callable from the loop
/// thread only. Modules throw db::error (or std::exception) when they cannot compute an
/// answer; the scheduler turns that into an error result.
class check_module {
public:
    virtual ~check_module() = default;
    virtual std::string_view name() const = 0;
    /// One line for `invariantd modules`.
    virtual std::string_view summary() const = 0;
    virtual const std::vector<param_spec>& parameters() const = 0;
    /// Checks that go beyond the schema (e.g. driver support, mutually exclusive options),
    /// reported at `where` (the check's params node). Called at configuration load.
    virtual void validate(const nlohmann::json& /*params*/, std::string_view /*driver*/, const YAML::Mark& /*where*/,
                          const problem_reporter& /*report*/) const {}
    virtual asio::awaitable<module_output> run(const check_context& context) const = 0;
};

}  // namespace invariantd::checks
