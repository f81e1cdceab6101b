#include "checks/module_support.hpp"

#include <openssl/sha.h>

#include <fmt/format.h>

#include "daemon/common/utf8.hpp"

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


std::string offender_key(std::string_view raw) {
    std::string key = valid_utf8(raw);
    if (key.size() <= 512) return key;
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), digest);
    std::string hex = "sha256:";
    for (unsigned char byte : digest) hex += fmt::format("{:02x}", byte);
    return hex;
}

std::string json_array_key(const std::vector<db::value>& values) {
    nlohmann::json array = nlohmann::json::array();
    for (const auto& value : values) {
        if (std::holds_alternative<std::nullptr_t>(value)) array.push_back(nullptr);
        else array.push_back(valid_utf8(db::to_string(value)));
    }
    return array.dump();
}

std::string offender_limit(const check_context& context) { return "LIMIT " + std::to_string(context.max_tracked + 1); }

void take_offenders(module_output& output, const db::rowset& rows, std::size_t column, const check_context& context) {
    output.offenders.clear();
    for (const auto& row : rows.rows) {
        if (output.offenders.size() == context.max_tracked) {
            output.offenders_truncated = true;
            break;
        }
        output.offenders.push_back(offender_key(db::to_string(row.at(column))));
    }
    if (rows.row_count > rows.rows.size() && rows.rows.size() >= context.max_tracked) output.offenders_truncated = true;
}

void normalise_sample_keys(nlohmann::ordered_json& samples) {
    for (auto& sample : samples) {
        auto it = sample.find("key");
        if (it != sample.end() && it->is_string()) *it = offender_key(it->get<std::string>());
        else if (it != sample.end() && it->is_number()) *it = offender_key(it->dump());
    }
}

std::string field_text(const nlohmann::ordered_json& value) {
    if (value.is_string()) return value.get<std::string>();
    if (value.is_null()) return "NULL";
    if (value.is_number_float()) {
        const double number = value.get<double>();
        if (number == static_cast<double>(static_cast<std::int64_t>(number))) return std::to_string(static_cast<std::int64_t>(number));
        return fmt::format("{}", number);
    }
    return value.dump();
}

std::string check_module::sample_line(const nlohmann::ordered_json& sample, const module_args&) const {
    std::string line;
    for (const auto& [name, value] : sample.items()) {
        if (name == "key") continue;
        if (!line.empty()) line += ", ";
        line += name + "=" + field_text(value);
    }
    return line;
}

nlohmann::ordered_json keyed_samples(const db::rowset& rows, const std::vector<std::string>& fields,
                                     std::size_t max_samples) {
    nlohmann::ordered_json samples = nlohmann::ordered_json::array();
    for (std::size_t i = 0; i < rows.rows.size() && i < max_samples; ++i) {
        const auto& row = rows.rows[i];
        nlohmann::ordered_json sample{{"id", to_json(row.at(1))}};
        for (std::size_t f = 0; f < fields.size(); ++f) sample[fields[f]] = to_json(row.at(2 + f));
        sample["key"] = offender_key(db::to_string(row.at(0)));
        samples.push_back(std::move(sample));
    }
    return samples;
}

}  // namespace invariantd::checks
