// vitedit — edit patches: only the changed rows/columns of the edit sites, plus provenance.
//
// A patch is a safetensors file (.vtp): for each site, tensors "<site>.old" and "<site>.new" with
// the changed units' values, and metadata holding the unit indices, the hashes of the model
// before and after the edit, and how the edit was made. It applies only to the model it was made
// on (same hash), reverts only from the edited model, and both directions are bit-exact.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "vitedit/edit_session.hpp"
#include "vitedit/safetensors.hpp"

namespace vitedit {

struct PatchSite {
    std::string name;
    int unit = VE_UNIT_ROW;
    std::vector<int64_t> indices;  // changed units
    HostTensor old_values, new_values;  // [k, cols] for rows, [rows, k] for columns
};

struct Patch {
    std::string base_hash, edited_hash;
    std::map<std::string, std::string> provenance;  // locator, editor, budget, steps, image hashes...
    std::vector<PatchSite> sites;
};

// The difference between two whole versions of the same model over the given sites (bitwise
// compare); hashes both.
Patch make_patch(const std::map<std::string, HostTensor>& before, const std::map<std::string, HostTensor>& after,
                 const std::vector<EditSite>& sites, std::map<std::string, std::string> provenance);
// The same when both hashes are known (the model's id, and TensorsHasher::rehash of the edit) and
// only the sites can have changed: `edited_site(name)` gives a site's edited tensor, one at a
// time, so an edit of a large model need not hold all its edited sites on the host at once.
Patch make_patch(const std::map<std::string, HostTensor>& before, std::string base_hash,
                 const std::function<HostTensor(const std::string& site)>& edited_site, std::string edited_hash,
                 const std::vector<EditSite>& sites, std::map<std::string, std::string> provenance);
void save_patch(const std::string& path, const Patch& patch);
Patch load_patch(const std::string& path);
// The same from an already parsed file; `what` names the source in messages.
Patch patch_from_safetensors(const SafeTensorsFile& file, const std::string& what);
// Returns the patched (or reverted) tensors; refuses a model whose hash is not the expected one.
std::map<std::string, HostTensor> apply_patch(std::map<std::string, HostTensor> tensors, const Patch& patch);
std::map<std::string, HostTensor> revert_patch(std::map<std::string, HostTensor> tensors, const Patch& patch);

}  // namespace vitedit
