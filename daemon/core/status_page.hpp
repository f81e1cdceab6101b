#pragma once
/// The human-readable status page at `/`: one self-contained HTML document (inline CSS, no
/// scripts, no external assets) so it renders from a jump host or a browser with no
/// internet access. Everything taken from configuration, databases or errors is escaped.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace invariantd {

struct status_page_database {
    std::string name;
    bool up = false;
    std::string error;  ///< already redacted; shown when down
};

/// An active silence as the page lists it.
struct status_page_silence {
    std::string id;
    std::string checks;     ///< the patterns, comma-separated
    std::string comment;
    std::string created_by;
    std::string ends_at;    ///< RFC 3339
    std::string time_left;  ///< "1h59m"
};

struct status_page_view {
    std::string version;
    std::string generated_at;                    ///< RFC 3339
    std::vector<status_page_database> databases;
    std::vector<nlohmann::ordered_json> checks;  ///< /api/v1/checks entries (check_to_json)
    std::vector<status_page_silence> silences;   ///< active ones
};

std::string render_status_page(const status_page_view& view);

}  // namespace invariantd
