#include "daemon/config/loader.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <tuple>
#include <filesystem>
#include <functional>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include "checks/registry.hpp"
#include "daemon/common/bcrypt.hpp"
#include "daemon/common/server_tls.hpp"
#include "daemon/common/suggest.hpp"
#include "daemon/common/time_format.hpp"
#include "daemon/common/time_zone.hpp"

namespace invariantd::config {
namespace {

namespace fs = std::filesystem;

const std::vector<std::string> severities{"critical", "error", "warning", "info"};
const std::vector<std::string> receiver_types{"pagerduty", "alertmanager", "webhook", "slack"};
constexpr const char* pagerduty_enqueue_url = "https://events.pagerduty.com/v2/enqueue";

/// `${VAR}` written unquoted inside a flow mapping — `{ routing_key: ${PD_KEY} }`, as README.md "Configuration reference"
/// itself writes it — is not valid YAML: `{` and `}` end a plain scalar there. Outside quotes
/// and comments, every `${...}` becomes `$(...)`, which has the same length (so every error
/// position stays true) and parses as a plain scalar; reader::text() reads plain scalars back
/// from the original text, so `$(` written by the user never becomes a reference.
std::string protect_references(const std::string& text) {
    std::string out = text;
    bool in_single = false, in_double = false, in_comment = false;
    for (std::size_t i = 0; i < out.size(); ++i) {
        const char c = out[i];
        if (c == '\n') in_comment = false;
        if (in_comment) continue;
        if (in_double) {
            if (c == '\\') ++i;
            else if (c == '"') in_double = false;
            continue;
        }
        if (in_single) {
            if (c == '\'') in_single = false;  // '' (an escaped quote) re-enters on the next char
            continue;
        }
        if (c == '#' && (i == 0 || out[i - 1] == ' ' || out[i - 1] == '\t' || out[i - 1] == '\n')) in_comment = true;
        else if (c == '"') in_double = true;
        else if (c == '\'') in_single = true;
        else if (c == '$' && i + 1 < out.size() && out[i + 1] == '{') {
            const auto close = out.find_first_of("}\n", i + 2);
            if (close == std::string::npos || out[close] != '}') continue;
            out[i + 1] = '(';
            out[close] = ')';
            i = close;
        }
    }
    return out;
}

/// Collects errors while walking the document; every accessor reports at the node's position.
class reader {
public:
    reader(std::string file, fs::path base, std::string original = {})
        : file_(std::move(file)), base_(std::move(base)), original_(std::move(original)) {}

    void error(const YAML::Mark& mark, std::string message) {
        errors_.push_back({file_, mark.line + 1, mark.column + 1, std::move(message)});
    }
    std::vector<config_error>& errors() { return errors_; }
    std::vector<std::string>& secrets() { return secrets_; }
    const fs::path& base() const { return base_; }

    /// Reports unknown and duplicate keys of a mapping. Returns false if `node` is not a mapping.
    bool check_mapping(const YAML::Node& node, const std::vector<std::string>& allowed, std::string_view what) {
        if (!node.IsMap()) {
            error(node.Mark(), fmt::format("{} must be a mapping", what));
            return false;
        }
        std::map<std::string, int> seen;
        for (const auto& item : node) {
            if (!item.first.IsScalar()) {
                error(item.first.Mark(), fmt::format("keys of {} must be strings", what));
                continue;
            }
            const std::string key = item.first.Scalar();
            if (auto [it, inserted] = seen.emplace(key, item.first.Mark().line + 1); !inserted) {
                error(item.first.Mark(), fmt::format("duplicate key '{}' (first at line {})", key, it->second));
            }
            if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
                error(item.first.Mark(), fmt::format("unknown key '{}' in {}{}", key, what, did_you_mean(key, allowed)));
            }
        }
        return true;
    }

    /// A scalar with ${VAR} / ${file:PATH} expanded. `secret` registers expanded and literal
    /// values with the redactor. nullopt after reporting an error.
    std::optional<std::string> text(const YAML::Node& node, std::string_view key, bool secret = false) {
        if (!node.IsScalar()) {
            error(node.Mark(), fmt::format("'{}' must be a string", key));
            return std::nullopt;
        }
        std::string raw = node.Scalar();
        if (node.Tag() == "?" && node.Mark().pos >= 0 &&
            static_cast<std::size_t>(node.Mark().pos) + raw.size() <= original_.size()) {
            auto written = original_.substr(static_cast<std::size_t>(node.Mark().pos), raw.size());
            if (protect_references(written) == raw) raw = std::move(written);
        }
        std::string out;
        std::size_t i = 0;
        while (i < raw.size()) {
            if (raw.compare(i, 2, "${") != 0) {
                out += raw[i++];
                continue;
            }
            const auto close = raw.find('}', i + 2);
            if (close == std::string::npos) {
                error(node.Mark(), fmt::format("'{}': unterminated '${{' in value", key));
                return std::nullopt;
            }
            const std::string reference = raw.substr(i + 2, close - i - 2);
            std::optional<std::string> value = reference.rfind("file:", 0) == 0
                                                   ? read_secret_file(node, key, reference.substr(5))
                                                   : read_environment(node, key, reference);
            if (!value) return std::nullopt;
            if (secret) secrets_.push_back(*value);
            out += *value;
            i = close + 1;
        }
        if (secret) secrets_.push_back(out);
        return out;
    }

    std::optional<duration> duration_value(const YAML::Node& node, std::string_view key) {
        auto value = text(node, key);
        if (!value) return std::nullopt;
        if (auto parsed = parse_duration(*value)) return parsed;
        error(node.Mark(), fmt::format("'{}': invalid duration '{}' (use e.g. 500ms, 30s, 5m, 1h, 1d)", key, *value));
        return std::nullopt;
    }

    std::optional<std::size_t> count(const YAML::Node& node, std::string_view key, std::size_t minimum,
                                     std::size_t maximum) {
        auto value = text(node, key);
        if (!value) return std::nullopt;
        std::size_t parsed = 0;
        const auto* end = value->data() + value->size();
        auto [ptr, ec] = std::from_chars(value->data(), end, parsed);
        if (ec != std::errc() || ptr != end || value->empty() || parsed < minimum || parsed > maximum) {
            error(node.Mark(), fmt::format("'{}' must be a whole number from {} to {}, got '{}'", key, minimum,
                                           maximum, *value));
            return std::nullopt;
        }
        return parsed;
    }

    std::optional<std::string> one_of(const YAML::Node& node, std::string_view key,
                                      const std::vector<std::string>& choices) {
        auto value = text(node, key);
        if (!value) return std::nullopt;
        if (std::find(choices.begin(), choices.end(), *value) != choices.end()) return value;
        error(node.Mark(), fmt::format("'{}' must be one of {}, got '{}'{}", key, fmt::join(choices, "|"), *value,
                                       did_you_mean(*value, choices)));
        return std::nullopt;
    }

    std::string resolve_path(const std::string& path) const {
        fs::path p(path);
        return (p.is_absolute() ? p : (base_ / p)).lexically_normal().string();
    }

private:
    std::optional<std::string> read_environment(const YAML::Node& node, std::string_view key,
                                                const std::string& name) {
        static const std::regex valid("[A-Za-z_][A-Za-z0-9_]*");
        if (!std::regex_match(name, valid)) {
            error(node.Mark(), fmt::format("'{}': '${{{}}}' is not a valid variable reference", key, name));
            return std::nullopt;
        }
        const char* value = std::getenv(name.c_str());
        if (value == nullptr) {
            error(node.Mark(), fmt::format("'{}': environment variable '{}' is not set", key, name));
            return std::nullopt;
        }
        return std::string(value);
    }

    std::optional<std::string> read_secret_file(const YAML::Node& node, std::string_view key, const std::string& path) {
        const std::string resolved = resolve_path(path);
        std::ifstream in(resolved, std::ios::binary);
        if (!in) {
            error(node.Mark(), fmt::format("'{}': cannot read file '{}'", key, path));
            return std::nullopt;
        }
        std::ostringstream content;
        content << in.rdbuf();
        std::string value = content.str();
        while (!value.empty() && (value.back() == '\n' || value.back() == '\r')) value.pop_back();
        return value;
    }

    std::string file_;
    fs::path base_;
    std::vector<config_error> errors_;
    std::vector<std::string> secrets_;
    std::string original_;
};

/// Password of a libpq DSN, in keyword form (password=...) or URI form (user:pw@host).
std::optional<std::string> dsn_password(const std::string& dsn) {
    static const std::regex keyword(R"((?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+))");
    static const std::regex uri(R"(^postgres(?:ql)?://[^:/@]*:([^@]*)@)");
    std::smatch match;
    if (std::regex_search(dsn, match, keyword)) {
        std::string value = match[1];
        if (value.size() >= 2 && value.front() == '\'') value = value.substr(1, value.size() - 2);
        return value;
    }
    if (std::regex_search(dsn, match, uri)) return match[1].str();
    return std::nullopt;
}

/// One key of a mapping and how its value is read into a `T`. A mapping's table lists its keys
/// once: they are both the keys it accepts (anything else is an error with a suggestion) and
/// how each is read (with a positioned error). A null reader marks a key read by code beside
/// the table (when it depends on other keys, like a database's driver).
template <typename T>
struct field {
    const char* key;
    std::function<void(reader&, const YAML::Node&, T&, std::string_view where)> read;
};

/// Checks `node`'s keys against `fields` and reads every key present; false if it is not a mapping.
template <typename T>
bool read_fields(reader& r, const YAML::Node& node, const std::vector<field<T>>& fields, T& target,
                 std::string_view what, std::string_view where) {
    std::vector<std::string> allowed;
    for (const auto& f : fields) allowed.emplace_back(f.key);
    if (!r.check_mapping(node, allowed, what)) return false;
    for (const auto& f : fields) {
        if (!f.read) continue;
        if (const auto value = node[f.key]) f.read(r, value, target, where);
    }
    return true;
}

template <typename T>
field<T> text_field(const char* key, std::string label, std::string T::*member) {
    return {key, [label, member](reader& r, const YAML::Node& node, T& target, std::string_view) {
                if (auto value = r.text(node, label)) target.*member = *value;
            }};
}

template <typename T>
field<T> choice_field(const char* key, std::string label, std::string T::*member, std::vector<std::string> choices) {
    return {key, [label, member, choices](reader& r, const YAML::Node& node, T& target, std::string_view) {
                if (auto value = r.one_of(node, label, choices)) target.*member = *value;
            }};
}

template <typename T>
field<T> count_field(const char* key, std::string label, std::size_t T::*member, std::size_t minimum,
                     std::size_t maximum) {
    return {key, [label, member, minimum, maximum](reader& r, const YAML::Node& node, T& target, std::string_view) {
                if (auto value = r.count(node, label, minimum, maximum)) target.*member = *value;
            }};
}

/// A duration; below `at_least` it is refused with `too_small` ({where} names the mapping).
template <typename T>
field<T> duration_field(const char* key, std::string label, duration T::*member,
                        std::optional<duration> at_least = std::nullopt, std::string too_small = {}) {
    return {key, [label, member, at_least, too_small](reader& r, const YAML::Node& node, T& target,
                                                      std::string_view where) {
                auto value = r.duration_value(node, label);
                if (!value) return;
                if (at_least && *value < *at_least)
                    r.error(node.Mark(), fmt::format(fmt::runtime(too_small), fmt::arg("where", where)));
                else
                    target.*member = *value;
            }};
}

const std::vector<field<server_config>>& server_fields() {
    static const std::vector<field<server_config>> fields{
        {"listen",
         [](reader& r, const YAML::Node& node, server_config& server, std::string_view) {
             auto value = r.text(node, "server.listen");
             if (!value) return;
             static const std::regex form(R"(^(?:\[([0-9A-Fa-f:.]+)\]|([^:\[\]]+)):(\d{1,5})$)");
             std::smatch match;
             unsigned long port = 0;
             if (std::regex_match(*value, match, form) && (port = std::stoul(match[3].str())) <= 65535) {
                 server.listen = *value;
                 server.host = match[1].matched ? match[1].str() : match[2].str();
                 server.port = static_cast<std::uint16_t>(port);
             } else {
                 r.error(node.Mark(), fmt::format("'server.listen' must be host:port or [ipv6]:port, got '{}'", *value));
             }
         }},
        {"api_token",
         [](reader& r, const YAML::Node& node, server_config& server, std::string_view) {
             if (auto value = r.text(node, "server.api_token", true); value && !value->empty()) server.api_token = value;
         }},
        duration_field("idle_timeout", "server.idle_timeout", &server_config::idle_timeout),
        duration_field("request_timeout", "server.request_timeout", &server_config::request_timeout),
        count_field("max_connections", "server.max_connections", &server_config::max_connections, 1, 100000),
        {"duration_buckets",
         [](reader& r, const YAML::Node& node, server_config& server, std::string_view) {
             if (!node.IsSequence() || node.size() == 0 || node.size() > 20) {
                 r.error(node.Mark(), "'server.duration_buckets' must be a list of 1 to 20 upper bounds in seconds, "
                                      "ascending, e.g. [0.01, 0.1, 1, 5, 30]");
                 return;
             }
             std::vector<double> bounds;
             for (const auto& item : node) {
                 auto value = r.text(item, "server.duration_buckets");
                 if (!value) return;
                 double bound = 0;
                 const auto* end = value->data() + value->size();
                 auto [ptr, ec] = std::from_chars(value->data(), end, bound);
                 if (ec != std::errc() || ptr != end || !(bound > 0) || !std::isfinite(bound)) {
                     r.error(item.Mark(), fmt::format("'server.duration_buckets': '{}' is not a positive number of "
                                                      "seconds", *value));
                     return;
                 }
                 if (!bounds.empty() && bound <= bounds.back()) {
                     r.error(item.Mark(), fmt::format("'server.duration_buckets' must ascend: {} follows {}", *value,
                                                      bounds.back()));
                     return;
                 }
                 bounds.push_back(bound);
             }
             server.duration_buckets = std::move(bounds);
         }},
        {"tls",
         [](reader& r, const YAML::Node& node, server_config& server, std::string_view) {
             if (!r.check_mapping(node, {"cert_file", "key_file", "client_ca_file"}, "'server.tls'")) return;
             server_tls_config tls;
             bool complete = true;
             const auto path_of = [&](const char* key, std::string& target, bool required) {
                 const auto item = node[key];
                 if (!item || item.IsNull()) {
                     if (required) {
                         r.error(node.Mark(), fmt::format("'server.tls' needs '{}'", key));
                         complete = false;
                     }
                     return;
                 }
                 if (auto value = r.text(item, fmt::format("server.tls.{}", key))) target = r.resolve_path(*value);
                 else complete = false;
             };
             path_of("cert_file", tls.cert_file, true);
             path_of("key_file", tls.key_file, true);
             path_of("client_ca_file", tls.client_ca_file, false);
             if (!complete) return;
             // Load them as the daemon will, so a bad file is an error here, with its position.
             try {
                 (void)make_server_tls_context(tls.cert_file, tls.key_file, tls.client_ca_file);
             } catch (const std::exception& e) {
                 r.error(node.Mark(), fmt::format("'server.tls': {}", e.what()));
                 return;
             }
             server.tls = std::move(tls);
         }},
        {"basic_auth",
         [](reader& r, const YAML::Node& node, server_config& server, std::string_view) {
             if (!r.check_mapping(node, {"users", "exempt"}, "'server.basic_auth'")) return;
             basic_auth_config auth;
             const auto users = node["users"];
             if (!users || !users.IsMap() || users.size() == 0) {
                 r.error(users ? users.Mark() : node.Mark(),
                         "'server.basic_auth.users' must map at least one user name to a bcrypt hash");
                 return;
             }
             for (const auto& user : users) {
                 const auto name = r.text(user.first, "server.basic_auth.users");
                 auto hash = r.text(user.second, "server.basic_auth.users", true);
                 if (!name || !hash) continue;
                 if (name->empty() || name->find(':') != std::string::npos) {
                     r.error(user.first.Mark(), fmt::format("'server.basic_auth.users': '{}' is not a user name "
                                                            "(not empty, no ':')", *name));
                 } else if (!is_bcrypt_hash(*hash)) {
                     r.error(user.second.Mark(), fmt::format("'server.basic_auth.users.{}' is not a bcrypt hash "
                                                             "(\"$2y$10$\" and 53 more characters, as htpasswd -nbBC 10 "
                                                             "makes)", *name));
                 } else {
                     auth.users[*name] = std::move(*hash);
                 }
             }
             if (const auto exempt = node["exempt"]) {
                 auth.exempt.clear();
                 if (!exempt.IsSequence()) {
                     r.error(exempt.Mark(), "'server.basic_auth.exempt' must be a list of paths, e.g. [/livez, /health]");
                 } else {
                     for (const auto& item : exempt) {
                         auto path = r.text(item, "server.basic_auth.exempt");
                         if (path && (path->empty() || (*path)[0] != '/'))
                             r.error(item.Mark(), fmt::format("'server.basic_auth.exempt': '{}' is not a path "
                                                              "(it starts with '/')", *path));
                         else if (path)
                             auth.exempt.push_back(std::move(*path));
                     }
                 }
             }
             server.basic_auth = std::move(auth);
         }},
    };
    return fields;
}

const std::vector<field<log_config>>& log_fields() {
    static const std::vector<field<log_config>> fields{
        choice_field("level", "log.level", &log_config::level, {"trace", "debug", "info", "warn", "error"}),
        choice_field("format", "log.format", &log_config::format, {"text", "json"}),
    };
    return fields;
}

const std::regex& name_pattern() {
    static const std::regex pattern("[a-z0-9_]+");
    return pattern;
}

/// driver, dsn and path are read beside the table: which applies depends on the driver.
const std::vector<field<database_config>>& database_fields() {
    static const std::vector<field<database_config>> fields{
        {"driver", nullptr},
        {"dsn", nullptr},
        {"path", nullptr},
        count_field("max_connections", "max_connections", &database_config::max_connections, 1, 64),
        duration_field("connect_timeout", "connect_timeout", &database_config::connect_timeout),
        duration_field("max_lifetime", "max_lifetime", &database_config::max_lifetime),
        duration_field("lock_timeout", "lock_timeout", &database_config::lock_timeout),
        duration_field("busy_timeout", "busy_timeout", &database_config::busy_timeout),
        {"discover",
         [](reader& r, const YAML::Node& node, database_config& target, std::string_view) {
             auto value = r.text(node, "discover");
             if (!value) return;
             if (value->find_first_not_of(" \t\r\n") == std::string::npos)
                 r.error(node.Mark(), "'discover' must be a query whose first column names the member databases");
             else
                 target.discover = *value;
         }},
        duration_field("discover_interval", "discover_interval", &database_config::discover_interval,
                       duration(1000), "'discover_interval' must be at least 1s"),
    };
    return fields;
}

void read_databases(reader& r, const YAML::Node& node, std::vector<database_config>& databases) {
    if (!node.IsMap()) {
        r.error(node.Mark(), "'databases' must be a mapping of database name to settings");
        return;
    }
    std::map<std::string, int> seen;
    for (const auto& item : node) {
        database_config db;
        db.name = item.first.Scalar();
        const std::string where = fmt::format("database '{}'", db.name);
        if (auto [it, inserted] = seen.emplace(db.name, item.first.Mark().line + 1); !inserted) {
            r.error(item.first.Mark(), fmt::format("duplicate database '{}' (first at line {})", db.name, it->second));
            continue;
        }
        const YAML::Node settings = item.second;
        if (!read_fields(r, settings, database_fields(), db, where, where)) continue;
        const auto driver = settings["driver"];
        if (!driver) {
            r.error(settings.Mark(), fmt::format("{}: missing required key 'driver' (sqlite or postgres)", where));
            continue;
        }
        auto driver_name = r.one_of(driver, "driver", {"sqlite", "postgres"});
        if (!driver_name) continue;
        db.driver = *driver_name == "postgres" ? db::driver_kind::postgres : db::driver_kind::sqlite;
        if (db.driver == db::driver_kind::sqlite) {
            if (const auto path = settings["path"]) {
                if (auto value = r.text(path, "path")) db.path = r.resolve_path(*value);
            } else {
                r.error(settings.Mark(), fmt::format("{}: driver sqlite needs 'path'", where));
            }
            for (const char* key : {"dsn", "connect_timeout", "max_lifetime", "lock_timeout", "discover",
                                    "discover_interval"}) {
                if (const auto unused = settings[key])
                    r.error(unused.Mark(), fmt::format("{}: '{}' applies to driver postgres only", where, key));
            }
        } else {
            if (const auto dsn = settings["dsn"]) {
                if (auto value = r.text(dsn, "dsn", true)) {
                    db.dsn = *value;
                    if (auto password = dsn_password(db.dsn)) r.secrets().push_back(*password);
                }
            } else {
                r.error(settings.Mark(), fmt::format("{}: driver postgres needs 'dsn'", where));
            }
            for (const char* key : {"path", "busy_timeout"}) {
                if (const auto unused = settings[key])
                    r.error(unused.Mark(), fmt::format("{}: '{}' applies to driver sqlite only", where, key));
            }
        }
        databases.push_back(std::move(db));
    }
}

const std::vector<field<alert_config>>& alert_fields() {
    static const std::vector<field<alert_config>> fields{
        {"when",
         [](reader& r, const YAML::Node& node, alert_config& alert, std::string_view) {
             auto value = r.text(node, "alert.when");
             if (!value) return;
             if (auto parsed = parse_condition(*value)) {
                 alert.when = parsed;
             } else {
                 r.error(node.Mark(), fmt::format("'alert.when' must be a comparator (> >= < <= == !=) and a number, "
                                                  "got '{}'",
                                                  *value));
             }
         }},
        duration_field("for", "alert.for", &alert_config::for_duration),
        duration_field("repeat_interval", "alert.repeat_interval", &alert_config::repeat_interval, duration(1),
                       "'alert.repeat_interval' must be greater than 0"),
        choice_field("severity", "alert.severity", &alert_config::severity, severities),
        count_field("error_after", "alert.error_after", &alert_config::error_after, 1, 1000000),
        {"receivers",
         [](reader& r, const YAML::Node& node, alert_config& alert, std::string_view) {
             if (!node.IsSequence()) {
                 r.error(node.Mark(), "'alert.receivers' must be a list of receiver names");
                 return;
             }
             alert.receivers.clear();
             for (const auto& receiver : node) {
                 if (auto value = r.text(receiver, "alert.receivers")) alert.receivers.push_back(*value);
             }
         }},
        {"summary",
         [](reader& r, const YAML::Node& node, alert_config& alert, std::string_view) {
             auto value = r.text(node, "alert.summary");
             if (!value) return;
             if (auto problem = summary_filter_error(*value))
                 r.error(node.Mark(), "'alert.summary': " + *problem);
             else
                 alert.summary = *value;
         }},
        text_field("runbook_url", "alert.runbook_url", &alert_config::runbook_url),
        {"notify_on_new",
         [](reader& r, const YAML::Node& node, alert_config& alert, std::string_view) {
             if (auto value = r.one_of(node, "alert.notify_on_new", {"true", "false"})) alert.notify_on_new = *value == "true";
         }},
        duration_field("keep_firing_for", "alert.keep_firing_for", &alert_config::keep_firing_for),
    };
    return fields;
}

struct check_defaults {
    duration interval = 60s;
    duration timeout = 30s;
    std::size_t max_samples = 10;
    std::size_t max_tracked = 1000;
    std::optional<double> max_cost;
    duration max_cost_recheck = 1h;
    alert_config alert;
};

/// The keys a check and `defaults` share, for any T with interval, timeout, max_samples and
/// alert members (check_defaults, check_config).
template <typename T>
std::vector<field<T>> schedule_fields() {
    return {
        duration_field("interval", "interval", &T::interval, duration(100), "'interval' must be at least 100ms"),
        duration_field("timeout", "timeout", &T::timeout, duration(10), "'timeout' must be at least 10ms"),
        count_field("max_samples", "max_samples", &T::max_samples, 0, 1000),
        count_field("max_tracked", "max_tracked", &T::max_tracked, 1, 100000),
        {"max_cost",
         [](reader& r, const YAML::Node& node, T& target, std::string_view) {
             auto value = r.text(node, "max_cost");
             if (!value) return;
             double cost = 0;
             const auto* end = value->data() + value->size();
             auto [ptr, ec] = std::from_chars(value->data(), end, cost);
             if (ec != std::errc() || ptr != end || !(cost > 0) || !std::isfinite(cost))
                 r.error(node.Mark(), fmt::format("'max_cost' must be a positive number (the planner's estimated "
                                                  "total cost), got '{}'", *value));
             else
                 target.max_cost = cost;
         }},
        duration_field("max_cost_recheck", "max_cost_recheck", &T::max_cost_recheck),
        {"alert",
         [](reader& r, const YAML::Node& node, T& target, std::string_view where) {
             read_fields(r, node, alert_fields(), target.alert, fmt::format("'alert' of {}", where), where);
         }},
    };
}

void read_checks(reader& r, const YAML::Node& node, const check_defaults& defaults,
                 const std::vector<database_config>& databases, const std::vector<receiver_config>& receivers,
                 std::vector<check_config>& checks) {
    if (!node.IsSequence()) {
        r.error(node.Mark(), "'checks' must be a list of checks");
        return;
    }
    std::map<std::string, int> seen;
    std::vector<std::string> module_names;
    for (const auto* module : checks::all_modules()) module_names.emplace_back(module->name());
    std::vector<std::string> database_names;
    for (const auto& db : databases) database_names.push_back(db.name);
    std::vector<std::string> receiver_names;
    for (const auto& receiver : receivers) receiver_names.push_back(receiver.name);

    // name, module, database and params are read below: they depend on each other.
    std::vector<field<check_config>> fields{
        {"name", nullptr},
        {"module", nullptr},
        {"database", nullptr},
        {"params", nullptr},
        {"format", [](reader& in, const YAML::Node& value_node, check_config& target, std::string_view) {
             if (auto value = in.one_of(value_node, "format", {"number", "percent", "percent100", "duration"}))
                 target.format = parse_value_format(*value);
         }}};
    for (auto& f : schedule_fields<check_config>()) fields.push_back(std::move(f));
    std::vector<std::string> allowed;
    for (const auto& f : fields) allowed.emplace_back(f.key);
    std::size_t index = 0;
    for (const auto& item : node) {
        const std::string fallback = fmt::format("check #{}", index + 1);
        ++index;
        // Name the check in messages about its keys as soon as it has a usable name.
        const std::string context = item.IsMap() && item["name"] && item["name"].IsScalar()
                                        ? fmt::format("check '{}'", item["name"].Scalar())
                                        : fallback;
        if (!r.check_mapping(item, allowed, context)) continue;
        check_config check;
        check.interval = defaults.interval;
        check.timeout = defaults.timeout;
        check.max_samples = defaults.max_samples;
        check.max_tracked = defaults.max_tracked;
        check.max_cost_recheck = defaults.max_cost_recheck;
        check.alert = defaults.alert;
        std::string where = fallback;
        bool complete = true;

        if (const auto name = item["name"]) {
            if (auto value = r.text(name, "name")) {
                if (!std::regex_match(*value, name_pattern())) {
                    r.error(name.Mark(), fmt::format("check name '{}' must match [a-z0-9_]+", *value));
                } else if (auto [it, inserted] = seen.emplace(*value, name.Mark().line + 1); !inserted) {
                    r.error(name.Mark(), fmt::format("duplicate check name '{}' (first at line {})", *value, it->second));
                }
                check.name = *value;
                where = fmt::format("check '{}'", check.name);
            }
        } else {
            r.error(item.Mark(), fmt::format("{}: missing required key 'name'", fallback));
            complete = false;
        }

        const checks::check_module* module = nullptr;
        if (const auto module_node = item["module"]) {
            if (auto value = r.text(module_node, "module")) {
                check.module = *value;
                module = checks::find_module(*value);
                if (module == nullptr) {
                    r.error(module_node.Mark(), fmt::format("{}: unknown module '{}'{}", where, *value, did_you_mean(*value, module_names)));
                }
            }
        } else {
            r.error(item.Mark(), fmt::format("{}: missing required key 'module'", where));
            complete = false;
        }

        const database_config* database = nullptr;
        if (const auto db_node = item["database"]) {
            if (auto value = r.text(db_node, "database")) {
                check.database = *value;
                for (const auto& db : databases) {
                    if (db.name == *value) database = &db;
                }
                if (database == nullptr) {
                    r.error(db_node.Mark(),
                            fmt::format("{}: undefined database '{}'{}", where, *value, did_you_mean(*value, database_names)));
                }
            }
        } else {
            r.error(item.Mark(), fmt::format("{}: missing required key 'database'", where));
            complete = false;
        }

        for (const auto& f : fields) {
            if (const auto value = item[f.key]; value && f.read) f.read(r, value, check, where);
        }
        // The planner's estimate exists on PostgreSQL only: a max_cost in `defaults` applies
        // to PostgreSQL checks, one on a SQLite check itself is a mistake.
        if (database != nullptr && database->driver == db::driver_kind::sqlite) {
            if (const auto cost_node = item["max_cost"]; cost_node && check.max_cost)
                r.error(cost_node.Mark(), fmt::format("{}: 'max_cost' applies to PostgreSQL databases only; "
                                                      "'{}' is SQLite", where, database->name));
            check.max_cost.reset();
        } else if (!item["max_cost"]) {
            check.max_cost = defaults.max_cost;
        }
        for (const auto& receiver : check.alert.receivers) {
            if (std::find(receiver_names.begin(), receiver_names.end(), receiver) == receiver_names.end()) {
                // Inherited from defaults: the check itself is the position. (A default-made
                // YAML::Node() is a defined null without a position, so it cannot stand in.)
                const auto alert_node = item["alert"];
                const bool own_list = alert_node && alert_node.IsMap() && alert_node["receivers"];
                r.error(own_list ? alert_node["receivers"].Mark() : item.Mark(),
                        fmt::format("{}: undefined receiver '{}'{}", where, receiver, did_you_mean(receiver, receiver_names)));
            }
        }

        if (module != nullptr) {
            const auto params = item["params"];
            const YAML::Mark where_params = params ? params.Mark() : item.Mark();
            auto report = [&](const YAML::Mark& mark, const std::string& message) {
                r.error(mark, fmt::format("{}: {}", where, message));
            };
            check.params = checks::validate_params(params, module->parameters(), where_params, report);
            if (database != nullptr) module->validate(checks::module_args(check.params), database->driver, where_params, report);
        }
        if (complete) checks.push_back(std::move(check));
    }
}

/// The timing keys of a receiver (resend_* apply to alertmanager only: checked beside the table).
const std::vector<field<receiver_config>>& receiver_timing_fields() {
    static const std::vector<field<receiver_config>> fields{
        duration_field("timeout", "timeout", &receiver_config::timeout, duration(1),
                       "{where}: 'timeout' must be greater than 0"),
        duration_field("resend_interval", "resend_interval", &receiver_config::resend_interval, duration(1),
                       "{where}: 'resend_interval' must be greater than 0"),
        duration_field("resend_resolved_for", "resend_resolved_for", &receiver_config::resend_resolved_for,
                       duration(1), "{where}: 'resend_resolved_for' must be greater than 0"),
    };
    return fields;
}

const std::vector<std::string> receiver_keys{"type",    "url",           "routing_key",        "hmac_secret",
                                             "timeout", "resend_interval", "resend_resolved_for"};

void read_receivers(reader& r, const YAML::Node& node, std::vector<receiver_config>& receivers) {
    if (!node.IsMap()) {
        r.error(node.Mark(), "'receivers' must be a mapping of receiver name to settings");
        return;
    }
    for (const auto& item : node) {
        receiver_config receiver;
        receiver.name = item.first.Scalar();
        const std::string where = fmt::format("receiver '{}'", receiver.name);
        const YAML::Node settings = item.second;
        if (!r.check_mapping(settings, receiver_keys, where)) continue;
        const auto type = settings["type"];
        if (!type) {
            r.error(settings.Mark(), fmt::format("{}: missing required key 'type' ({})", where,
                                                 fmt::join(receiver_types, "|")));
            continue;
        }
        auto type_name = r.one_of(type, "type", receiver_types);
        if (!type_name) continue;
        receiver.type = *type_name == "pagerduty"      ? receiver_type::pagerduty
                        : *type_name == "alertmanager" ? receiver_type::alertmanager
                        : *type_name == "webhook"      ? receiver_type::webhook
                                                       : receiver_type::slack;
        // Webhook and Slack URLs routinely embed the credential, so every URL is a secret.
        if (const auto url = settings["url"]) {
            if (url.IsSequence()) {
                if (receiver.type != receiver_type::alertmanager)
                    r.error(url.Mark(), fmt::format("{}: a list of URLs is only accepted for type alertmanager", where));
                for (const auto& one : url) {
                    if (auto value = r.text(one, "url", true)) receiver.urls.push_back(*value);
                }
            } else if (auto value = r.text(url, "url", true)) {
                receiver.urls.push_back(*value);
            }
            for (const auto& value : receiver.urls) {
                if (value.rfind("http://", 0) != 0 && value.rfind("https://", 0) != 0)
                    r.error(url.Mark(), fmt::format("{}: url must start with http:// or https://", where));
            }
        } else if (receiver.type == receiver_type::pagerduty) {
            receiver.urls.push_back(pagerduty_enqueue_url);
        } else {
            r.error(settings.Mark(), fmt::format("{}: type {} needs 'url'", where, to_string(receiver.type)));
        }
        if (const auto key = settings["routing_key"]) {
            if (receiver.type != receiver_type::pagerduty)
                r.error(key.Mark(), fmt::format("{}: 'routing_key' applies to type pagerduty only", where));
            if (auto value = r.text(key, "routing_key", true)) receiver.routing_key = *value;
        } else if (receiver.type == receiver_type::pagerduty) {
            r.error(settings.Mark(), fmt::format("{}: type pagerduty needs 'routing_key'", where));
        }
        if (const auto secret = settings["hmac_secret"]) {
            if (receiver.type != receiver_type::webhook)
                r.error(secret.Mark(), fmt::format("{}: 'hmac_secret' applies to type webhook only", where));
            if (auto value = r.text(secret, "hmac_secret", true)) receiver.hmac_secret = *value;
        }
        for (const auto& f : receiver_timing_fields()) {
            const auto setting = settings[f.key];
            if (!setting) continue;
            if (std::string_view(f.key) != "timeout" && receiver.type != receiver_type::alertmanager)
                r.error(setting.Mark(), fmt::format("{}: '{}' applies to type alertmanager only", where, f.key));
            f.read(r, setting, receiver, where);
        }
        receivers.push_back(std::move(receiver));
    }
}

const std::vector<std::string> weekday_names{"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

/// A window's timing: weekly in a zone, or one-off from/until (README "Maintenance windows").
void read_weekly(reader& r, const YAML::Node& node, maintenance_window& window, const std::string& where) {
    if (!r.check_mapping(node, {"days", "start", "duration", "timezone"}, where + " 'weekly'")) return;
    weekly_schedule weekly;
    bool complete = true;
    if (const auto days = node["days"]) {
        if (!days.IsSequence() || days.size() == 0) {
            r.error(days.Mark(), fmt::format("{}: 'weekly.days' must be a non-empty list of days (mon, tue, …)", where));
            complete = false;
        } else {
            for (const auto& day : days) {
                auto value = r.text(day, "weekly.days");
                if (!value) {
                    complete = false;
                    continue;
                }
                std::string lower = *value;
                std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
                const auto it = std::find(weekday_names.begin(), weekday_names.end(), lower.substr(0, 3));
                const bool full_name_ok = lower.size() == 3 || (it != weekday_names.end() && lower.size() > 3 &&
                                                                 lower.ends_with("day"));
                if (it == weekday_names.end() || !full_name_ok) {
                    r.error(day.Mark(), fmt::format("{}: unknown day '{}' (use {})", where, *value,
                                                    fmt::join(weekday_names, ", ")));
                    complete = false;
                    continue;
                }
                weekly.days.push_back(static_cast<unsigned>(it - weekday_names.begin()));
            }
            std::sort(weekly.days.begin(), weekly.days.end());
            weekly.days.erase(std::unique(weekly.days.begin(), weekly.days.end()), weekly.days.end());
        }
    } else {
        r.error(node.Mark(), fmt::format("{}: 'weekly' needs 'days'", where));
        complete = false;
    }
    if (const auto start = node["start"]) {
        static const std::regex hh_mm(R"(^([01][0-9]|2[0-3]):([0-5][0-9])$)");
        std::smatch match;
        auto value = r.text(start, "weekly.start");
        if (value && std::regex_match(*value, match, hh_mm)) {
            weekly.start = std::chrono::minutes(std::stoi(match[1]) * 60 + std::stoi(match[2]));
        } else {
            if (value) r.error(start.Mark(), fmt::format("{}: 'weekly.start' must be a time HH:MM from 00:00 to 23:59, got '{}'", where, *value));
            complete = false;
        }
    } else {
        r.error(node.Mark(), fmt::format("{}: 'weekly' needs 'start' (HH:MM)", where));
        complete = false;
    }
    if (const auto length = node["duration"]) {
        auto value = r.duration_value(length, "weekly.duration");
        if (value && (*value <= duration(0) || *value > std::chrono::hours(24 * 7))) {
            r.error(length.Mark(), fmt::format("{}: 'weekly.duration' must be greater than 0 and at most 7d, got '{}'",
                                               where, length.Scalar()));
            complete = false;
        } else if (value) {
            weekly.length = *value;
        } else {
            complete = false;
        }
    } else {
        r.error(node.Mark(), fmt::format("{}: 'weekly' needs 'duration'", where));
        complete = false;
    }
    if (const auto zone = node["timezone"]) {
        auto value = r.text(zone, "weekly.timezone");
        if (value && !known_time_zone(*value)) {
            r.error(zone.Mark(), fmt::format("{}: unknown time zone '{}' (an IANA name such as Europe/Berlin or UTC)",
                                             where, *value));
            complete = false;
        } else if (value) {
            weekly.timezone = *value;
        } else {
            complete = false;
        }
    }
    if (complete) window.weekly = std::move(weekly);
}

void read_maintenance(reader& r, const YAML::Node& node, std::vector<maintenance_window>& windows) {
    if (!node.IsSequence()) {
        r.error(node.Mark(), "'maintenance' must be a list of windows");
        return;
    }
    static const std::regex window_name("[A-Za-z0-9_.-]+");
    std::map<std::string, int> seen;
    std::size_t index = 0;
    for (const auto& item : node) {
        std::string where = fmt::format("maintenance window #{}", ++index);
        if (!r.check_mapping(item, {"name", "checks", "weekly", "from", "until", "action"}, where)) continue;
        maintenance_window window;
        bool complete = true;
        if (const auto name = item["name"]) {
            if (auto value = r.text(name, "name")) {
                if (!std::regex_match(*value, window_name)) {
                    r.error(name.Mark(), fmt::format("{}: name '{}' must match [A-Za-z0-9_.-]+", where, *value));
                    complete = false;
                } else if (auto [it, inserted] = seen.emplace(*value, name.Mark().line + 1); !inserted) {
                    r.error(name.Mark(), fmt::format("duplicate maintenance window '{}' (first at line {})", *value, it->second));
                    complete = false;
                }
                window.name = *value;
                where = fmt::format("maintenance window '{}'", window.name);
            } else {
                complete = false;
            }
        } else {
            r.error(item.Mark(), fmt::format("{}: missing required key 'name'", where));
            complete = false;
        }
        if (const auto checks = item["checks"]) {
            if (!checks.IsSequence() || checks.size() == 0) {
                r.error(checks.Mark(), fmt::format("{}: 'checks' must be a non-empty list of check names or globs", where));
                complete = false;
            } else {
                for (const auto& pattern : checks) {
                    auto value = r.text(pattern, "checks");
                    if (value && !value->empty()) window.checks.push_back(*value);
                    else {
                        if (value) r.error(pattern.Mark(), fmt::format("{}: an empty check pattern", where));
                        complete = false;
                    }
                }
            }
        } else {
            r.error(item.Mark(), fmt::format("{}: missing required key 'checks'", where));
            complete = false;
        }
        if (const auto action = item["action"]) {
            if (auto value = r.one_of(action, "action", {"silence", "pause"}))
                window.action = *value == "pause" ? maintenance_action::pause : maintenance_action::silence;
            else
                complete = false;
        }
        const auto weekly = item["weekly"];
        const auto from = item["from"];
        const auto until = item["until"];
        auto instant = [&](const YAML::Node& value_node, const char* key) -> std::optional<system_clock::time_point> {
            auto value = r.text(value_node, key);
            if (!value) return std::nullopt;
            if (auto parsed = parse_rfc3339(*value)) return parsed;
            r.error(value_node.Mark(), fmt::format("{}: '{}' must be an RFC 3339 time such as 2026-12-05T22:00:00Z, got '{}'",
                                                   where, key, *value));
            return std::nullopt;
        };
        if (weekly && (from || until)) {
            r.error((from ? from : until).Mark(), fmt::format("{}: give either 'weekly' or 'from'/'until', not both", where));
            complete = false;
        } else if (weekly) {
            read_weekly(r, weekly, window, where);
            complete = complete && window.weekly.has_value();
        } else if (from && until) {
            window.from = instant(from, "from");
            window.until = instant(until, "until");
            if (window.from && window.until && *window.until <= *window.from) {
                r.error(until.Mark(), fmt::format("{}: 'until' must be after 'from'", where));
                complete = false;
            }
            complete = complete && window.from && window.until;
        } else if (from || until) {
            r.error((from ? from : until).Mark(), fmt::format("{}: a one-off window needs both 'from' and 'until'", where));
            complete = false;
        } else {
            r.error(item.Mark(), fmt::format("{}: needs 'weekly' or 'from' and 'until'", where));
            complete = false;
        }
        if (complete) windows.push_back(std::move(window));
    }
}

/// The `cluster` section (SPEC §12).
void read_cluster(reader& r, const YAML::Node& node, const std::vector<database_config>& databases,
                  std::optional<cluster_config>& out) {
    if (!r.check_mapping(node, {"database", "schema", "member", "lease"}, "'cluster'")) return;
    cluster_config cluster;
    bool ok = true;
    if (const auto database = node["database"]) {
        if (auto name = r.text(database, "cluster.database")) {
            const auto it = std::find_if(databases.begin(), databases.end(),
                                         [&](const database_config& d) { return d.name == *name; });
            std::vector<std::string> postgres_names;
            for (const auto& d : databases)
                if (d.driver == db::driver_kind::postgres && !d.is_set()) postgres_names.push_back(d.name);
            if (it == databases.end()) {
                r.error(database.Mark(), fmt::format("'cluster.database': no database '{}'{}", *name,
                                                     did_you_mean(*name, postgres_names)));
                ok = false;
            } else if (it->driver != db::driver_kind::postgres || it->is_set()) {
                r.error(database.Mark(), fmt::format("'cluster.database': '{}' must be a postgres database (not {}); "
                                                     "the cluster coordinates through PostgreSQL",
                                                     *name, it->is_set() ? "a database set" : "sqlite"));
                ok = false;
            } else {
                cluster.database = *name;
            }
        } else {
            ok = false;
        }
    } else {
        r.error(node.Mark(), "'cluster' needs 'database' (a postgres entry of 'databases')");
        ok = false;
    }
    if (const auto schema = node["schema"]) {
        static const std::regex identifier("[a-z_][a-z0-9_]{0,62}");
        if (auto value = r.text(schema, "cluster.schema")) {
            if (std::regex_match(*value, identifier)) cluster.schema = *value;
            else {
                r.error(schema.Mark(), fmt::format("'cluster.schema' must be a lower-case SQL identifier "
                                                   "([a-z_][a-z0-9_]*, at most 63 bytes), got '{}'", *value));
                ok = false;
            }
        }
    }
    const auto member = node["member"];
    std::optional<std::string> member_name;
    if (member) {
        member_name = r.text(member, "cluster.member");
        if (!member_name) ok = false;
    } else {
        char host[256] = {};
        if (gethostname(host, sizeof host - 1) == 0) member_name = std::string(host);
    }
    if (member_name) {
        // application_name holds 63 bytes: "invariantd/" leaves 52 for the member name.
        static const std::regex valid("[A-Za-z0-9][A-Za-z0-9._-]{0,51}");
        if (std::regex_match(*member_name, valid)) cluster.member = *member_name;
        else {
            r.error(member ? member.Mark() : node.Mark(),
                    fmt::format("'cluster.member' must be 1 to 52 letters, digits, '.', '_' or '-' (it becomes "
                                "application_name invariantd/<member>), got '{}'", *member_name));
            ok = false;
        }
    }
    if (const auto lease = node["lease"]) {
        if (auto value = r.duration_value(lease, "cluster.lease")) {
            if (*value < std::chrono::seconds(3)) {
                r.error(lease.Mark(), "'cluster.lease' must be at least 3s (heartbeats go every lease/3)");
                ok = false;
            } else {
                cluster.lease = *value;
            }
        } else {
            ok = false;
        }
    }
    if (ok) out = std::move(cluster);
}

daemon_config parse(const std::string& text, const std::string& source_name, const fs::path& base) {
    reader r(source_name, base, text);
    YAML::Node root;
    try {
        root = YAML::Load(protect_references(text));
    } catch (const YAML::ParserException& e) {
        r.error(e.mark, fmt::format("YAML syntax error: {}", e.msg));
        throw config_exception(std::move(r.errors()));
    }
    daemon_config config;
    config.source = source_name;
    config.state_dir = r.resolve_path("./state");
    if (!root.IsDefined() || root.IsNull()) {
        r.error(YAML::Mark{}, "the configuration is empty");
        throw config_exception(std::move(r.errors()));
    }
    if (!r.check_mapping(root, {"server", "state_dir", "log", "databases", "defaults", "checks", "receivers", "maintenance",
                                "cluster"},
                         "the configuration")) {
        throw config_exception(std::move(r.errors()));
    }
    if (const auto server = root["server"]) read_fields(r, server, server_fields(), config.server, "'server'", "server");
    if (const auto state_dir = root["state_dir"]) {
        if (auto value = r.text(state_dir, "state_dir")) config.state_dir = r.resolve_path(*value);
    }
    if (const auto log = root["log"]) read_fields(r, log, log_fields(), config.log, "'log'", "log");
    if (const auto databases = root["databases"]) read_databases(r, databases, config.databases);
    if (const auto receivers = root["receivers"]) read_receivers(r, receivers, config.receivers);
    check_defaults defaults;
    if (const auto defaults_node = root["defaults"])
        read_fields(r, defaults_node, schedule_fields<check_defaults>(), defaults, "'defaults'", "'defaults'");
    if (const auto checks_node = root["checks"]) {
        read_checks(r, checks_node, defaults, config.databases, config.receivers, config.checks);
    }
    if (const auto maintenance = root["maintenance"]) read_maintenance(r, maintenance, config.maintenance);
    if (const auto cluster = root["cluster"]) read_cluster(r, cluster, config.databases, config.cluster);
    if (!r.errors().empty()) {
        std::stable_sort(r.errors().begin(), r.errors().end(), [](const config_error& a, const config_error& b) {
            return std::tie(a.line, a.column) < std::tie(b.line, b.column);
        });
        throw config_exception(std::move(r.errors()));
    }
    config.secrets = std::move(r.secrets());
    return config;
}

}  // namespace

daemon_config load_config_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw config_exception({{path, 0, 0, fmt::format("cannot read configuration file: {}", std::strerror(errno))}});
    }
    std::ostringstream content;
    content << in.rdbuf();
    const fs::path base = fs::absolute(fs::path(path)).parent_path();
    return parse(content.str(), path, base);
}

daemon_config load_config_text(const std::string& text, const std::string& source_name,
                               const std::string& base_directory) {
    return parse(text, source_name, fs::path(base_directory));
}

}  // namespace invariantd::config
