#pragma once
#include "checks/module.hpp"

namespace invariantd::checks {

/// `backlog` (SPEC §4): see checks/README.md for the query it runs and the indexes it wants.
class backlog_module final : public check_module {
public:
    std::string_view name() const override { return "backlog"; }
    std::string_view summary() const override;
    const std::vector<param_spec>& parameters() const override;
    asio::awaitable<module_output> run(const check_context& context) const override;
};

}  // namespace invariantd::checks
