#include "checks/module_support.hpp"

namespace invariantd::checks {

nlohmann::ordered_json to_json(const db::value& value) {
    return std::visit(
        [](const auto& x) -> nlohmann::ordered_json {
            using type = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<type, std::nullptr_t>) {
                return nullptr;
            } else {
                return x;
            }
        },
        value);
}

double number_at(const db::rowset& rows, std::size_t column) {
    if (rows.rows.empty() || column >= rows.rows.front().size()) return 0;
    return db::to_number(rows.rows.front()[column]).value_or(0);
}

nlohmann::ordered_json rows_as_samples(const db::rowset& rows) {
    nlohmann::ordered_json samples = nlohmann::ordered_json::array();
    for (const auto& row : rows.rows) {
        nlohmann::ordered_json sample = nlohmann::ordered_json::object();
        for (std::size_t c = 0; c < rows.columns.size(); ++c) sample[rows.columns[c]] = to_json(row[c]);
        samples.push_back(std::move(sample));
    }
    return samples;
}

}  // namespace invariantd::checks
