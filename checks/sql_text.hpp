#pragma once
/// Helpers for building SQL text safely from configuration: identifiers are quoted (each
/// part of a schema-qualified name separately), values are never pasted — they are bound.
#include <string>
#include <string_view>

namespace invariantd::checks {

/// "audit.racks" → "\"audit\".\"racks\""; embedded quotes are doubled. Valid on PostgreSQL and SQLite.
std::string quote_identifier(std::string_view name);

/// The text of a user query without trailing whitespace and semicolons, so it can be
/// wrapped as a subquery.
std::string strip_statement_end(std::string_view sql);

}  // namespace invariantd::checks
