#include "daemon/core/database_factory.hpp"

#include <stdexcept>

#include "daemon/db/postgres_database.hpp"
#include "daemon/db/sqlite_database.hpp"

namespace invariantd {

std::shared_ptr<db::database> make_database(asio::any_io_executor loop, const config::database_config& config) {
    if (config.driver == "sqlite") {
        return db::sqlite_database::create(
            loop, db::sqlite_options{config.name, config.path, config.max_connections, config.busy_timeout});
    }
    if (config.driver == "postgres") {
        return db::postgres_database::create(loop, db::postgres_options{config.name, config.dsn, config.max_connections,
                                                                        config.connect_timeout, config.max_lifetime,
                                                                        config.lock_timeout});
    }
    // The loader refuses other drivers, so reaching this is a programming error.
    throw std::logic_error("no driver for '" + config.driver + "'");
}

}  // namespace invariantd
