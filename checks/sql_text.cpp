#include "checks/sql_text.hpp"

#include <cctype>

namespace invariantd::checks {

std::string quote_identifier(std::string_view name) {
    std::string out;
    out.reserve(name.size() + 4);
    out += '"';
    for (char c : name) {
        if (c == '.') {
            out += "\".\"";
        } else if (c == '"') {
            out += "\"\"";
        } else {
            out += c;
        }
    }
    out += '"';
    return out;
}

std::string strip_statement_end(std::string_view sql) {
    std::size_t end = sql.size();
    while (end > 0 && (std::isspace(static_cast<unsigned char>(sql[end - 1])) || sql[end - 1] == ';')) --end;
    return std::string(sql.substr(0, end));
}

}  // namespace invariantd::checks
