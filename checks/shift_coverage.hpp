#pragma once
#include "checks/module.hpp"

namespace invariantd::checks {

/// `shift_coverage` (SPEC §4): see checks/README.md for the query it runs and the indexes it wants.
class shift_coverage_module final : public check_module {
public:
    std::string_view name() const override { return "shift_coverage"; }
    std::string_view summary() const override;
    const std::vector<param_spec>& parameters() const override;
    asio::awaitable<module_output> run(const check_context& context) const override;
};

}  // namespace invariantd::checks
