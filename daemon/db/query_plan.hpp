#pragma once
/// What the PostgreSQL planner says about a statement (`EXPLAIN (FORMAT JSON)`): the
/// estimated total cost and rows the cost guard (`max_cost`) and `invariantd explain` read.
#include <string>
#include <vector>

namespace invariantd::db {

struct query_plan {
    double total_cost = 0;
    double rows = 0;
    /// Tables the plan reads with a sequential scan, in plan order, each once.
    std::vector<std::string> sequential_scans;
};

/// Parses the single-row, single-column answer of EXPLAIN (FORMAT JSON); throws
/// std::runtime_error when it is not a plan.
query_plan parse_query_plan(const std::string& json);

}  // namespace invariantd::db
