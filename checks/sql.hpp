#pragma once
#include "checks/module.hpp"

namespace invariantd::checks {

/// `sql`: the operator's own query. mode scalar → value is the first column of the single
/// row; mode rows → value is the number of rows and the first max_samples rows are the
/// samples; group_column (rows mode) → breakdown of the row count by that column.
class sql_module final : public check_module {
public:
    std::string_view name() const override { return "sql"; }
    std::string_view summary() const override {
        return "your own read-only query: a scalar value, or the number of offending rows with them as samples";
    }
    const std::vector<param_spec>& parameters() const override;
    void validate(const nlohmann::json& params, std::string_view driver, const YAML::Mark& where,
                  const problem_reporter& report) const override;
    asio::awaitable<module_output> run(const check_context& context) const override;
};

}  // namespace invariantd::checks
