#include "daemon/db/database.hpp"

#include <charconv>

#include <fmt/format.h>

namespace invariantd::db {

std::string to_string(const value& v) {
    return std::visit(
        [](const auto& x) -> std::string {
            using type = std::decay_t<decltype(x)>;
            if constexpr (std::is_same_v<type, std::nullptr_t>) {
                return "NULL";
            } else if constexpr (std::is_same_v<type, std::string>) {
                return x;
            } else if constexpr (std::is_same_v<type, double>) {
                return fmt::format("{}", x);
            } else {
                return std::to_string(x);
            }
        },
        v);
}

std::optional<double> to_number(const value& v) {
    if (const auto* i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
    if (const auto* d = std::get_if<double>(&v)) return *d;
    if (const auto* s = std::get_if<std::string>(&v)) {
        double parsed = 0;
        const auto* begin = s->data();
        const auto* end = s->data() + s->size();
        auto [ptr, ec] = std::from_chars(begin, end, parsed);
        if (ec == std::errc() && ptr == end && begin != end) return parsed;
    }
    return std::nullopt;
}

}  // namespace invariantd::db
