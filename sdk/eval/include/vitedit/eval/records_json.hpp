// vitedit evaluation — edit records as JSON: the per-edit records of `bench --json`, and what
// MPI ranks send rank 0. Doubles round-trip exactly, so rank 0 sums what one process would.
#pragma once

#include <nlohmann/json.hpp>

#include "vitedit/eval/records.hpp"

namespace vitedit::eval {

nlohmann::json to_json(const EditRecord& r);
EditRecord record_from_json(const nlohmann::json& j);  // throws nlohmann::json::exception on a malformed record
nlohmann::json to_json(const Summary& s);

}  // namespace vitedit::eval
