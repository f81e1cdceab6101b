#pragma once
/// The interface every check module implements, and what it receives when it runs.
#include <nlohmann/json.hpp>
#include <string_view>
#include <vector>

#include "daemon/common/value_format.hpp"

#include "checks/dialect.hpp"
#include "checks/module_args.hpp"
#include "checks/params.hpp"
#include "checks/result.hpp"
#include "daemon/db/database.hpp"

namespace invariantd::checks {

/// Everything one run of a module may use. The session is already inside a read-only
/// transaction with the check's timeout applied by the driver.
struct check_context {
    module_args args;  ///< the validated parameters, defaults applied (see the module's parameters())
    db::session& session;
    const sql_dialect& dialect;  ///< the database's SQL dialect: placeholders, time arithmetic, ...
    std::size_t max_samples;
    std::size_t max_tracked = 1000;  ///< return the keys of at most this many offenders
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
    virtual void validate(const module_args& /*args*/, db::driver_kind /*driver*/,
                          const YAML::Mark& /*where*/, const problem_reporter& /*report*/) const {}
    virtual asio::awaitable<module_output> run(const check_context& context) const = 0;
    /// One line a person reads for one of this module's samples ("Event 221 Downtown Concert
    /// After-Party — Bartender 1/3 (2 missing)"). The default lists the fields as name=value.
    virtual std::string sample_line(const nlohmann::ordered_json& sample, const module_args& args) const;
    /// Whether a run of these parameters names its offenders (sql's scalar mode does not).
    virtual bool names_offenders(const module_args& /*args*/) const { return true; }
    /// How the status page shows the value when the check sets no `format:`.
    virtual value_format default_format() const { return value_format::number; }
};

/// The shape every built-in module shares: name, summary and parameter schema are data given
/// once to the constructor; `run` (and, where needed, `validate`) are the module's code.
class basic_module : public check_module {
public:
    basic_module(std::string_view name, std::string_view summary, std::vector<param_spec> parameters,
                 value_format display = value_format::number)
        : name_(name), summary_(summary), parameters_(std::move(parameters)), display_(display) {}
    std::string_view name() const override { return name_; }
    std::string_view summary() const override { return summary_; }
    const std::vector<param_spec>& parameters() const override { return parameters_; }
    value_format default_format() const override { return display_; }

private:
    std::string_view name_;
    std::string_view summary_;
    std::vector<param_spec> parameters_;
    value_format display_;
};

}  // namespace invariantd::checks
