#pragma once
#include <memory>

#include "daemon/config/config.hpp"
#include "daemon/db/database.hpp"

namespace invariantd {

/// Creates the driver for a configured database. Opening is lazy: the first check opens
/// the first connection, so a database that is down does not stop the daemon starting.
/// `application_name` is what PostgreSQL connections announce ("invariantd/<member>" in
/// cluster mode).
std::shared_ptr<db::database> make_database(asio::any_io_executor loop, const config::database_config& config,
                                            const std::string& application_name = "invariantd");

}  // namespace invariantd
